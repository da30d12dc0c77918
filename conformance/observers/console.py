"""Console deliveries: lines of the controller's stdout that carry a scenario's token.

The suite reads the controller's stdout itself when it launched the controller,
and stamps each line with the time it arrived.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import IO


class ConsoleLog:
    """Written by the process that launched the controller, read by any test process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._handle: IO[str] | None = None

    def open(self) -> ConsoleLog:
        self._handle = self.path.open("a", buffering=1)
        return self

    def append(self, line: str) -> None:
        entry = json.dumps({"time": time.time(), "line": line})
        with self._lock:
            if self._handle is not None:
                self._handle.write(entry + "\n")

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def lines_with(self, token: str) -> list[tuple[float, str]]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        found = []
        for raw in text.splitlines():
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError:
                continue  # a line still being written
            if token in entry["line"]:
                found.append((float(entry["time"]), str(entry["line"])))
        return found
