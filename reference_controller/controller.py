"""The informer, the rate-limiting work queue and N workers around one reconciler: what
controller-runtime calls a Controller (``pkg/internal/controller``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from reference_controller.informer import Informer
from reference_controller.metrics import Metrics
from reference_controller.reconciler import Reconciler
from reference_controller.workqueue import ExponentialFailureRateLimiter, ShutDown, WorkQueue

log = logging.getLogger(__name__)


class Gate:
    """Whether workers may take work: open while this replica leads (always, without election)."""

    def __init__(self, is_open: bool) -> None:
        self._cond = threading.Condition()
        self._open = is_open
        self._closed_for_good = False

    def set(self, is_open: bool) -> None:
        with self._cond:
            self._open = is_open
            self._cond.notify_all()

    def close_for_good(self) -> None:
        with self._cond:
            self._open, self._closed_for_good = False, True
            self._cond.notify_all()

    def is_open(self) -> bool:
        with self._cond:
            return self._open

    def wait(self) -> bool:
        """Block until open (True) or closed for good (False)."""
        with self._cond:
            self._cond.wait_for(lambda: self._open or self._closed_for_good)
            return self._open


class Controller:
    """Calls ``reconciler.reconcile`` for every key the informers (one per watched namespace, or one
    for all) report, never twice at once for
    one key; a failed reconcile is retried with the queue's per-key backoff."""

    def __init__(
        self,
        reconciler: Reconciler,
        informer_factory: type[Informer],
        workers: int,
        namespaces: Sequence[str] = (),
        gate: Gate | None = None,
        rate_limiter: ExponentialFailureRateLimiter | None = None,
    ) -> None:
        self.queue = WorkQueue(rate_limiter)
        self.reconciler = reconciler
        self.metrics: Metrics = reconciler.metrics
        self.metrics.watch_queue(lambda: len(self.queue), self.queue.pending_delays)
        self.gate = gate or Gate(True)
        store = reconciler.cache.store
        self.informers: list[Informer] = [
            informer_factory(reconciler.api, self.queue.add, namespace, store)
            for namespace in ([*namespaces] if namespaces else [None])
        ]
        self.workers = [
            threading.Thread(target=self._work, name=f"worker-{i}", daemon=True) for i in range(workers)
        ]

    def start(self) -> None:
        for informer in self.informers:
            informer.start()
        for worker in self.workers:
            worker.start()

    def ready(self) -> bool:
        return all(informer.synced.is_set() for informer in self.informers)

    def stop(self, grace: float = 10.0) -> bool:
        """Stop taking work; let in-flight rounds finish so their status is written.

        True when every worker finished within ``grace`` seconds."""
        self.gate.close_for_good()
        self.queue.shutdown()
        deadline = time.monotonic() + grace
        for worker in self.workers:
            worker.join(max(deadline - time.monotonic(), 0))
        for informer in self.informers:
            informer.stop()
        return not any(worker.is_alive() for worker in self.workers)

    def _work(self) -> None:
        while self.gate.wait():
            try:
                key = self.queue.get()
            except ShutDown:
                return
            if not self.gate.is_open():  # leadership was lost while this worker waited for a key
                self.queue.done(key)
                self.queue.add(key)
                continue
            try:
                self._reconcile_handler(key)
            finally:
                self.queue.done(key)

    def _reconcile_handler(self, key: str) -> None:
        """As controller-runtime's reconcileHandler: an error re-adds the key rate-limited; success
        forgets its failures and re-adds it only when the reconciler asked for a time."""
        started = time.monotonic()
        try:
            requeue = self.reconciler.reconcile(key)
        except Exception:
            self.metrics.reconcile.labels("error").observe(time.monotonic() - started)
            log.exception(
                "reconcile failed; retrying",
                extra={"notification": key, "failures": self.queue.num_requeues(key) + 1},
            )
            self.queue.add_rate_limited(key)
            return
        seconds = time.monotonic() - started
        self.metrics.reconcile.labels("success").observe(seconds)
        log.debug("reconciled", extra={"notification": key, "seconds": round(seconds, 4)})
        self.queue.forget(key)
        if requeue is not None:
            self.queue.add_after(key, requeue)
