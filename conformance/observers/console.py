"""Console deliveries: lines of the controller's stdout that carry a scenario's token.

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


class ConsoleObserver:
    """The ``Observer`` of a scenario's console channels: the lines of the controller's
    stdout that carry the scenario's ``[namespace]`` token (the binding puts it in the
    subject). Without the controller's stdout (an external controller) it sees nothing."""

    def __init__(self, log: ConsoleLog | None, namespace: str) -> None:
        self._log = log
        self._token = f"[{namespace}]"
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
            lines = self._log.lines_with(self._token) if self._log is not None and self._channels else []
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
