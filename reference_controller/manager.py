"""Wires the informer, the work queue and N workers together, like controller-runtime's manager."""

from __future__ import annotations

import logging
import threading
import time

from reference_controller.informer import Informer
from reference_controller.reconciler import Reconciler
from reference_controller.workqueue import ShutDown, WorkQueue

log = logging.getLogger(__name__)

ERROR_BACKOFF_INITIAL = 0.5
ERROR_BACKOFF_MAX = 30.0


class Manager:
    def __init__(
        self,
        reconciler: Reconciler,
        informer_factory: type[Informer],
        workers: int,
        namespace: str | None = None,
    ) -> None:
        self.queue = WorkQueue()
        self.reconciler = reconciler
        self.informer = informer_factory(reconciler.api, self.queue.add, namespace)
        self.workers = [
            threading.Thread(target=self._work, name=f"worker-{i}", daemon=True) for i in range(workers)
        ]
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self.informer.start()
        for worker in self.workers:
            worker.start()

    def stop(self, grace: float = 10.0) -> None:
        """Stop taking work; let in-flight rounds finish so their status is written."""
        self.queue.shutdown()
        self.informer.stop()
        deadline = time.monotonic() + grace
        for worker in self.workers:
            worker.join(max(deadline - time.monotonic(), 0))

    def _work(self) -> None:
        while True:
            try:
                key = self.queue.get()
            except ShutDown:
                return
            try:
                started = time.monotonic()
                requeue = self.reconciler.reconcile(key)
                log.debug(
                    "reconciled", extra={"notification": key, "seconds": round(time.monotonic() - started, 4)}
                )
                with self._lock:
                    self._failures.pop(key, None)
                if requeue is None:
                    self.queue.forget(key)
                else:
                    self.queue.add_after(key, requeue)
            except Exception:
                with self._lock:
                    failures = self._failures[key] = self._failures.get(key, 0) + 1
                delay = min(ERROR_BACKOFF_INITIAL * 2 ** (failures - 1), ERROR_BACKOFF_MAX)
                log.exception("reconcile failed; retrying", extra={"notification": key, "retry_in": delay})
                self.queue.add_after(key, delay)
            finally:
                self.queue.done(key)
