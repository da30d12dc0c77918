"""A queue of alert keys, each due at a time: one entry per key, never handed to two workers."""

from __future__ import annotations

import heapq
import threading
import time


class TimedQueue:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}
        self._active: set[str] = set()
        self._closed = False

    def add(self, key: str, delay: float = 0.0) -> None:
        """Due after ``delay`` seconds, unless it is already due sooner."""
        at = time.monotonic() + max(delay, 0.0)
        with self._cond:
            if key in self._due and self._due[key] <= at:
                return
            self._due[key] = at
            heapq.heappush(self._heap, (at, key))
            self._cond.notify()

    def get(self) -> str | None:
        """The next due key that no worker holds; None once closed."""
        with self._cond:
            while not self._closed:
                wait = None
                while self._heap:
                    at, key = self._heap[0]
                    if self._due.get(key) != at or key in self._active:
                        heapq.heappop(self._heap)  # superseded, or put back by done()
                        continue
                    wait = at - time.monotonic()
                    if wait <= 0:
                        heapq.heappop(self._heap)
                        del self._due[key]
                        self._active.add(key)
                        return key
                    break
                self._cond.wait(wait)
            return None

    def done(self, key: str) -> None:
        with self._cond:
            self._active.discard(key)
            if key in self._due:
                heapq.heappush(self._heap, (self._due[key], key))
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
