"""Sees deliveries land in a writable file channel's directory: one per file under its final name.

The kernel reports every file event in the directory (inotify, through ``inotify_simple``), so
nothing falls between two polls, and a temporary file renamed into place is one delivery whatever
it is called (see ``landings``). Events are read on a thread of their own, but a landing is dated
by the kernel: the file's change time (a rename sets it) or modification time, whichever the
event was, and never later than the moment the event was read.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from inotify_simple import INotify, flags

from conformance.observers.landings import (
    CLOSED,
    CLOSED_UNWRITTEN,
    MOVED_IN,
    MOVED_OUT,
    OPENED,
    REMOVED,
    Landings,
)

READ_TIMEOUT_MS = 50
"""How long one read waits for events, so that ``stop`` is noticed."""

_EVENTS = (
    (flags.OPEN, OPENED),
    (flags.CLOSE_WRITE, CLOSED),
    (flags.CLOSE_NOWRITE, CLOSED_UNWRITTEN),
    (flags.MOVED_TO, MOVED_IN),
    (flags.MOVED_FROM, MOVED_OUT),
    (flags.DELETE, REMOVED),
)
_MASK = 0
for _flag, _ in _EVENTS:
    _MASK |= _flag


class FileObserver:
    """Watches one directory from ``start`` to ``stop`` for files landing under their final names."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.landings = Landings()
        self._inotify = INotify()
        self._inotify.add_watch(directory, _MASK)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"files-{directory.name}", daemon=True)

    def start(self) -> FileObserver:
        self._thread.start()
        return self

    def _landed(self, name: str, event: str, read_at: float) -> float:
        """When a file arrived: its kernel time, unless a later file already took its name."""
        try:
            stat = os.lstat(self.directory / name)
        except OSError:
            return read_at
        kernel = stat.st_ctime_ns if event == MOVED_IN else stat.st_mtime_ns
        return min(kernel / 1e9, read_at)

    def _drain(self, timeout: int) -> None:
        events = self._inotify.read(timeout=timeout)
        read_at = time.time()
        with self._lock:
            for event in events:
                if not event.name:
                    continue  # the directory itself
                for flag, kind in _EVENTS:
                    if event.mask & flag:
                        at = (
                            self._landed(event.name, kind, read_at) if kind in (CLOSED, MOVED_IN) else read_at
                        )
                        self.landings.feed(kind, event.name, at)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._drain(READ_TIMEOUT_MS)

    def stop(self) -> list[float]:
        """Stop, take the events still queued, and return when each delivery landed."""
        if not self._stop.is_set():
            self._stop.set()
            if self._thread.is_alive():
                self._thread.join(2)
            self._drain(0)
            self._inotify.close()
        with self._lock:
            return self.landings.times()
