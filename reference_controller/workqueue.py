"""A de-duplicating work queue with delayed re-adds, after client-go's workqueue.

A key is in the queue at most once, is handed to one worker at a time, and a key
added while it is being processed is queued again when that worker is done.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque


class ShutDown(Exception):
    """The queue is shutting down; the worker should exit."""


class WorkQueue:
    def __init__(self) -> None:
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
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._cond.notify_all()

    def forget(self, key: str) -> None:
        """Drop any delayed re-add of ``key`` (its object is gone)."""
        with self._cond:
            self._waiting.pop(key, None)

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
