"""The Broadcast controller (examples/strict_controller) on a real kube-apiserver and etcd.

Its limits are the CRD's, so the API server itself refuses what the API cannot
express. Its schedule is judged from outside: the console lines on its stdout and
the files it leaves, each stamped by this test, never from the times in its status.
A file attempt is made to fail, observably for the schedule, by a directory that
already holds the attempt's final name: the rename fails, and the next attempt's
file appears only once its delay has passed.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from clusters.local.controlplane import LocalControlPlane
from clusters.processes import ManagedProcess
from conformance.binding.binding import Binding
from conformance.environment.run_environment import install_crds
from conformance.observers.readonly import ReadOnlyDirectory
from tests.e2e.conftest import REPO

GROUP, VERSION, PLURAL = "broadcast.example.org", "v1", "broadcasts"
STRICT = REPO / "fixtures" / "bindings" / "strict"
EPSILON = 0.05
"""Measurement error forgiven below a lower bound: a file's mtime lags the clock by a tick."""
SLACK = 0.75
"""Latency allowed above a gap's nominal value, as the suite allows it."""
MILLISECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

Object = dict[str, Any]


@pytest.fixture(scope="module")
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    install_crds(api_client, Binding.load(STRICT))
    return client.CustomObjectsApi(api_client)


@pytest.fixture
def namespace(api_client: client.ApiClient, custom: client.CustomObjectsApi) -> Iterator[str]:
    name = f"nc-strict-{secrets.token_hex(3)}"
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    with contextlib.suppress(ApiException, urllib3.exceptions.HTTPError):
        custom.delete_collection_namespaced_custom_object(GROUP, VERSION, name, PLURAL)
        core.delete_namespace(name)


def manifest(name: str, targets: list[Object], **retry: int) -> Object:
    policy = {"limit": 3, "initialDelaySeconds": 1, "factor": 2, "maxDelaySeconds": 60, **retry}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Broadcast",
        "metadata": {"name": name},
        "spec": {"subject": f"{name} subject", "body": f"{name} body", "targets": targets, "retry": policy},
    }


# -- limits ------------------------------------------------------------------------------------


def refusal(call: Callable[[], object]) -> str:
    with pytest.raises(ApiException) as caught:
        call()
    assert caught.value.status == 422, caught.value.body
    return str(json.loads(str(caught.value.body))["message"])


def with_retry(**changes: Any) -> Object:
    return manifest("bad", [{"type": "console"}], **changes)


def with_targets(*targets: Object) -> Object:
    return manifest("bad", list(targets))


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        (with_retry(limit=0), "spec.retry.limit in body should be greater than or equal to 1"),
        (with_retry(limit=21), "spec.retry.limit in body should be less than or equal to 20"),
        (
            with_retry(initialDelaySeconds=0),
            "spec.retry.initialDelaySeconds in body should be greater than or equal to 1",
        ),
        (
            with_retry(initialDelaySeconds=1.5),
            "spec.retry.initialDelaySeconds in body must be of type integer",
        ),
        (with_retry(factor=1.5), "spec.retry.factor in body must be of type integer"),
        (with_retry(factor=11), "spec.retry.factor in body should be less than or equal to 10"),
        (
            with_retry(maxDelaySeconds=30),
            "spec.retry.maxDelaySeconds in body should be greater than or equal to 60",
        ),
        (
            with_retry(initialDelaySeconds=120, maxDelaySeconds=60),
            "spec.retry: Invalid value: maxDelaySeconds must not be below initialDelaySeconds",
        ),
        (
            with_targets({"type": "webhook"}),
            'spec.targets[0].type: Unsupported value: "webhook": supported values: "console", "file"',
        ),
        (
            with_targets({"type": "file", "directory": "/a"}, {"type": "file", "directory": "/b"}),
            "a Broadcast has at most one target of each type",
        ),
        (with_targets({"type": "file"}), "a file target needs a directory"),
        (with_targets({"type": "console", "directory": "/a"}), "a console target takes no directory"),
    ],
    ids=[
        "no-attempt",
        "too-many-attempts",
        "no-delay",
        "fractional-delay",
        "fractional-factor",
        "factor-too-large",
        "cap-below-a-minute",
        "cap-below-the-delay",
        "webhook",
        "two-files",
        "file-without-directory",
        "console-with-directory",
    ],
)
def test_what_the_api_cannot_express_is_refused_in_a_sentence(
    custom: client.CustomObjectsApi, namespace: str, body: Object, sentence: str
) -> None:
    message = refusal(
        lambda: custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body, dry_run="All")
    )
    assert sentence in message, message
    assert "\n" not in message


