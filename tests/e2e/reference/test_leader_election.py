"""Two replicas with --leader-elect: one delivers, the other takes over when it dies or leaves."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from kubernetes import client, watch

from fixtures.sink import SinkClient
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


def deliveries(controller: Controller) -> list[dict[str, Any]]:
    return [e for e in controller.logs() if e["msg"] == "delivery attempt"]


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
    assert len(deliveries(first)) == 2 * count and deliveries(second) == []

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
    assert sorted((e["notification"], e["attempt"]) for e in deliveries(second)) == sorted(
        (f"{namespace}/r{i}", 2) for i in range(retrying)
    )


def _phases(latest: dict[str, dict[str, Any]], prefix: str) -> set[str | None]:
    return {(o.get("status") or {}).get("phase") for name, o in latest.items() if name.startswith(prefix)}
