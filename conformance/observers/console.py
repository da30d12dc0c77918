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
from typing import IO, Any

from conformance.observers.observation import CONSOLE, ExternalEvent
from conformance.observers.observer import Coverage, Seen
from conformance.scenarios.model import ChannelSpec

TYPE = "console"
POLL = 0.05
"""Seconds between reads of the log by a process that does not write it."""


class ConsoleLog:
    """Written by the process that launched the controller, read by any test process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Condition()
        self._handle: IO[str] | None = None

    def open(self) -> ConsoleLog:
        self._handle = self.path.open("a", buffering=1)
        return self

    def append(self, line: str) -> None:
        entry = json.dumps({"time": time.time(), "line": line})
        with self._lock:
            if self._handle is not None:
                self._handle.write(entry + "\n")
            self._lock.notify_all()

    def arrival(self, text: str, timeout: float) -> float | None:
        """When the first line holding ``text`` arrived, waiting at most ``timeout`` seconds. The
        process that writes the log is woken by each line; any other reads it again every POLL."""
        deadline = time.monotonic() + timeout
        offset = 0
        with self._lock:
            while True:
                found, offset = self._first_from(offset, text)
                remaining = deadline - time.monotonic()
                if found is not None or remaining <= 0:
                    return found
                self._lock.wait(min(remaining, POLL))

    def _first_from(self, offset: int, text: str) -> tuple[float | None, int]:
        """When the first line from byte ``offset`` on that holds ``text`` arrived, and the offset
        after the complete lines read: each wait reads only what is new."""
        entries, offset = self._read_from(offset)
        return next((at for at, line in entries if text in line), None), offset

    def _read_from(self, offset: int) -> tuple[list[tuple[float, str]], int]:
        """The complete lines from byte ``offset`` on, with the times they arrived, and the offset
        after them; a line still being written waits for the next read."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
        except FileNotFoundError:
            return [], offset
        complete = chunk[: chunk.rfind(b"\n") + 1]
        entries = [json.loads(raw) for raw in complete.decode(errors="replace").splitlines()]
        return [(float(e["time"]), str(e["line"])) for e in entries], offset + len(complete)

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def lines(self) -> list[tuple[float, str]]:
        """Every stdout line so far, with the time it arrived."""
        return self._read_from(0)[0]

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


class ConsoleObserver:
    """The ``Observer`` of a scenario's console channels: the console delivery lines of the
    scenario's notification, those that hold its subject and body. Without the controller's
    stdout (an external controller) it sees nothing."""

    def __init__(self, log: ConsoleLog | None, subject: str, body: str) -> None:
        self._log = log
        self._notification = (subject, body)
        self._channels: list[str] = []
        self._seen: Seen | None = None

    def provision(self, channel: ChannelSpec) -> dict[str, Any]:
        if channel.type == TYPE and self._log is not None:
            self._channels.append(channel.name)
        return {}

    def start(self) -> None:
        """The process that launched the controller logs its stdout all along."""

    def stop(self) -> Seen:
        if self._seen is None:
            log = self._log if self._channels else None
            lines = log.deliveries(*self._notification) if log is not None else []
            self._seen = Seen(
                events=tuple(
                    ExternalEvent(name, t, CONSOLE, True, "console line")
                    for name in self._channels
                    for t, _ in lines
                )
            )
        return self._seen

    def covers(self) -> dict[str, Coverage]:
        return dict.fromkeys(self._channels, Coverage.SUCCESSES)

    def diagnostics(self) -> dict[str, str]:
        return {}

    def release(self, keep: bool) -> None:
        """The log belongs to the run; nothing of the scenario's to undo."""
