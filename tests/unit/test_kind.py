"""The kind provider without a Docker engine: the commands it would run, the files it writes,
what it says when a tool is missing, and the CI workflow that drives it."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from clusters.base import ClusterError
from clusters.kind import IMAGE, NODE_IMAGE, OVERLAY, Command, KindCluster
from clusters.kind.images import node

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "conformance-kind.yaml"


class Recorder:
    """Stands in for running commands: records each and answers as kind and docker would."""

    def __init__(self, fail_on: str | None = None, propagation: str = "shared") -> None:
        self.commands: list[str] = []
        self.fail_on = fail_on
        self.propagation = propagation

    def __call__(self, command: Command) -> str:
        self.commands.append(str(command))
        if self.fail_on and str(command).startswith(self.fail_on):
            raise ClusterError(f"'{command}' failed: boom.")
        if command.argv[:3] == ("kind", "create", "cluster"):
            kubeconfig = Path(command.argv[command.argv.index("--kubeconfig") + 1])
            kubeconfig.write_text(
                yaml.safe_dump({"clusters": [{"cluster": {"server": "https://127.0.0.1:40123"}}]})
            )
        if command.argv[:3] == ("docker", "network", "inspect"):
            return "fc00:f853:ccd:e793::1 172.18.0.1 \n"
        if command.argv[0] == "findmnt":
            return self.propagation + "\n"
        return ""


def cluster(tmp_path: Path, run: Recorder | None = None) -> KindCluster:
    (tmp_path / "run").mkdir(exist_ok=True)
    return KindCluster(tmp_path / "cluster", tmp_path / "run", user=(1001, 121), run=run or Recorder())


def test_commands_are_exactly_these(tmp_path: Path) -> None:
    kind = cluster(tmp_path)
    c = tmp_path / "cluster"
    assert [str(command) for command in kind.start_commands()] == [
        f"kind create cluster --name notification-conformance --config {c}/kind-config.yaml "
        f"--kubeconfig {c}/kubeconfig --wait 180s",
        f"kind load docker-image {IMAGE} --name notification-conformance",
        f"kubectl --kubeconfig {c}/kubeconfig apply --server-side --force-conflicts -k {c}/overlay",
        f"kubectl --kubeconfig {c}/kubeconfig --namespace notification-system rollout status "
        "deployment/notification-controller --timeout 180s",
        "docker network inspect kind --format {{range .IPAM.Config}}{{.Gateway}} {{end}}",
    ]
    assert [str(command) for command in kind.stop_commands()] == [
        "kind delete cluster --name notification-conformance"
    ]


def test_kind_config_shares_the_run_folder_at_the_same_path(tmp_path: Path) -> None:
    config = yaml.safe_load(cluster(tmp_path).kind_config())
    assert config["kind"] == "Cluster" and config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert config["name"] == "notification-conformance"
    [node] = config["nodes"]
    shared = str((tmp_path / "run").resolve())
    assert node["extraMounts"] == [
        {"hostPath": shared, "containerPath": shared, "propagation": "HostToContainer"}
    ]


def test_kind_config_runs_the_node_image_built_here_on_cgroup_v1_too(tmp_path: Path) -> None:
    """The node is the image clusters/kind/images builds, its pods on the subnet the node's bridge
    CNI config serves, and kubelet told to accept a cgroup v1 host."""
    config = yaml.safe_load(cluster(tmp_path).kind_config())
    assert config["nodes"][0]["image"] == NODE_IMAGE == node.NODE_IMAGE
    assert config["networking"] == {"podSubnet": "10.244.0.0/16"}
    cni = json.loads((node.HERE / "files" / "etc" / "cni" / "net.d" / "10-kind-bridge.conflist").read_text())
    [[node_range]] = cni["plugins"][0]["ipam"]["ranges"]
    assert ipaddress.IPv4Network(node_range["subnet"]).subnet_of(ipaddress.IPv4Network("10.244.0.0/16"))
    [patch] = config["kubeadmConfigPatches"]
    assert yaml.safe_load(patch) == {"kind": "KubeletConfiguration", "failCgroupV1": False}


def test_run_overlay_points_the_pod_at_the_run_folder_as_this_user(tmp_path: Path) -> None:
    kind = cluster(tmp_path)
    kind.write_files()
    overlay = yaml.safe_load((kind.overlay_path / "kustomization.yaml").read_text())
    assert (kind.overlay_path / overlay["resources"][0]).resolve() == OVERLAY
    assert overlay["images"] == [
        {
            "name": "notification-conformance/reference-controller",
            "newName": "notification-conformance/reference-controller",
            "newTag": "dev",
        }
    ]
    [patch] = overlay["patches"]
    replaced = {
        op["path"].rsplit("/", 2)[-2] + "/" + op["path"].rsplit("/", 1)[-1]: op["value"]
        for op in yaml.safe_load(patch["patch"])
        if op["op"] == "replace"
    }
    shared = str((tmp_path / "run").resolve())
    assert replaced == {
        "args/2": f"--file-root={shared}",
        "0/mountPath": shared,
        "hostPath/path": shared,
        "securityContext/runAsUser": 1001,
        "securityContext/runAsGroup": 121,
        "securityContext/fsGroup": 121,
    }


def test_another_image_is_loaded_and_deployed(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    kind = KindCluster(tmp_path / "c", tmp_path / "run", image="registry.local:5000/me/ctl:1.2", user=(5, 5))
    assert "kind load docker-image registry.local:5000/me/ctl:1.2 --name notification-conformance" in [
        str(c) for c in kind.start_commands()
    ]
    assert kind.run_overlay()["images"][0] == {
        "name": "notification-conformance/reference-controller",
        "newName": "registry.local:5000/me/ctl",
        "newTag": "1.2",
    }
    with pytest.raises(
        ClusterError,
        match=re.escape("Give the controller's image as name:tag, not 'registry.local:5000/me'."),
    ):
        KindCluster(tmp_path / "c", tmp_path / "run", image="registry.local:5000/me")


def test_start_runs_the_commands_in_order_and_finds_the_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools(tmp_path, monkeypatch, "kind", "kubectl", "docker")
    recorder = Recorder()
    kind = cluster(tmp_path, recorder)
    started = kind.start()
    assert recorder.commands[0] == "docker info --format {{.ServerVersion}}"
    shared = (tmp_path / "run").resolve()
    assert recorder.commands[1] == f"findmnt --noheadings --output PROPAGATION --target {shared}"
    assert recorder.commands[2:] == [str(c) for c in kind.start_commands()]
    assert started.host_address == "172.18.0.1"
    assert started.context == "kind-notification-conformance"
    assert started.server == "https://127.0.0.1:40123"
    kind.stop()
    assert recorder.commands[-1] == "kind delete cluster --name notification-conformance"


def test_a_private_run_folder_is_made_a_shared_mount_for_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where / is private (no systemd), HostToContainer needs the folder to be a shared mount:
    it is bind-mounted onto itself for the run, and unmounted after the cluster is deleted,
    also when the start failed."""
    tools(tmp_path, monkeypatch, "kind", "kubectl", "docker")
    shared = (tmp_path / "run").resolve()
    recorder = Recorder(fail_on="kind load", propagation="private")
    kind = cluster(tmp_path, recorder)
    with pytest.raises(ClusterError):
        kind.start()
    kind.stop()
    assert recorder.commands[2:4] == [f"mount --bind {shared} {shared}", f"mount --make-shared {shared}"]
    assert recorder.commands[-2:] == [
        "kind delete cluster --name notification-conformance",
        f"umount {shared}",
    ]
    kind.stop()
    assert recorder.commands[-1] == f"umount {shared}", "undone once"
    assert recorder.commands.count(f"umount {shared}") == 1
    assert kind.share_commands("shared,slave") == ([], [])


