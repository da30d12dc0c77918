"""The controller under test run as an unprivileged user, and run outside the suite."""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client import ApiClient

from clusters.local.controlplane import LocalControlPlane
from conformance.environment import launch
from conformance.observers import refusing_mount
from tests.e2e.conftest import REPO, run_suite
from tests.e2e.external_controller import stop
from tests.e2e.test_misconfiguration import assert_one_sentence

ALERTING = REPO / "fixtures" / "bindings" / "alerting"
USER = "nobody"


def interpreter_for(user: str) -> list[str] | None:
    """A Python that ``user`` may run with this project's packages: this one, or the system's
    of the same version given this environment's site-packages (a venv under /root is closed to it)."""
    site = sysconfig.get_paths()["purelib"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [[sys.executable]]
    system = shutil.which(version, path="/usr/local/bin:/usr/bin:/bin")
    if system:
        candidates.append(["env", f"PYTHONPATH={site}", system])
    for candidate in candidates:
        probe = [*candidate, "-c", "import kubernetes, examples.alert_controller"]
        try:
            done = subprocess.run(probe, cwd=REPO, user=user, extra_groups=[], capture_output=True)
        except PermissionError:
            continue
        if done.returncode == 0:
            return candidate
    return None


def test_the_controller_runs_as_an_unprivileged_user(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("running the controller as another user needs the suite to run as root")
    python = interpreter_for(USER)
    if python is None:
        pytest.skip(f"no Python interpreter with this project's packages is readable by {USER}")
    command = shlex.join(python) + " -m examples.alert_controller --kubeconfig {kubeconfig}"
    args = [
        f"--nc-binding={ALERTING}",
        f"--nc-controller-cmd={command}",
        f"--nc-controller-user={USER}",
        "-k",
        "nothing-delivers or file-delivers",
    ]
    closed = run_suite(tmp_path, *args)  # pytest's tmp_path is private to root
    assert closed.returncode == 4, closed.output
    assert_one_sentence(closed.output, f"ERROR: The user '{USER}' cannot reach ")
    scratch = Path(tempfile.mkdtemp(prefix="nc-user-"))  # below /tmp, which anyone may pass through
    try:
        scratch.chmod(0o755)
        run = run_suite(tmp_path, *args, env={"TMPDIR": str(scratch)})
        assert not list(scratch.glob("nc-*")), "the run's folders must be removed"
    finally:
        shutil.rmtree(scratch)
    assert run.returncode == 0, run.output
    assert run.report is not None and run.report["statistics"]["passed"] == 2, run.output
    assert run.report["environment"]["controllerUser"] == USER
    scenarios = {s["scenario"]: s for s in run.report["scenarios"]}
    # Run as an unprivileged user, the refusing filesystem is read-only for the controller too;
    # without FUSE, a mode-0555 directory is.
    mechanism = "mode 0555" if refusing_mount.available() else "FUSE filesystem (EROFS)"
    assert scenarios["nothing-delivers"]["readOnlyMechanisms"] == {"archive": mechanism}
    log = (tmp_path / "report" / "controller.log").read_text()
    assert "alert controller started (namespace: all, uid 65534)" in log, log


@pytest.fixture
def external_controller(tmp_path: Path, local_cluster: LocalControlPlane) -> Iterator[tuple[Path, list[str]]]:
    """The Alert controller, started by this test, not by the suite; killed at the end by its pid."""
    pidfile, log = tmp_path / "controller.pid", tmp_path / "controller.log"
    command = [
        sys.executable,
        "-m",
        "examples.alert_controller",
        "--kubeconfig",
        str(local_cluster.kubeconfig_path),
    ]
    script = [sys.executable, "-m", "tests.e2e.external_controller", str(pidfile), str(log), "--", *command]
    subprocess.run(script, cwd=REPO, check=True)
    yield log, script
    stop(pidfile)


def test_an_external_controller_is_restarted_by_the_configured_command(
    tmp_path: Path, local_cluster: LocalControlPlane, external_controller: tuple[Path, list[str]]
) -> None:
    log, script = external_controller
    common = [
        "--nc-cluster=existing",
        f"--nc-kubeconfig={local_cluster.kubeconfig_path}",
        f"--nc-binding={ALERTING}",
        "--nc-controller-cmd=",
        "-k",
        "restarted-while-webhook-recovers",
    ]
    for name in ("without", "with"):
        (tmp_path / name).mkdir()
    skipped = run_suite(tmp_path / "without", *common)
    assert skipped.returncode == 0, skipped.output
    assert skipped.report is not None and [s["reason"] for s in skipped.report["skipped"]] == [
        "the controller runs outside the suite and neither --nc-controller-restart-cmd nor "
        "--nc-controller-pod-selector says how to restart it"
    ]
    restarted = run_suite(tmp_path / "with", *common, f"--nc-controller-restart-cmd={shlex.join(script)}")
    assert restarted.returncode == 0, restarted.output
    assert restarted.report is not None and restarted.report["statistics"]["passed"] == 1, restarted.output
    assert restarted.report["environment"]["controller"] == "external"
    assert log.read_text().count("alert controller started") == 2, "started by the test, then restarted"


def test_a_pod_selector_restart_deletes_the_pods_and_waits_for_a_new_ready_one(api_client: ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    namespace = f"nc-pods-{secrets.token_hex(3)}"
    selector = launch.PodSelector(namespace, "app=controller")

    def pod(name: str) -> client.V1Pod:
        return client.V1Pod(
            metadata=client.V1ObjectMeta(name=name, labels={"app": "controller"}),
            spec=client.V1PodSpec(containers=[client.V1Container(name="manager", image="example/manager")]),
        )

    def replace_deleted(since: str) -> None:
        """What a Deployment and a kubelet would do (this control plane has neither)."""
        stream = watch.Watch()
        for event in stream.stream(
            core.list_namespaced_pod, namespace, resource_version=since, timeout_seconds=30
        ):
            if event["type"] == "DELETED":
                core.create_namespaced_pod(namespace, pod("controller-2"))
                ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
                core.patch_namespaced_pod_status("controller-2", namespace, ready)
                stream.stop()

    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        core.create_namespaced_pod(namespace, pod("controller-1"))
        listing: Any = core.list_namespaced_pod(namespace)
        since = listing.metadata.resource_version
        replacer = threading.Thread(target=replace_deleted, args=(since,), daemon=True)
        replacer.start()
        assert launch.restart_pods(api_client, selector, timeout=20)() == 0
        replacer.join(5)
        pods: Any = core.list_namespaced_pod(namespace)
        assert [p.metadata.name for p in pods.items] == ["controller-2"]
        with pytest.raises(
            launch.LaunchError, match=r"No new pod matching app=controller in nc-pods-\w+ became Ready"
        ):
            launch.restart_pods(api_client, selector, timeout=2)()
        with pytest.raises(launch.LaunchError, match=r"No pod in nc-pods-\w+ matches app=controller"):
            launch.restart_pods(api_client, selector, timeout=2)()
    finally:
        core.delete_namespace(namespace)
