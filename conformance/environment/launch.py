"""How the suite reaches the controller under test.

*Command* mode: the suite starts the controller, reads its output and, for
disruptive tests, kills and starts it again; it can run it as an unprivileged
user (``--nc-controller-user``), which is what a pod's ``runAsNonRoot`` gives and
what makes a mode-0555 directory read-only for it.

*External* mode: the controller already runs (in the cluster or not). Disruptive
tests restart it with a command (``--nc-controller-restart-cmd``) or by deleting
its pods and waiting for a new ready one (``--nc-controller-pod-selector``);
without either they are skipped with that reason.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

RESTART_TIMEOUT = 120.0
CANNOT_RESTART = (
    "the controller runs outside the suite and neither --nc-controller-restart-cmd nor "
    "--nc-controller-pod-selector says how to restart it"
)


class LaunchError(RuntimeError):
    """The controller cannot be launched or restarted as configured; one sentence."""


def check_options(controller_cmd: str, user: str | None, restart_cmd: str, pod_selector: str) -> None:
    """Refuse options that would silently do nothing in the chosen mode."""
    if controller_cmd and (restart_cmd or pod_selector):
        raise LaunchError(
            "--nc-controller-restart-cmd and --nc-controller-pod-selector are for a controller the suite "
            "does not launch; with --nc-controller-cmd the suite restarts it itself."
        )
    if not controller_cmd and user:
        raise LaunchError(
            "--nc-controller-user needs --nc-controller-cmd: the suite can only run as that user "
            "a controller it launches."
        )
    if restart_cmd and pod_selector:
        raise LaunchError("Give --nc-controller-restart-cmd or --nc-controller-pod-selector, not both.")


def placeholders(kubeconfig: str, context: str, workdir: str = "", namespace: str = "") -> dict[str, str]:
    """What a controller command's placeholders stand for."""
    return {
        "kubeconfig": kubeconfig,
        "context": context,
        "python": sys.executable,
        "workdir": workdir,
        "namespace": namespace,
    }


def restart_placeholders(kubeconfig: str, context: str) -> dict[str, str]:
    """A restart command's: the cluster's, not the run's folder or namespaces."""
    values = placeholders(kubeconfig, context)
    return {name: values[name] for name in RESTART_PLACEHOLDERS}


CONTROLLER_PLACEHOLDERS = tuple(placeholders("", ""))
RESTART_PLACEHOLDERS = ("kubeconfig", "context", "python")


def check_commands(controller_cmd: str, restart_cmd: str) -> None:
    """Refuse a command that names an unknown placeholder or program before any cluster starts,
    rather than after: a typo costs a second, not a control plane's start-up."""
    for template, names, option in (
        (controller_cmd, CONTROLLER_PLACEHOLDERS, "--nc-controller-cmd"),
        (restart_cmd, RESTART_PLACEHOLDERS, "--nc-controller-restart-cmd"),
    ):
        if template:
            command(template, {name: sys.executable if name == "python" else name for name in names}, option)


def command(template: str, values: dict[str, str], option: str = "--nc-controller-cmd") -> list[str]:
    """``template`` with its placeholders filled in (each value shell-quoted), split into argv."""
    quoted = {key: shlex.quote(value) for key, value in values.items()}
    try:
        argv = shlex.split(template.format(**quoted))
    except (KeyError, IndexError, ValueError) as err:
        names = ", ".join("{" + key + "}" for key in values)
        raise LaunchError(
            f"The command {template!r} of {option} is invalid: {err}; it may use {names}."
        ) from err
    if not argv or shutil.which(argv[0]) is None:
        raise LaunchError(f"The command {argv[:1]} of {option} was not found.")
    return argv


