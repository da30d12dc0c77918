"""Fixtures for running reference controller processes against the local control plane."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from clusters.local.controlplane import LocalControlPlane
from clusters.processes import own_session
from tests.e2e.conftest import REPO

GROUP, VERSION, PLURAL = "notifications.conformance.dev", "v1alpha1", "notificationrequests"
TERMINAL = {"Sent", "PartiallySent", "Failed"}


class Controller:
    """One ``python -m reference_controller`` process; its JSON log lines are kept as they arrive."""

    def __init__(self, kubeconfig: Path, *args: str) -> None:
        argv = [sys.executable, "-m", "reference_controller", "--kubeconfig", str(kubeconfig), *args]
        self.popen = subprocess.Popen(
            argv,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=own_session(),
        )
        self._cond = threading.Condition()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._pump, args=(self.popen.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._pump, args=(self.popen.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _pump(self, stream: Any, lines: list[str]) -> None:
        for raw in stream:
            with self._cond:
                lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def logs(self) -> list[dict[str, Any]]:
        with self._cond:
            return [json.loads(line) for line in self.stderr if line.startswith("{")]

    def wait_log(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict[str, Any]:
        """The first log entry that satisfies ``predicate``, waiting for it to be written."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.stderr:
                    entry: dict[str, Any] = json.loads(line) if line.startswith("{") else {}
                    if entry and predicate(entry):
                        return entry
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.popen.poll() is not None and not self._readers_alive()):
                    raise AssertionError(
                        f"no such log line within {timeout}s:\n" + "\n".join(self.stderr[-30:])
                    )
                self._cond.wait(min(remaining, 0.5))

    def wait_logs(
        self, predicate: Callable[[dict[str, Any]], bool], count: int, timeout: float = 30
    ) -> list[dict[str, Any]]:
        """The log entries that satisfy ``predicate``, once there are at least ``count``: a line
        written before a status write may still be in the pipe when the write is seen."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [e for e in self.logs() if predicate(e)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0 or not self._readers_alive():
                    return found
                self._cond.wait(min(remaining, 0.5))

    def _readers_alive(self) -> bool:
        return any(reader.is_alive() for reader in self._readers)

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.stdout + self.stderr)

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.popen.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        for reader in self._readers:
            reader.join(5)


def notification(name: str, channels: list[dict[str, Any]], **retry: Any) -> dict[str, Any]:
    policy = {"maxAttempts": 3, "initialBackoff": "1s", "backoffMultiplier": 2, "maxBackoff": "10s"}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NotificationRequest",
        "metadata": {"name": name},
        "spec": {"subject": f"subject of {name}", "channels": channels, "retryPolicy": {**policy, **retry}},
    }


def webhook(name: str, url: str, **settings: Any) -> dict[str, Any]:
    return {"name": name, "type": "webhook", "webhook": {"url": url, "timeout": "5s", **settings}}


def wait_notifications(
    custom: client.CustomObjectsApi,
    namespace: str,
    done: Callable[[dict[str, dict[str, Any]]], bool],
    timeout: float = 60,
) -> dict[str, dict[str, Any]]:
    """Watch the namespace's notifications until ``done`` holds for the latest version of each."""
    latest: dict[str, dict[str, Any]] = {}
    listing: Any = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    latest = {item["metadata"]["name"]: item for item in listing["items"]}
    if done(latest):
        return latest
    deadline = time.monotonic() + timeout
    version = listing["metadata"]["resourceVersion"]
    while time.monotonic() < deadline:
        stream = watch.Watch().stream(
            custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            resource_version=version,
            timeout_seconds=max(int(deadline - time.monotonic()), 1),
        )
        for event in stream:
            obj = event["object"]
            version = obj["metadata"]["resourceVersion"]
            if event["type"] == "DELETED":
                latest.pop(obj["metadata"]["name"], None)
            else:
                latest[obj["metadata"]["name"]] = obj
            if done(latest):
                return latest
    phases = {name: (obj.get("status") or {}).get("phase") for name, obj in latest.items()}
    raise AssertionError(f"notifications in {namespace} did not get there within {timeout}s: {phases}")


def all_in(phases: set[str], count: int) -> Callable[[dict[str, dict[str, Any]]], bool]:
    def done(latest: dict[str, dict[str, Any]]) -> bool:
        return len(latest) == count and all(
            (obj.get("status") or {}).get("phase") in phases for obj in latest.values()
        )

    return done


@pytest.fixture(scope="session")
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    from conformance.binding.binding import Binding
    from conformance.environment.run_environment import install_crds

    install_crds(api_client, Binding.load(REPO / "fixtures" / "bindings" / "reference"))
    return client.CustomObjectsApi(api_client)


@pytest.fixture
def namespace(api_client: client.ApiClient, custom: client.CustomObjectsApi) -> Iterator[str]:
    """A fresh namespace; its notifications are deleted first, since a local control plane
    has no namespace controller to finalize the namespace."""
    core = client.CoreV1Api(api_client)
    name = f"rc-{secrets.token_hex(4)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    with contextlib.suppress(ApiException):
        custom.delete_collection_namespaced_custom_object(GROUP, VERSION, name, PLURAL)
        core.delete_namespace(name)


@pytest.fixture
def start_controller(local_cluster: LocalControlPlane) -> Iterator[Callable[..., Controller]]:
    """Start reference controllers with extra flags; every one is stopped when the test ends."""
    started: list[Controller] = []

    def start(*args: str) -> Controller:
        controller = Controller(local_cluster.kubeconfig_path, *args)
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()