def test_a_failed_start_still_deletes_the_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools(tmp_path, monkeypatch, "kind", "kubectl", "docker")
    recorder = Recorder(fail_on="kind load")
    kind = cluster(tmp_path, recorder)
    with pytest.raises(ClusterError, match=r"'kind load docker-image .*' failed: boom\."):
        kind.start()
    kind.stop()
    assert recorder.commands[-1] == "kind delete cluster --name notification-conformance"


def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """A PATH that holds exactly these programs (empty ones: only their presence is looked up)."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_text("#!/bin/sh\nexit 0\n")
        (folder / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))


@pytest.mark.parametrize("missing", ["kind", "kubectl", "docker"])
def test_a_missing_program_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    tools(tmp_path, monkeypatch, *({"kind", "kubectl", "docker"} - {missing}))
    with pytest.raises(ClusterError) as error:
        cluster(tmp_path).start()
    assert re.fullmatch(
        rf"The kind cluster needs {missing}, which is not on PATH; install it \(https://\S+\)\.",
        str(error.value),
    )
    assert not (tmp_path / "cluster" / "kind-config.yaml").exists()


def test_no_docker_engine_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real docker client, pointed at a socket where no engine listens."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client on this machine")
    tools(tmp_path, monkeypatch, "kind", "kubectl")
    os.symlink(docker, tmp_path / "bin" / "docker")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    (tmp_path / "run").mkdir()
    with pytest.raises(ClusterError) as error:
        KindCluster(tmp_path / "cluster", tmp_path / "run", user=(1001, 1001)).start()
    assert str(error.value) == (
        f"The kind cluster needs a Docker engine, and none answers the docker client at unix://{tmp_path}/no-engine.sock."
    )


def test_as_root_the_pod_runs_as_root_with_runasnonroot_lifted(tmp_path: Path) -> None:
    """Root's folders are writable by root only: the run's pod is root too, for this run alone."""
    (tmp_path / "run").mkdir()
    as_root = KindCluster(tmp_path / "cluster", tmp_path / "run", user=(0, 0), run=Recorder())
    [patch] = as_root.run_overlay()["patches"]
    operations = yaml.safe_load(patch["patch"])
    assert operations[-1] == {
        "op": "replace",
        "path": "/spec/template/spec/securityContext/runAsNonRoot",
        "value": False,
    }
    assert {
        "op": "replace",
        "path": "/spec/template/spec/securityContext/runAsUser",
        "value": 0,
    } in operations
    [patch] = cluster(tmp_path).run_overlay()["patches"]
    assert not [op for op in yaml.safe_load(patch["patch"]) if op["path"].endswith("runAsNonRoot")]


def workflow() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def test_workflow_gates_pull_requests_on_make_conformance_kind() -> None:
    data = workflow()
    triggers = data[True]  # YAML 1.1 reads the key 'on' as true
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]
    assert data["permissions"] == {"contents": "read"}
    [job] = data["jobs"].values()
    assert job["runs-on"].startswith("ubuntu-") and job["timeout-minutes"] <= 60
    steps = job["steps"]
    uses = [step.get("uses", "").split("@")[0] for step in steps]
    assert uses[:4] == ["actions/checkout", "actions/setup-python", "actions/setup-go", "actions/cache"]
    assert steps[1]["with"]["python-version"] == "3.11"
    assert steps[3]["with"]["path"] == "~/.cache/notification-conformance"
    assert "clusters/kind/images/**" in steps[3]["with"]["key"]
    runs = [step.get("run", "") for step in steps]
    assert any("make kube-tools" in run for run in runs)
    assert any("apt-get install -y -qq debootstrap" in run for run in runs)
    assert not any("https://" in run for run in runs), "nothing is downloaded outside the build"
    gate = runs.index("make conformance-kind")
    upload = steps[uses.index("actions/upload-artifact")]
    assert uses.index("actions/upload-artifact") > gate
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"


def test_makefile_builds_the_image_the_provider_loads() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert f"IMAGE := {IMAGE}\n" in makefile
    target = makefile[makefile.index("conformance-kind: ") :].split("\n\n")[0]
    assert target.splitlines()[1:] == ["\t$(ENGINE) $(MAKE) --no-print-directory kind-gate"]
    gate = makefile[makefile.index("kind-gate:\n") :].split("\n\n")[0]
    assert "python -m clusters.kind.images controller node" in gate
    assert "python -m clusters.kind check" in gate
    assert "--nc-cluster kind" in gate and '--nc-controller-cmd ""' in gate
    assert "--nc-controller-pod-selector $(KIND_POD_SELECTOR)" in gate
    assert "--nc-slack" not in gate and "--nc-epsilon" not in gate, "the gate keeps the certified tolerances"
    assert (
        "KIND_POD_SELECTOR := notification-system/app.kubernetes.io/name=notification-controller\n"
        in makefile
    )