@dataclass(frozen=True)
class ControllerUser:
    """An unprivileged account to run the controller as; the suite itself must be root."""

    name: str
    uid: int
    gid: int

    @classmethod
    def resolve(cls, name: str) -> ControllerUser:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise LaunchError(f"There is no user {name!r} to run the controller as.") from None
        if os.geteuid() != 0:
            raise LaunchError(f"Running the controller as {name!r} needs the suite to run as root.")
        if entry.pw_uid == 0:
            raise LaunchError(f"The user {name!r} is root; --nc-controller-user is for unprivileged users.")
        return cls(name, entry.pw_uid, entry.pw_gid)

    def prepare(self, workdir: Path, kubeconfig: Path) -> Path:
        """Let the user through the run's folder (not into the cluster's) and give it a kubeconfig copy."""
        workdir.chmod(0o711)
        cluster = workdir / "cluster"  # a local control plane's data, keys and tokens
        if cluster.is_dir():
            cluster.chmod(0o700)
        home = workdir / "controller-home"
        home.mkdir(mode=0o700, exist_ok=True)
        own = home / "kubeconfig"
        shutil.copyfile(kubeconfig, own)
        own.chmod(0o600)
        for path in (home, own):
            os.chown(path, self.uid, self.gid)
        if not self.can(["test", "-r", str(own)]):
            raise LaunchError(
                f"The user {self.name!r} cannot reach {own}, because a folder above it is closed to it; "
                "set TMPDIR to a folder it can pass through."
            )
        return own

    def give(self, directory: Path) -> None:
        """A folder the controller must write into (a file channel's directory)."""
        os.chown(directory, self.uid, self.gid)

    def can_write(self, directory: Path) -> bool:
        """Whether the user can create a file in ``directory``, tried as the user."""
        probe = directory / f".probe-{os.getpid()}"
        written = self.can(["touch", str(probe)])
        if probe.exists():
            probe.unlink()
        return written

    def can(self, argv: list[str]) -> bool:
        """Whether ``argv``, run as the user, succeeds."""
        done = subprocess.run(argv, user=self.uid, group=self.gid, extra_groups=[], capture_output=True)
        return done.returncode == 0

    def popen_options(self, home: Path) -> dict[str, Any]:
        environment = dict(os.environ, HOME=str(home), USER=self.name, LOGNAME=self.name)
        return {"user": self.uid, "group": self.gid, "env": environment}


def restart_command(argv: list[str]) -> Callable[[], int]:
    """Restart an external controller by running a command that returns once it is back."""

    def restart() -> int:
        try:
            done = subprocess.run(
                argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=RESTART_TIMEOUT
            )
        except subprocess.TimeoutExpired as err:
            raise LaunchError(
                f"The restart command {argv} did not finish in {RESTART_TIMEOUT:.0f}s."
            ) from err
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise LaunchError(
                f"The restart command {argv} failed with exit code {done.returncode}: {last[0]}"
            )
        return 0

    return restart


@dataclass(frozen=True)
class PodSelector:
    namespace: str
    labels: str

    @classmethod
    def parse(cls, text: str) -> PodSelector:
        namespace, _, labels = text.partition("/")
        if not namespace or not labels:
            raise LaunchError(
                f"--nc-controller-pod-selector {text!r} must be NAMESPACE/LABELSELECTOR, "
                "for example notifications/app=notification-controller."
            )
        return cls(namespace, labels)


def _ready(pod: Any) -> bool:
    conditions = (pod.status.conditions or []) if pod.status else []
    return pod.metadata.deletion_timestamp is None and any(
        c.type == "Ready" and c.status == "True" for c in conditions
    )


def restart_pods(
    api_client: client.ApiClient, selector: PodSelector, timeout: float = RESTART_TIMEOUT
) -> Callable[[], int]:
    """Restart an in-cluster controller: delete its pods, return once a new one is Ready."""
    core = client.CoreV1Api(api_client)

    def restart() -> int:
        listing: Any = core.list_namespaced_pod(selector.namespace, label_selector=selector.labels)
        if not listing.items:
            raise LaunchError(
                f"No pod in {selector.namespace} matches {selector.labels}, so none can restart."
            )
        old = {pod.metadata.uid for pod in listing.items}
        for pod in listing.items:
            try:
                core.delete_namespaced_pod(pod.metadata.name, selector.namespace, grace_period_seconds=0)
            except ApiException as err:
                if err.status != 404:
                    raise
        deadline = time.monotonic() + timeout
        version = listing.metadata.resource_version
        while (remaining := deadline - time.monotonic()) > 0:
            for event in watch.Watch().stream(
                core.list_namespaced_pod,
                selector.namespace,
                label_selector=selector.labels,
                resource_version=version,
                timeout_seconds=max(int(remaining), 1),
            ):
                pod = event["object"]
                version = pod.metadata.resource_version
                if pod.metadata.uid not in old and event["type"] != "DELETED" and _ready(pod):
                    return 0
        raise LaunchError(
            f"No new pod matching {selector.labels} in {selector.namespace} became Ready "
            f"within {timeout:.0f}s of deleting the old ones."
        )

    return restart
