"""A kind cluster with the reference controller deployed in it: the CI gate.

``KindCluster.start()`` creates the cluster from ``cluster.yaml.j2``, loads the
controller's image, deploys ``deploy/`` through the overlay in ``overlay/`` plus the
run's own settings, and tells the suite where pods reach this machine (for the
recording sink). ``stop()`` deletes the cluster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from clusters.base import Cluster, ClusterError

HERE = Path(__file__).resolve().parent
OVERLAY = HERE / "overlay"
CONFIG_TEMPLATE = HERE / "cluster.yaml.j2"
CLUSTER_NAME = "notification-conformance"
IMAGE = "notification-conformance/reference-controller:dev"
NODE_IMAGE = "notification-conformance/kind-node:v1.36.3"
"""The node image ``make node-image`` builds (clusters/kind/images/node.py names it)."""
NAMESPACE = "notification-system"
DEPLOYMENT = "notification-controller"
WAIT = "180s"
INSTALL = {
    "kind": "https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    "kubectl": "https://kubernetes.io/docs/tasks/tools/",
    "docker": "https://docs.docker.com/engine/install/",
}


@dataclass(frozen=True)
class Command:
    """One command the provider runs (its output is returned, and its last line on failure)."""

    argv: tuple[str, ...]

    def __str__(self) -> str:
        return " ".join(self.argv)


def _run(command: Command) -> str:
    try:
        completed = subprocess.run(
            command.argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
        )
    except OSError as err:
        raise ClusterError(f"Could not run {command.argv[0]}: {err.strerror}.") from err
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip().splitlines()
        last = output[-1] if output else f"exit status {completed.returncode}"
        raise ClusterError(f"'{command}' failed: {last.rstrip('.?!')}.")
    return completed.stdout


class KindCluster:
    """A kind cluster for one run. ``shared`` is this machine's folder (the run's) that the
    controller's pod must see at the same path."""

    name = "kind"

    def __init__(
        self,
        workdir: Path,
        shared: Path,
        cluster_name: str = CLUSTER_NAME,
        image: str = IMAGE,
        user: tuple[int, int] | None = None,
        node_image: str = NODE_IMAGE,
        run: Callable[[Command], str] = _run,
    ) -> None:
        self.workdir = workdir
        self.shared = shared.resolve()
        self.cluster_name = cluster_name
        if ":" not in image.rsplit("/", 1)[-1]:
            raise ClusterError(f"Give the controller's image as name:tag, not {image!r}.")
        self.image = image
        self.node_image = node_image
        self.user = user if user is not None else (os.getuid(), os.getgid())
        self.run = run
        self.kubeconfig = workdir / "kubeconfig"
        self.config_path = workdir / "kind-config.yaml"
        self.overlay_path = workdir / "overlay"
        self._created = False
        self._unshare: list[Command] = []

    def kind_config(self) -> str:
        template = jinja2.Template(CONFIG_TEMPLATE.read_text(), undefined=jinja2.StrictUndefined)
        return (
            str(template.render(name=self.cluster_name, shared=str(self.shared), node_image=self.node_image))
            + "\n"
        )

    def run_overlay(self) -> dict[str, Any]:
        """The run's own layer over ``overlay/``: its folder, --file-root and this machine's user,
        so that the pod writes where the suite looks, with permissions the suite's folders allow.
        When that user is root (as on a CI machine), the pod runs as root too: runAsNonRoot is
        lifted for the run, every capability is still dropped."""
        shared, (uid, gid) = str(self.shared), self.user
        name, _, tag = self.image.rpartition(":")
        spec = "/spec/template/spec"
        operations = [
            {
                "op": "test",
                "path": f"{spec}/containers/0/args/2",
                "value": "--file-root=/var/lib/notifications",
            },
            {"op": "replace", "path": f"{spec}/containers/0/args/2", "value": f"--file-root={shared}"},
            {"op": "test", "path": f"{spec}/containers/0/volumeMounts/0/name", "value": "notifications"},
            {"op": "replace", "path": f"{spec}/containers/0/volumeMounts/0/mountPath", "value": shared},
            {"op": "test", "path": f"{spec}/volumes/0/name", "value": "notifications"},
            {"op": "replace", "path": f"{spec}/volumes/0/hostPath/path", "value": shared},
            {"op": "replace", "path": f"{spec}/securityContext/runAsUser", "value": uid},
            {"op": "replace", "path": f"{spec}/securityContext/runAsGroup", "value": gid},
            {"op": "replace", "path": f"{spec}/securityContext/fsGroup", "value": gid},
        ]
        if uid == 0:
            operations.append(
                {"op": "replace", "path": f"{spec}/securityContext/runAsNonRoot", "value": False}
            )
        return {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [os.path.relpath(OVERLAY, self.overlay_path)],
            "images": [{"name": IMAGE.partition(":")[0], "newName": name, "newTag": tag}],
            "patches": [
                {
                    "target": {"group": "apps", "version": "v1", "kind": "Deployment", "name": DEPLOYMENT},
                    "patch": yaml.safe_dump(operations, sort_keys=False),
                }
            ],
        }

    def write_files(self) -> None:
        """The kind config and the run's overlay, in the provider's folder."""
        self.overlay_path.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.kind_config())
        (self.overlay_path / "kustomization.yaml").write_text(
            yaml.safe_dump(self.run_overlay(), sort_keys=False)
        )

    def start_commands(self) -> list[Command]:
        kubectl = ("kubectl", "--kubeconfig", str(self.kubeconfig))
        return [
            Command(
                (
                    "kind",
                    "create",
                    "cluster",
                    "--name",
                    self.cluster_name,
                    "--config",
                    str(self.config_path),
                    "--kubeconfig",
                    str(self.kubeconfig),
                    "--wait",
                    WAIT,
                )
            ),
            Command(("kind", "load", "docker-image", self.image, "--name", self.cluster_name)),
            Command((*kubectl, "apply", "--server-side", "--force-conflicts", "-k", str(self.overlay_path))),
            Command(
                (
                    *kubectl,
                    "--namespace",
                    NAMESPACE,
                    "rollout",
                    "status",
                    f"deployment/{DEPLOYMENT}",
                    "--timeout",
                    WAIT,
                )
            ),
            Command(
                (
                    "docker",
                    "network",
                    "inspect",
                    "kind",
                    "--format",
                    "{{range .IPAM.Config}}{{.Gateway}} {{end}}",
                ),
            ),
        ]

    def stop_commands(self) -> list[Command]:
        return [Command(("kind", "delete", "cluster", "--name", self.cluster_name))]

    def check_tools(self) -> None:
        """One sentence for what is missing: a program, or the Docker engine behind the docker client."""
        for program, where in INSTALL.items():
            if shutil.which(program) is None:
                raise ClusterError(
                    f"The kind cluster needs {program}, which is not on PATH; install it ({where})."
                )
        try:
            self.run(Command(("docker", "info", "--format", "{{.ServerVersion}}")))
        except ClusterError as err:
            where = os.environ.get("DOCKER_HOST", "the default socket")
            raise ClusterError(
                f"The kind cluster needs a Docker engine, and none answers the docker client at {where}."
            ) from err

    def share_commands(self, propagation: str) -> tuple[list[Command], list[Command]]:
        """What makes the run's folder a shared mount, and what undoes it, when it is not one.

        HostToContainer propagation needs the folder's mount to be shared (or a slave), as
        systemd makes every mount; where / is private (a machine without systemd), the folder
        is bind-mounted onto itself as a shared mount for the run."""
        if propagation.split(",")[0] in ("shared", "slave"):
            return [], []
        shared = str(self.shared)
        return (
            [Command(("mount", "--bind", shared, shared)), Command(("mount", "--make-shared", shared))],
            [Command(("umount", shared))],
        )

    def _propagation(self) -> str:
        return self.run(
            Command(("findmnt", "--noheadings", "--output", "PROPAGATION", "--target", str(self.shared)))
        ).strip()

    def start(self) -> Cluster:
        self.check_tools()
        self.write_files()
        share, self._unshare = self.share_commands(self._propagation())
        for command in share:
            self.run(command)
        *setup, network = self.start_commands()
        self._created = True
        for command in setup:
            self.run(command)
        gateways = [g for g in self.run(network).split() if "." in g]
        if not gateways:
            raise ClusterError(
                "The docker network 'kind' has no IPv4 gateway for pods to reach this machine by."
            )
        config = yaml.safe_load(self.kubeconfig.read_text())
        server = str(config["clusters"][0]["cluster"]["server"])
        return Cluster(
            self.kubeconfig, f"kind-{self.cluster_name}", server, self.name, host_address=gateways[0]
        )

    def stop(self) -> None:
        try:
            if self._created:
                for command in self.stop_commands():
                    self.run(command)
                self._created = False
        finally:
            unshare, self._unshare = self._unshare, []
            for command in unshare:
                self.run(command)