def test_there_is_no_jitter_field(custom: client.CustomObjectsApi, namespace: str) -> None:
    body = with_retry(jitterPercent=10)
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, body, dry_run="All", field_validation="Strict"
        )
    message = json.loads(str(caught.value.body))["message"]
    assert 'unknown field "spec.retry.jitterPercent"' in message, message


def test_the_spec_cannot_change(custom: client.CustomObjectsApi, namespace: str) -> None:
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, manifest("fixed", [{"type": "console"}])
    )
    message = refusal(
        lambda: custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, "fixed", {"spec": {"subject": "another"}}
        )
    )
    assert "a Broadcast's spec cannot change; delete it and create another" in message, message


def test_the_binding_renders_broadcasts_the_api_server_accepts(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    """The template turns a scenario that fits the limits into a valid Broadcast: a target per
    channel type, durations in whole seconds, the integer factor."""
    binding = Binding.load(STRICT)
    body = binding.render(
        name="sample",
        namespace=namespace,
        subject=f"sample [{namespace}]",
        body="a sample",
        channels=[
            {"name": "console", "type": "console"},
            {"name": "archive", "type": "file", "directory": "/d"},
        ],
        retry={"maxAttempts": 5, "initialBackoff": "30s", "backoffMultiplier": 3, "maxBackoff": "2m"},
    )
    created: Any = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, body, dry_run="All"
    )
    assert created["spec"]["targets"] == [{"type": "console"}, {"type": "file", "directory": "/d"}]
    assert created["spec"]["retry"] == {
        "limit": 5,
        "initialDelaySeconds": 30,
        "factor": 3,
        "maxDelaySeconds": 120,
    }


# -- deliveries, observed from outside -----------------------------------------------------------


@dataclass
class Writes:
    """Every write of the namespace's Broadcasts, as a watch saw them, from before the first one."""

    custom: client.CustomObjectsApi
    namespace: str
    seen: dict[str, list[Object]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._changed = threading.Condition()
        self._watch = watch.Watch()
        listing: Any = self.custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL)
        self._thread = threading.Thread(
            target=self._run, args=(listing["metadata"]["resourceVersion"],), name="writes", daemon=True
        )
        self._thread.start()

    def _run(self, version: str) -> None:
        with contextlib.suppress(ApiException, urllib3.exceptions.HTTPError):
            for event in self._watch.stream(
                self.custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                resource_version=version,
                timeout_seconds=120,
            ):
                if event["type"] in ("ADDED", "MODIFIED"):
                    obj = event["object"]
                    with self._changed:
                        self.seen.setdefault(obj["metadata"]["name"], []).append(obj)
                        self._changed.notify_all()

    def status_writes(self, name: str) -> list[Object]:
        return [obj["status"] for obj in self.seen.get(name, []) if obj.get("status")]

    def terminal(self, name: str) -> bool:
        writes = self.status_writes(name)
        return bool(writes) and writes[-1].get("phase") in ("Delivered", "Partial", "Failed")

    def wait(self, ready: Callable[[], bool], timeout: float = 30) -> None:
        with self._changed:
            if not self._changed.wait_for(ready, timeout):
                phases = {n: [w.get("phase") for w in self.status_writes(n)] for n in self.seen}
                raise AssertionError(f"not there after {timeout:.0f}s; phases written: {phases}")

    def wait_terminal(self, names: list[str]) -> dict[str, Object]:
        self.wait(lambda: all(self.terminal(n) for n in names))
        return {n: self.status_writes(n)[-1] for n in names}

    def stop(self) -> None:
        """The watch ends at its next event, which deleting the Broadcasts brings."""
        self._watch.stop()
        with contextlib.suppress(ApiException, urllib3.exceptions.HTTPError):
            self.custom.delete_collection_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL)
        self._thread.join(10)


