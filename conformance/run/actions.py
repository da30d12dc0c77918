"""What the suite does to a scenario's object while the controller works on it, besides
creating it: touching it, and creating companion notifications beside it. (Deleting it
and restarting the controller wait on the status watch, so the runner does them.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from conformance.binding.binding import Binding
from conformance.observers.sink.observer import SinkPaths
from conformance.observers.sink.recording import SinkClient


class Companions:
    """Other notifications, each with one healthy webhook, created right after the scenario's:
    the time to each one's first request shows whether the controller serves them while the
    scenario's own channels misbehave."""

    def __init__(self, sink: SinkClient, namespace: str) -> None:
        self._paths = SinkPaths(sink, namespace)
        self._born: dict[str, float] = {}

    def create(self, count: int, create: Callable[[str, list[dict[str, Any]]], None]) -> None:
        """``create(name, channels)`` renders and creates one notification with these channels."""
        for index in range(count):
            name = f"companion-{index + 1}"
            url = self._paths.sink.hook_url(self._paths.add(name))
            create(name, [{"name": "hook", "type": "webhook", "url": url, "timeout": "5s"}])
            self._born[name] = time.time()

    def latency(self) -> dict[str, float | None]:
        """Seconds from creating each companion to its first request (None: never)."""
        latency: dict[str, float | None] = {}
        for name, born in self._born.items():
            requests = self._paths.records(name)
            latency[name] = requests[0]["time"] - born if requests else None
        return latency

    def diagnostics(self) -> dict[str, str]:
        return self._paths.diagnostics()

    def release(self, keep: bool) -> None:
        self._paths.release(keep)


class Toucher:
    """Changes an annotation on the object at a fixed interval: each change is a watch event
    that wakes the controller, which must then do nothing early."""

    def __init__(
        self, api: client.CustomObjectsApi, binding: Binding, namespace: str, name: str, every: float
    ) -> None:
        self._api, self._binding, self._namespace, self._name, self._every = (
            api,
            binding,
            namespace,
            name,
            every,
        )
        self._stop = threading.Event()
        self.count = 0
        self.error: str | None = None
        self.first_at: float | None = None
        """When the first change was sent."""
        self._thread = threading.Thread(target=self._run, name=f"touch-{namespace}", daemon=True)

    def start(self) -> Toucher:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            patch = {"metadata": {"annotations": {"conformance.notifications/touched": str(self.count + 1)}}}
            sent = time.time()
            try:
                self._api.patch_namespaced_custom_object(
                    self._binding.group,
                    self._binding.version,
                    self._namespace,
                    self._binding.plural,
                    self._name,
                    patch,
                )
            except ApiException as err:
                self.error = f"HTTP {err.status} {err.reason}"
                continue
            if self.first_at is None:
                self.first_at = sent
            self.count += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
