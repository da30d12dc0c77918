"""The run's control endpoint, served by the process that set the run up.

Test processes use it for what only that process can do: restart the controller
it launched, and keep disruptive tests apart from all others. Every test holds
a shared lease while it runs; a disruptive test holds an exclusive one, so it
runs alone and cannot disturb the timing of other scenarios.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from conformance.observers.sink.jsonhttp import BackgroundServer, JsonHandler


class ControlError(RuntimeError):
    pass


class Leases:
    """A writer-preferring readers-writer lock: an exclusive request stops new shared leases."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._exclusive_waiting = 0

    def acquire(self, exclusive: bool, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            if exclusive:
                self._exclusive_waiting += 1
                try:
                    granted = self._cond.wait_for(
                        lambda: not self._exclusive and self._shared == 0, max(deadline - time.monotonic(), 0)
                    )
                finally:
                    self._exclusive_waiting -= 1
                    self._cond.notify_all()
                if granted:
                    self._exclusive = True
                return granted
            granted = self._cond.wait_for(
                lambda: not self._exclusive and self._exclusive_waiting == 0,
                max(deadline - time.monotonic(), 0),
            )
            if granted:
                self._shared += 1
            return granted

    def release(self, exclusive: bool) -> None:
        with self._cond:
            if exclusive:
                self._exclusive = False
            else:
                self._shared -= 1
            self._cond.notify_all()


class _Handler(JsonHandler):
    def do_POST(self) -> None:
        request = json.loads(self.body() or b"{}")
        control: RunControl = self.context
        if self.path in ("/leases/acquire", "/leases/release"):
            exclusive = bool(request.get("exclusive"))
            if self.path.endswith("release"):
                control.leases.release(exclusive)
                self.reply(200, {})
            elif control.leases.acquire(exclusive, float(request.get("timeout", 60))):
                self.reply(200, {})
            else:
                self.reply(408, {"error": "lease not granted in time"})
        elif self.path == "/controller/restart":
            if control.restart is None:
                self.reply(409, {"error": "the suite did not launch the controller, so it cannot restart it"})
            else:
                try:
                    self.reply(200, {"pid": control.restart()})
                except Exception as err:  # told to the test that asked, as its failure
                    self.reply(500, {"error": str(err)})
        else:
            self.reply(404, {"error": f"no such endpoint {self.path}"})

    def do_GET(self) -> None:
        if self.path == "/controller":
            self.reply(200, {"alive": self.context.alive()})
        else:
            self.reply(404, {"error": f"no such endpoint {self.path}"})


class RunControl:
    def __init__(self, restart: Callable[[], int] | None, alive: Callable[[], bool]) -> None:
        self.leases = Leases()
        self.restart = restart
        self.alive = alive
        self._server = BackgroundServer(_Handler, self, "run-control")

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> RunControl:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


class ControlClient:
    def __init__(self, url: str) -> None:
        self.url = url

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 30) -> Any:
        data = json.dumps(body or {}).encode() if method == "POST" else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            raise ControlError(json.loads(err.read()).get("error", str(err))) from err

    @contextmanager
    def lease(self, exclusive: bool, timeout: float) -> Iterator[None]:
        self._call("POST", "/leases/acquire", {"exclusive": exclusive, "timeout": timeout}, timeout + 10)
        try:
            yield
        finally:
            self._call("POST", "/leases/release", {"exclusive": exclusive})

    def restart_controller(self) -> int:
        return int(self._call("POST", "/controller/restart")["pid"])

    def controller_alive(self) -> bool:
        return bool(self._call("GET", "/controller")["alive"])