class Controller:
    """The Broadcast controller as a process of its own, its stdout stamped line by line."""

    def __init__(self, plane: LocalControlPlane, namespace: str, workdir: Path, *flags: str) -> None:
        self.lines: list[tuple[float, str]] = []
        self._lock = threading.Condition()
        argv = [
            *(sys.executable, "-m", "examples.strict_controller"),
            *("--kubeconfig", str(plane.kubeconfig_path), "--namespace", namespace, *flags),
        ]
        self.process = ManagedProcess(
            "strict-controller", argv, workdir / "controller.log", on_line=self._line
        )

    def _line(self, line: str) -> None:
        with self._lock:
            self.lines.append((time.time(), line))
            self._lock.notify_all()

    def wait_watching(self, timeout: float = 30) -> None:
        """Until it has listed and watches: from then on its first attempts are prompt."""
        with self._lock:
            if not self._lock.wait_for(lambda: self.logged("watching"), timeout):
                raise AssertionError(f"the controller did not start watching within {timeout:.0f}s")

    def console(self, key: str) -> list[tuple[float, Object]]:
        """The console deliveries of one Broadcast: JSON lines, apart from the plain-text log."""
        found = []
        with self._lock:
            for stamp, line in self.lines:
                with contextlib.suppress(ValueError):
                    entry = json.loads(line)
                    if isinstance(entry, dict) and entry.get("broadcast") == key:
                        found.append((stamp, entry))
        return found

    def logged(self, text: str) -> bool:
        with self._lock:
            return any(text in line for _, line in self.lines)


@pytest.fixture
def writes(custom: client.CustomObjectsApi, namespace: str) -> Iterator[Writes]:
    recorder = Writes(custom, namespace)
    yield recorder
    recorder.stop()


@pytest.fixture
def launch(
    local_cluster: LocalControlPlane, namespace: str, tmp_path: Path
) -> Iterator[Callable[..., Controller]]:
    """Start the controller (with flags) and wait until it watches; every one is stopped at the end."""
    started: list[Controller] = []

    def start(*flags: str) -> Controller:
        started.append(Controller(local_cluster, namespace, tmp_path, *flags))
        started[-1].wait_watching()
        return started[-1]

    yield start
    for controller in started:
        controller.process.stop()


def directory(tmp_path: Path, namespace: str, name: str, taken: int = 0) -> Path:
    """A file target's directory in which the final names of the first ``taken`` attempts are
    already directories, so those attempts fail."""
    folder = tmp_path / name
    folder.mkdir()
    for number in range(1, taken + 1):
        (folder / f"{namespace}.{name}.{number}.json").mkdir()
    return folder


def final_file(folder: Path, namespace: str, name: str, number: int) -> float:
    """When the attempt's final file was written (its mtime), once it exists as a file."""
    path = folder / f"{namespace}.{name}.{number}.json"
    assert path.is_file(), sorted(p.name for p in folder.iterdir())
    assert json.loads(path.read_text())["attempt"] == number
    return path.stat().st_mtime


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def create(custom: client.CustomObjectsApi, namespace: str, *bodies: Object) -> float:
    """Create them all; returns the moment before the first create, before any attempt can start."""
    before = time.time()
    for body in bodies:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    return before


def test_deliveries_follow_the_schedule_in_one_status_write_per_round(
    launch: Callable[..., Controller],
    writes: Writes,
    custom: client.CustomObjectsApi,
    namespace: str,
    tmp_path: Path,
) -> None:
    mixed = directory(tmp_path, namespace, "mixed", taken=2)
    single = directory(tmp_path, namespace, "single", taken=1)
    readonly = directory(tmp_path, namespace, "readonly")
    locked = ReadOnlyDirectory(readonly)
    try:
        controller = launch()
        before = create(
            custom,
            namespace,
            manifest("mixed", [{"type": "console"}, {"type": "file", "directory": str(mixed)}], limit=4),
            manifest("single", [{"type": "file", "directory": str(single)}]),
            manifest("readonly", [{"type": "file", "directory": str(readonly)}], limit=2),
        )
        final = writes.wait_terminal(["mixed", "single", "readonly"])
    finally:
        locked.release()

    # Console at once; the file's third attempt 1s + 2s after the round that printed it.
    ((printed, line),) = controller.console(f"{namespace}/mixed")
    assert (line["subject"], line["body"], line["attempt"]) == ("mixed subject", "mixed body", 1)
    assert before <= printed <= before + SLACK
    third = final_file(mixed, namespace, "mixed", 3)
    assert 3 - EPSILON <= third - printed <= 3 + 2 * SLACK
    second = final_file(single, namespace, "single", 2)
    assert 1 - EPSILON <= second - before <= 1 + 2 * SLACK
    assert not list(readonly.iterdir())
    assert leftovers(mixed) == leftovers(single) == []

    # One status write per round; the last one holds the last attempt and the terminal phase.
    rounds = {
        name: [
            ([(a["target"], a["number"]) for a in w["attempts"]], w["phase"])
            for w in writes.status_writes(name)
        ]
        for name in final
    }
    assert rounds["mixed"] == [
        ([("console", 1), ("file", 1)], "Waiting"),
        ([("console", 1), ("file", 1), ("file", 2)], "Waiting"),
        ([("console", 1), ("file", 1), ("file", 2), ("file", 3)], "Delivered"),
    ]
    assert rounds["single"] == [([("file", 1)], "Delivering"), ([("file", 1), ("file", 2)], "Delivered")]
    assert rounds["readonly"] == [([("file", 1)], "Delivering"), ([("file", 1), ("file", 2)], "Failed")]
    for name, status in final.items():
        assert status["attemptCount"] == len(status["attempts"])
        assert "observedGeneration" not in status
        assert all(MILLISECONDS.match(a["startedAt"]) for a in status["attempts"])
        assert MILLISECONDS.match(status["completedAt"])
        assert status["completedAt"] >= status["attempts"][-1]["startedAt"]
        assert "completedAt" not in writes.status_writes(name)[-2]
        assert controller.logged(f'reconcile {namespace}/{name} subject="{name} subject" phase=')
    errors = [a["error"] for a in final["readonly"]["attempts"]]
    assert all(f"cannot create a file in {readonly}" in e for e in errors), errors


