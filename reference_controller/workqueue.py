"""A rate-limiting work queue, after client-go's ``util/workqueue``.

A key is in the queue at most once, is handed to one worker at a time, and a key
added while it is being processed is queued again when that worker calls ``done``.
``add_after`` re-adds a key later (an earlier pending delay wins). The per-key
error backoff lives here too, as in client-go: ``add_rate_limited`` re-adds a key
after a delay that doubles with every failure, ``num_requeues`` says how many
failures it counts, and ``forget`` clears that count once the key succeeded.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque


class ShutDown(Exception):
    """The queue is shutting down; the worker should exit."""


class ExponentialFailureRateLimiter:
    """``base * 2**failures`` per key, capped at ``cap`` (client-go's ItemExponentialFailureRateLimiter)."""

    def __init__(self, base: float = 0.5, cap: float = 30.0) -> None:
        self.base, self.cap = base, cap
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def when(self, key: str) -> float:
        """The delay before the next try of ``key``; counts one more failure."""
        with self._lock:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
        return float(min(self.base * 2**failures, self.cap))

    def num_requeues(self, key: str) -> int:
        with self._lock:
            return self._failures.get(key, 0)

    def forget(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class WorkQueue:
    def __init__(self, rate_limiter: ExponentialFailureRateLimiter | None = None) -> None:
        self.rate_limiter = rate_limiter or ExponentialFailureRateLimiter()
        self._cond = threading.Condition()
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._waiting: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._shutting_down = False
        self._timer = threading.Thread(target=self._release_due, name="workqueue-delays", daemon=True)
        self._timer.start()

    def add(self, key: str) -> None:
        with self._cond:
            self._add_locked(key)

    def _add_locked(self, key: str) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._cond.notify_all()

    def add_after(self, key: str, delay: float) -> None:
        """Add ``key`` after ``delay`` seconds; an earlier pending delay for it wins."""
        if delay <= 0:
            self.add(key)
            return
        ready = time.monotonic() + delay
        with self._cond:
            if self._shutting_down:
                return
            current = self._waiting.get(key)
            if current is not None and current <= ready:
                return
            self._waiting[key] = ready
            heapq.heappush(self._heap, (ready, key))
            self._cond.notify_all()

    def add_rate_limited(self, key: str) -> None:
        """Add ``key`` after its rate limiter's delay: the next step of its error backoff."""
        self.add_after(key, self.rate_limiter.when(key))

    def num_requeues(self, key: str) -> int:
        """Failures counted for ``key`` since it was last forgotten."""
        return self.rate_limiter.num_requeues(key)

    def forget(self, key: str) -> None:
        """``key`` is done being retried: its next failure starts the backoff afresh.

        A delayed add still pending for it stays, as in client-go; ``done`` ends processing."""
        self.rate_limiter.forget(key)

    def _release_due(self) -> None:
        with self._cond:
            while not self._shutting_down:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    ready, key = heapq.heappop(self._heap)
                    if self._waiting.get(key) == ready:
                        del self._waiting[key]
                        self._add_locked(key)
                timeout = self._heap[0][0] - now if self._heap else None
                self._cond.wait(timeout)

    def get(self) -> str:
        with self._cond:
            while not self._queue and not self._shutting_down:
                self._cond.wait()
            if self._shutting_down:
                raise ShutDown
            key = self._queue.popleft()
            self._processing.add(key)
            self._dirty.discard(key)
            return key

    def done(self, key: str) -> None:
        """The worker finished ``key``; if it was added meanwhile, queue it again."""
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._cond.notify_all()

    def shutdown(self) -> None:
        with self._cond:
            self._shutting_down = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def pending_delays(self) -> int:
        with self._cond:
            return len(self._waiting)
