"""Prometheus metrics of the controller, in a registry of its own.

Names follow Prometheus conventions: ``_total`` counters, ``_seconds`` histograms.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

PREFIX = "notification_controller"
SUCCESS, RETRYABLE_FAILURE, PERMANENT_FAILURE = "success", "retryable_failure", "permanent_failure"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.attempts = Counter(
            f"{PREFIX}_delivery_attempts",
            "Delivery attempts by channel type and outcome.",
            ["channel_type", "outcome"],
            registry=self.registry,
        )
        self.retries = Counter(
            f"{PREFIX}_retries_scheduled",
            "Failed attempts after which the channel waits for another attempt.",
            ["channel_type"],
            registry=self.registry,
        )
        self.reconcile = Histogram(
            f"{PREFIX}_reconcile_duration_seconds",
            "Time one reconcile took, by result.",
            ["result"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.phase_changes = Counter(
            f"{PREFIX}_phase_transitions",
            "Notifications that entered a phase.",
            ["phase"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            f"{PREFIX}_workqueue_depth", "Keys waiting for a worker.", registry=self.registry
        )
        self.queue_delayed = Gauge(
            f"{PREFIX}_workqueue_delayed", "Keys waiting for their requeue time.", registry=self.registry
        )
        self.leader = Gauge(
            f"{PREFIX}_leader", "1 while this replica may deliver (holds the lease).", registry=self.registry
        )

    def watch_queue(self, depth: Callable[[], int], delayed: Callable[[], int]) -> None:
        self.queue_depth.set_function(lambda: float(depth()))
        self.queue_delayed.set_function(lambda: float(delayed()))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
