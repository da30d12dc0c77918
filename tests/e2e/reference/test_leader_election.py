"""Two replicas with --leader-elect: one delivers, the other takes over when it dies or leaves."""

from __future__ import annotations

import signal
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubernetes import client, watch
from prometheus_client.parser import text_string_to_metric_families

from conformance.observers.sink.recording import SinkClient
from tests.e2e.reference.conftest import (
    GROUP,
    PLURAL,
    VERSION,
    Controller,
    all_in,
    notification,
    wait_notifications,
    webhook,
)

LEASE = "notification-controller"
FAST = ("--leader-election-lease-duration", "3s", "--leader-election-renew-deadline", "2s")
RETRY = ("--leader-election-retry-period", "500ms")


def replica_args(namespace: str, *extra: str) -> tuple[str, ...]:
    return (
        "--namespace", namespace,
        "--leader-elect", "--leader-election-namespace", namespace,
        "--metrics-bind-address", "0",
        *RETRY, *extra,
    )  # fmt: skip


def identity(controller: Controller) -> str:
    return str(controller.wait_log(lambda e: e["msg"] == "waiting for the lease")["identity"])


def wait_lease(
    coordination: client.CoordinationV1Api,
    namespace: str,
    holder: Callable[[str], bool],
    timeout: float = 30,
) -> float:
    """Watch the Lease until its holder satisfies ``holder``; the time that happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in watch.Watch().stream(
            coordination.list_namespaced_lease,
            namespace,
            field_selector=f"metadata.name={LEASE}",
            timeout_seconds=max(int(deadline - time.monotonic()), 1),
        ):
            lease: Any = event["object"]
            if event["type"] != "DELETED" and holder(lease.spec.holder_identity or ""):
                return time.time()
    raise AssertionError(f"the Lease in {namespace} never got the expected holder within {timeout}s")


def is_delivery(entry: dict[str, Any]) -> bool:
    return bool(entry["msg"] == "delivery attempt")


def deliveries(controller: Controller) -> list[dict[str, Any]]:
    return [e for e in controller.logs() if is_delivery(e)]


def test_one_replica_delivers_and_the_other_takes_over_after_kill(
    start_controller: Callable[..., Controller],
    custom: client.CustomObjectsApi,
    api_client: client.ApiClient,
    namespace: str,
    sink: SinkClient,
) -> None:
    coordination = client.CoordinationV1Api(api_client)
    replicas = [start_controller(*replica_args(namespace, *FAST)) for _ in range(2)]
    identities = [identity(r) for r in replicas]
    wait_lease(coordination, namespace, lambda holder: holder in identities)
    lease: Any = coordination.read_namespaced_lease(LEASE, namespace)
    leader = identities.index(lease.spec.holder_identity)
    first, second = replicas[leader], replicas[1 - leader]

    # Many notifications at once, two channels each: every channel delivered exactly once.
    count = 40
    for i in range(count):
        channels = [webhook(c, sink.hook_url(f"{namespace}/n{i}-{c}")) for c in ("a", "b")]
        custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, notification(f"n{i}", channels)
        )
    wait_notifications(custom, namespace, all_in({"Sent"}, count))
    keys: Counter[str] = Counter()
    for i in range(count):
        for c in ("a", "b"):
            keys.update(r["headers"]["Idempotency-Key"] for r in sink.records(f"{namespace}/n{i}-{c}"))
    assert len(keys) == 2 * count and set(keys.values()) == {1}, keys.most_common(3)
    assert len(first.wait_logs(is_delivery, 2 * count)) == 2 * count and deliveries(second) == []

    # Retrying notifications, then the leader dies: the other replica makes the retries.
    retrying = 10
    for i in range(retrying):
        path = f"{namespace}/r{i}"
        sink.script(path, [{"status": 503, "times": 1}, {"status": 200}])
        manifest = notification(f"r{i}", [webhook("hook", sink.hook_url(path))], initialBackoff="6s")
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
    wait_notifications(custom, namespace, lambda latest: _phases(latest, "r") == {"Retrying"})
    killed = time.time()
    first.kill()
    taken = wait_lease(coordination, namespace, lambda holder: holder == identities[1 - leader])
    wait_notifications(custom, namespace, all_in({"Sent"}, count + retrying), timeout=60)
    failover = taken - killed
    print(f"failover: the second replica held the Lease {failover:.2f}s after kill -9 of the leader")
    assert failover < 3 + 2 * 0.5 + 2, "takeover should come one lease duration after the last renewal"
    for i in range(retrying):
        records = sink.records(f"{namespace}/r{i}")
        assert [r["status"] for r in records] == [503, 200], records
        assert len({r["headers"]["Idempotency-Key"] for r in records}) == 1
        assert records[1]["time"] >= taken
    assert sorted(
        (e["notification"], e["attempt"]) for e in second.wait_logs(is_delivery, retrying)
    ) == sorted((f"{namespace}/r{i}", 2) for i in range(retrying))


def _phases(latest: dict[str, dict[str, Any]], prefix: str) -> set[str | None]:
    return {(o.get("status") or {}).get("phase") for name, o in latest.items() if name.startswith(prefix)}


def test_sigterm_finishes_the_round_and_hands_the_lease_over_at_once(
    start_controller: Callable[..., Controller],
    custom: client.CustomObjectsApi,
    api_client: client.ApiClient,
    namespace: str,
    sink: SinkClient,
) -> None:
    coordination = client.CoordinationV1Api(api_client)
    replicas = [start_controller(*replica_args(namespace)) for _ in range(2)]  # 15s lease, 10s deadline
    identities = [identity(r) for r in replicas]
    wait_lease(coordination, namespace, lambda holder: holder in identities)
    lease: Any = coordination.read_namespaced_lease(LEASE, namespace)
    leader = identities.index(lease.spec.holder_identity)
    first, second = replicas[leader], replicas[1 - leader]

    path = f"{namespace}/slow"
    sink.script(path, [{"status": 200, "delaySeconds": 2}])
    manifest = notification("slow", [webhook("hook", sink.hook_url(path))])
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
    assert sink.records(path, at_least=1, wait=30), "the delivery never started"
    terminated = time.time()
    first.signal(signal.SIGTERM)  # while the webhook is still answering
    assert first.popen.wait(20) == 0, first.output()
    taken = wait_lease(coordination, namespace, lambda holder: holder == identities[1 - leader])
    latest = wait_notifications(custom, namespace, all_in({"Sent"}, 1))
    status = latest["slow"]["status"]
    assert [(a["attempt"], a["outcome"]) for a in status["deliveryAttempts"]] == [(1, "Success")]
    assert len(sink.records(path)) == 1 and deliveries(second) == []
    first.wait_log(lambda e: e["msg"] == "phase changed" and e["phase"] == "Sent")
    released = first.wait_log(lambda e: e["msg"] == "released the lease")
    handover = taken - terminated
    print(f"handover: successor held the Lease {handover:.2f}s after SIGTERM (round in flight: 2s)")
    assert handover < 15, f"the successor waited for the Lease to expire: {released}"


def test_a_leader_that_loses_the_lease_stops_taking_work(
    start_controller: Callable[..., Controller],
    custom: client.CustomObjectsApi,
    api_client: client.ApiClient,
    namespace: str,
    sink: SinkClient,
) -> None:
    coordination = client.CoordinationV1Api(api_client)
    args = list(replica_args(namespace, *FAST))
    args[args.index("--metrics-bind-address") + 1] = "127.0.0.1:0"
    controller = start_controller(*args)
    controller.wait_log(lambda e: e["msg"] == "became leader")
    metrics = "http://" + controller.wait_log(lambda e: e["msg"] == "serving metrics and probes")["address"]

    lease: Any = coordination.read_namespaced_lease(LEASE, namespace)
    lease.spec.holder_identity, lease.spec.lease_duration_seconds = "intruder", 3600
    lease.spec.renew_time = datetime.now(UTC)
    coordination.replace_namespaced_lease(LEASE, namespace, lease)
    controller.wait_log(lambda e: e["msg"] == "lost the lease; stopped taking work")
    assert scrape(metrics)["notification_controller_leader"] == 0
    wait_until(lambda: probe(f"{metrics}/readyz") == 200)  # a standby must not hold up a rollout
    assert scrape(metrics)["notification_controller_leader"] == 0

    path = f"{namespace}/waiting"
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, notification("waiting", [webhook("hook", sink.hook_url(path))])
    )
    wait_until(lambda: scrape(metrics)["notification_controller_workqueue_depth"] == 1)
    assert sink.records(path, at_least=1, wait=1.0) == [], "a replica without the Lease delivered"

    lease = coordination.read_namespaced_lease(LEASE, namespace)
    lease.spec.holder_identity = ""
    coordination.replace_namespaced_lease(LEASE, namespace, lease)
    released = time.time()
    wait_notifications(custom, namespace, all_in({"Sent"}, 1))
    records = sink.records(path)
    assert len(records) == 1 and records[0]["time"] >= released
    assert scrape(metrics)["notification_controller_leader"] == 1


def scrape(base: str) -> dict[str, float]:
    """Unlabelled samples of the controller's /metrics."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def probe(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
