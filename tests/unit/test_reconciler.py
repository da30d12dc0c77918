"""The reference reconciler without a cluster: what it decides from its cache and its own
writes, and when it dates an attempt. No API server is reachable here: a reconcile that
asked one, or wrote status, would fail."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from conformance.observers.sink.recording import RecordingSink, SinkClient
from reference_controller import channels
from reference_controller.api import Object
from reference_controller.channels import Channels, Delivery, DeliveryError
from reference_controller.fileroot import FileRoot
from reference_controller.metrics import Metrics
from reference_controller.reconciler import Attempt, Reconciler

KEY = "ns/n1"
POLICY = {"maxAttempts": 3, "initialBackoff": "1s", "backoffMultiplier": 2, "maxBackoff": "4s"}


class RecordingChannels(Channels):
    """Remembers each delivery instead of making it."""

    def __init__(self, root: Path) -> None:
        super().__init__(FileRoot(str(root)), lambda namespace, ref: "")
        self.delivered: list[tuple[str, int]] = []

    def deliver(self, delivery: Delivery) -> float:
        self.delivered.append((delivery.channel["name"], delivery.attempt))
        return time.time()


def unreachable_api() -> client.CustomObjectsApi:
    configuration = client.Configuration()
    configuration.host = "http://127.0.0.1:9"  # the discard port: nothing answers
    return client.CustomObjectsApi(client.ApiClient(configuration))


@pytest.fixture
def reconciler(tmp_path: Path) -> Iterator[Reconciler]:
    made = Reconciler(unreachable_api(), channels=RecordingChannels(tmp_path), metrics=Metrics())
    yield made
    made.pool.shutdown()


def notification(rv: str, url: str = "http://127.0.0.1:9/hook") -> Object:
    return {
        "apiVersion": "notifications.conformance.dev/v1alpha1",
        "kind": "NotificationRequest",
        "metadata": {"namespace": "ns", "name": "n1", "uid": "u-1", "resourceVersion": rv, "generation": 1},
        "spec": {
            "subject": "s",
            "channels": [{"name": "hook", "type": "webhook", "webhook": {"url": url}}],
            "retryPolicy": POLICY,
        },
    }


def test_after_its_own_write_a_lagging_cache_causes_no_attempt(reconciler: Reconciler) -> None:
    """The watch has not yet brought the status write that recorded attempt 1: the cache still
    holds the notification without status, where attempt 1 looks due."""
    before = notification("5")
    failed = Attempt("hook", 1, time.time(), 0.01, DeliveryError("HTTP 503"))
    written = {**notification("6"), "status": reconciler.next_status(before, [failed])}
    reconciler.cache.store.update(KEY, before)
    reconciler.cache.mutated(KEY, written)

    requeue = reconciler.reconcile(KEY)

    assert isinstance(reconciler.channels, RecordingChannels)
    assert reconciler.channels.delivered == [], "attempt 1 was made already"
    assert requeue is not None and 0.5 < requeue <= 1.0, "the next attempt is due 1s after the first"


def test_a_reconcile_reads_no_object_from_the_api_server(reconciler: Reconciler) -> None:
    reconciler.cache.store.update(KEY, {**notification("5"), "status": {"phase": "Sent"}})
    assert reconciler.reconcile(KEY) is None
    assert reconciler.reconcile("ns/gone") is None, "not in the cache: deleted"


@pytest.fixture
def sink() -> Iterator[SinkClient]:
    server = RecordingSink().start()
    yield SinkClient(server.url)
    server.stop()


def test_an_attempt_is_dated_when_its_request_was_written(
    tmp_path: Path, sink: SinkClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that takes 200ms to open (a busy machine) must not date the attempt before
    the receiver had it: the next attempt is scheduled from this date."""
    connect = channels._StampedHTTPConnection.connect

    def slow_connect(self: Any) -> None:
        time.sleep(0.2)
        connect(self)

    monkeypatch.setattr(channels._StampedHTTPConnection, "connect", slow_connect)
    reconciler = Reconciler(
        unreachable_api(), channels=Channels(FileRoot(str(tmp_path)), lambda n, r: ""), metrics=Metrics()
    )
    sink.script("ns/n1/hook", [{"status": 503}])
    obj = notification("5", sink.hook_url("ns/n1/hook"))
    try:
        attempt = reconciler.attempt(obj, obj["spec"]["channels"][0], 1)
    finally:
        reconciler.pool.shutdown()
    (arrival,) = sink.records("ns/n1/hook")
    assert attempt.error is not None and attempt.error.retry_after is None
    assert arrival["time"] <= attempt.at < arrival["time"] + 0.1
    assert attempt.duration < 1.0