def test_the_broken_variant_retries_at_once_in_the_phase_it_leaves_unguarded(
    launch: Callable[..., Controller],
    writes: Writes,
    custom: client.CustomObjectsApi,
    namespace: str,
    tmp_path: Path,
) -> None:
    """With the guard held in Waiting only, a Broadcast that is still Delivering (no target through)
    retries as soon as its own status write comes back; one that is Waiting keeps its schedule."""
    delivering = directory(tmp_path, namespace, "delivering", taken=2)
    waiting = directory(tmp_path, namespace, "waiting", taken=2)
    controller = launch("--defect", "guard-in-one-phase")
    before = create(
        custom,
        namespace,
        manifest("delivering", [{"type": "file", "directory": str(delivering)}]),
        manifest("waiting", [{"type": "console"}, {"type": "file", "directory": str(waiting)}]),
    )
    writes.wait_terminal(["delivering", "waiting"])

    early = final_file(delivering, namespace, "delivering", 3) - before
    assert early < 1 - EPSILON, f"the third attempt came {early:.3f}s after creation, within the first delay"
    ((printed, _),) = controller.console(f"{namespace}/waiting")
    on_time = final_file(waiting, namespace, "waiting", 3) - printed
    assert 3 - EPSILON <= on_time <= 3 + 2 * SLACK


def test_touches_and_a_restart_during_backoff_neither_hasten_nor_repeat_an_attempt(
    launch: Callable[..., Controller],
    writes: Writes,
    custom: client.CustomObjectsApi,
    namespace: str,
    tmp_path: Path,
) -> None:
    """Level-triggered: an annotation changed every 150ms wakes the controller again and again,
    and a controller killed after the first round starts again with nothing but status."""
    touched = directory(tmp_path, namespace, "touched", taken=2)
    restarted = directory(tmp_path, namespace, "restarted", taken=1)
    first = launch()
    before = create(
        custom,
        namespace,
        manifest("touched", [{"type": "file", "directory": str(touched)}]),
        manifest(
            "restarted",
            [{"type": "console"}, {"type": "file", "directory": str(restarted)}],
            initialDelaySeconds=4,
        ),
    )
    done = threading.Event()

    def touch() -> None:
        for count in itertools.count():
            if done.wait(0.15):
                return
            with contextlib.suppress(ApiException):
                custom.patch_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    namespace,
                    PLURAL,
                    "touched",
                    {"metadata": {"annotations": {"touch": str(count)}}},
                )

    toucher = threading.Thread(target=touch, name="touch", daemon=True)
    toucher.start()
    try:
        writes.wait(lambda: bool(writes.status_writes("restarted")))
        first.process.kill()
        second = launch()
        writes.wait_terminal(["touched", "restarted"])
    finally:
        done.set()
        toucher.join(5)

    third = final_file(touched, namespace, "touched", 3) - before
    assert 3 - EPSILON <= third <= 3 + 3 * SLACK
    ((printed, _),) = first.console(f"{namespace}/restarted")
    assert second.console(f"{namespace}/restarted") == [], "the console was delivered again after the restart"
    resumed = final_file(restarted, namespace, "restarted", 2) - printed
    assert 4 - EPSILON <= resumed <= 4 + 2 * SLACK
    assert len(writes.seen["touched"]) > 10, "the annotation was changed during the backoff"
