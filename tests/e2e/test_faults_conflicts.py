"""Other writers change the notifications while the controller delivers: every label or
annotation change bumps the resourceVersion, so the controller's conditional status
writes meet 409 Conflicts. It must re-read and re-write, never lose or repeat an attempt,
and never let a touch bring a retry forward."""

from __future__ import annotations

import itertools
import re
import ssl
import threading
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from clusters.local.controlplane import LocalControlPlane
from conformance.observers.sink.recording import SinkClient
from tests.e2e.fleet import (
    GROUP,
    PLURAL,
    TERMINAL,
    VERSION,
    Controller,
    Fleet,
    check_sink,
    check_status,
    controller_argv,
    delivered,
    records_of,
)

NOTIFICATIONS = 30
WRITERS = 3
TERMINAL_TIMEOUT = 60.0
POLICY = {"maxAttempts": 4, "initialBackoff": "300ms", "backoffMultiplier": 2, "maxBackoff": "1s"}
SCRIPTS: dict[str, tuple[list[dict[str, Any]], bool]] = {
    "slow": ([{"status": 200, "delaySeconds": 0.2}], True),
    "flaky": ([{"status": 500, "times": 2, "delaySeconds": 0.1}, {"status": 200}], True),
    "down": ([{"status": 503, "delaySeconds": 0.1}], False),
}
_CONFLICTS = re.compile(r"^apiserver_request_total\{([^}]*)\} (\S+)$", re.MULTILINE)


def status_conflicts(plane: LocalControlPlane) -> int:
    """409 answers to status writes of notifications so far, from the API server's own metrics."""
    request = urllib.request.Request(
        f"{plane.server}/metrics", headers={"Authorization": f"Bearer {plane.token}"}
    )
    context = ssl.create_default_context(cafile=str(plane.ca))
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        text = response.read().decode()
    total = 0
    for labels, value in _CONFLICTS.findall(text):
        if all(
            part in labels
            for part in ('code="409"', f'resource="{PLURAL}"', 'subresource="status"', 'verb="PUT"')
        ):
            total += int(float(value))
    return total


class Writers:
    """Threads that keep patching labels and annotations of notifications not yet terminal."""

    def __init__(self, kubeconfig: Path, namespace: str, names: list[str]) -> None:
        self.kubeconfig, self.namespace, self.names = kubeconfig, namespace, names
        self.done: set[str] = set()
        self.patches = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(WRITERS)]

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def _run(self, index: int) -> None:
        api = config.new_client_from_config(str(self.kubeconfig))
        custom = client.CustomObjectsApi(api)
        count = 0
        try:
            while not self._stop.is_set():
                for name in self.names[index::WRITERS]:
                    if self._stop.is_set() or name in self.done:
                        continue
                    count += 1
                    patch = {
                        "metadata": {
                            "labels": {"faults.conformance.dev/writer": str(index)},
                            "annotations": {"faults.conformance.dev/touch": f"{index}-{count}"},
                        }
                    }
                    try:
                        obj: Any = custom.patch_namespaced_custom_object(
                            GROUP, VERSION, self.namespace, PLURAL, name, patch
                        )
                    except ApiException as err:
                        with self._lock:
                            self.errors.append(f"{name}: HTTP {err.status} {err.reason}")
                        continue
                    with self._lock:
                        self.patches += 1
                        if (obj.get("status") or {}).get("phase") in TERMINAL:
                            self.done.add(name)
        finally:
            api.close()


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def test_concurrent_writers_cause_conflicts_and_nothing_is_lost_or_repeated(
    local_cluster: LocalControlPlane, notification_crds: client.ApiClient, sink: SinkClient, tmp_path: Path
) -> None:
    fleet = Fleet(notification_crds, sink, tmp_path).open()
    controller = Controller(
        controller_argv(local_cluster.kubeconfig_path, fleet.namespace, tmp_path), tmp_path
    )
    scripts = {f"c{i:02d}": list(SCRIPTS)[i % len(SCRIPTS)] for i in range(NOTIFICATIONS)}
    manifests = []
    for name, script in scripts.items():
        sink.script(fleet.hook_path(name, "hook"), SCRIPTS[script][0])
        channels = [
            {"name": "hook", "type": "webhook", "webhook": {"url": fleet.hook_url(name, "hook")}},
            {"name": "log", "type": "console"},
        ]
        spec = {"subject": f"conflicts {name}", "channels": channels, "retryPolicy": POLICY}
        manifests.append(fleet.manifest(name, spec))
    conflicts_before = status_conflicts(local_cluster)
    try:
        controller.start()
        fleet.create(manifests)
        with Writers(local_cluster.kubeconfig_path, fleet.namespace, list(scripts)) as writers:
            final = fleet.wait_terminal(TERMINAL_TIMEOUT)
        conflicts = status_conflicts(local_cluster) - conflicts_before
        assert controller.running()
    finally:
        controller.stop()
        fleet.close()

    problems: list[str] = []
    for name, script in scripts.items():
        obj = final[name]
        problems += check_status(obj)
        arrivals = sink.records(fleet.hook_path(name, "hook"))
        problems += check_sink(
            obj, "hook", arrivals, fleet.uids[name], fleet.created[name], kills=[]
        ).problems
        if delivered(obj, "hook") != SCRIPTS[script][1]:
            problems.append(f"{name}: webhook delivered={not SCRIPTS[script][1]} against script {script}")
        if not SCRIPTS[script][1] and len(records_of(obj, "hook")) != POLICY["maxAttempts"]:
            problems.append(f"{name}: {len(records_of(obj, 'hook'))} attempts of {POLICY['maxAttempts']}")
        printed = [e for _, e in controller.console if e["notification"] == f"{fleet.namespace}/{name}"]
        if [e["attempt"] for e in printed] != [a["attempt"] for a in records_of(obj, "log")]:
            problems.append(f"{name}: console printed {printed}, status {records_of(obj, 'log')}")
        attempts = records_of(obj, "hook")
        for number, (before, after) in enumerate(itertools.pairwise(attempts), start=1):
            nominal = min(0.3 * 2 ** (number - 1), 1.0)
            if _epoch(after["timestamp"]) - _epoch(before["timestamp"]) < nominal:
                problems.append(f"{name}: attempt {number + 1} came early: {before} -> {after}")
    print(
        f"\nconflicts: {conflicts} status writes answered 409, {writers.patches} patches by {WRITERS} "
        f"writers, {len(scripts)} notifications, {sum(o['status']['totalAttempts'] for o in final.values())} "
        "attempts, 0 duplicates allowed"
    )
    assert not problems, "\n".join(problems)
    assert not writers.errors, writers.errors[:5]
    assert conflicts > 0, "the writers never made a status write conflict"
