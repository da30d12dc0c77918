"""Broadcast keys waiting to be reconciled, each at its own time.

A key is waiting at most once (the earliest time asked for wins) and is held by
at most one worker: added again while held, it waits until it is released, so
two reconciles of one Broadcast never overlap.
"""

from __future__ import annotations

import threading
import time


class WorkQueue:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting: dict[str, float] = {}
        """Key -> monotonic time it is due."""
        self._held: set[str] = set()
        self._closed = False

    def add(self, key: str, after: float = 0.0) -> None:
        at = time.monotonic() + max(after, 0.0)
        with self._changed:
            if key in self._waiting and self._waiting[key] <= at:
                return
            self._waiting[key] = at
            self._changed.notify_all()

    def take(self) -> str | None:
        """The due key that no worker holds, waiting for one; None once closed."""
        with self._changed:
            while not self._closed:
                free = [(at, key) for key, at in self._waiting.items() if key not in self._held]
                if not free:
                    self._changed.wait()
                    continue
                at, key = min(free)
                wait = at - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                del self._waiting[key]
                self._held.add(key)
                return key
            return None

    def release(self, key: str) -> None:
        with self._changed:
            self._held.discard(key)
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
