"""Console deliveries: the lines of the controller's stdout that hold a notification's
subject and its body (docs/specification.md, "Console delivery lines"). Other lines, such as
plain-text logs that name the subject, are allowed and not counted.

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

    def lines(self) -> list[tuple[float, str]]:
        """Every stdout line so far, with the time it arrived."""
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
            found.append((float(entry["time"]), str(entry["line"])))
        return found

    def lines_with(self, token: str) -> list[tuple[float, str]]:
        return [(at, line) for at, line in self.lines() if token in line]

    def deliveries(self, subject: str, body: str) -> list[tuple[float, str]]:
        """The console delivery lines of the notification with this subject and body."""
        return [(at, line) for at, line in self.lines() if is_delivery(line, subject, body)]


def is_delivery(line: str, subject: str, body: str) -> bool:
    """A line holds a text when it holds it as written or as a JSON string's content."""
    return all(text in line or _escaped(text) in line for text in (subject, body))


def _escaped(text: str) -> str:
    return json.dumps(text)[1:-1]
