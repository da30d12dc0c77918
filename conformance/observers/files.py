"""Sees files appear in a file channel's directory, each write once."""

from __future__ import annotations

import os
import threading
from pathlib import Path

POLL_SECONDS = 0.05


class FileObserver:
    """Polls one directory (every 50 ms) for new or replaced files and notes their mtime."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.seen: dict[tuple[str, int, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"files-{directory.name}", daemon=True)

    def start(self) -> FileObserver:
        self._thread.start()
        return self

    def _scan(self) -> None:
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                continue
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            self.seen.setdefault((entry.name, stat.st_ino, stat.st_mtime_ns), stat.st_mtime_ns / 1e9)

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self._scan()

    def stop(self) -> list[float]:
        """Stop, scan a last time, and return the time of every write seen."""
        self._stop.set()
        self._thread.join(2)
        self._scan()
        return sorted(self.seen.values())
