"""The reference controller's image, built without a registry (Debian base from debootstrap,
wheels handed to a build without a network) and run in a container: its usage, then the
controller in the container against the local control plane, delivering a notification."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from clusters.kind import engine
from clusters.kind.images import controller
from clusters.local.controlplane import LocalControlPlane
from tests.e2e.conftest import engine_turn
from tests.e2e.reference.conftest import GROUP, PLURAL, VERSION, all_in, notification, wait_notifications

IMAGE = "notification-conformance/reference-controller:e2e"


@pytest.fixture(scope="module")
def docker_env() -> Iterator[dict[str, str]]:
    """The engine that answers, or one of the test's own for this module."""
    with engine_turn(), engine.engine() as env, pytest.MonkeyPatch.context() as patch:
        if "DOCKER_HOST" in env:
            patch.setenv("DOCKER_HOST", env["DOCKER_HOST"])
        yield env


@pytest.fixture(scope="module")
def image(docker_env: dict[str, str]) -> str:
    return controller.build(lambda message: None, IMAGE)


def docker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], env=env, capture_output=True, text=True, check=False, timeout=120
    )


def test_the_container_prints_its_usage(docker_env: dict[str, str], image: str) -> None:
    result = docker(docker_env, "run", "--rm", "--network=none", image, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: reference_controller"), result.stdout
    assert "--leader-elect" in result.stdout


def test_the_image_runs_as_a_non_root_user_without_pip(docker_env: dict[str, str], image: str) -> None:
    user = docker(docker_env, "image", "inspect", "--format", "{{.Config.User}}", image)
    assert user.stdout.strip() == "65532:65532"
    pip = docker(docker_env, "run", "--rm", "--network=none", "--entrypoint", "python", image, "-m", "pip")
    assert pip.returncode != 0 and "No module named pip" in pip.stderr, pip.stderr


def test_the_container_delivers_against_the_local_control_plane(
    docker_env: dict[str, str],
    image: str,
    local_cluster: LocalControlPlane,
    custom: client.CustomObjectsApi,
    namespace: str,
    tmp_path: Path,
) -> None:
    """The controller in its container (host network: the local API server listens on loopback)
    takes a notification to Sent, and says so on its console channel."""
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copy(local_cluster.kubeconfig_path, kubeconfig)
    kubeconfig.chmod(0o644)  # the container's user is not this machine's
    name = f"nc-e2e-{uuid.uuid4().hex[:8]}"
    started = docker(
        docker_env, "run", "--detach", "--name", name, "--network=host",
        "--volume", f"{kubeconfig}:/etc/controller/kubeconfig:ro", image,
        "--kubeconfig", "/etc/controller/kubeconfig", "--metrics-bind-address", "0", "--file-root", "/tmp",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            notification("in-a-container", [{"name": "out", "type": "console"}]),
        )
        latest = wait_notifications(custom, namespace, all_in({"Sent"}, 1))
        assert latest["in-a-container"]["status"]["channels"][0]["state"] == "Delivered"
        logs = docker(docker_env, "logs", name)
        assert "subject of in-a-container" in logs.stdout + logs.stderr
    finally:
        docker(docker_env, "rm", "--force", name)
