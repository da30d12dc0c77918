"""The run's control endpoint, served by the process that set the run up.

Scenarios run in that process (``conformance.run.pool``); a pytest-xdist worker's test
asks it for its scenario's outcome here, and waits for the answer.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from conformance.observers.sink.jsonhttp import BackgroundServer, JsonHandler

Outcomes = Callable[[str, float], dict[str, Any]]
"""A scenario's outcome as JSON, by name, waiting at most the given seconds (TimeoutError)."""


class ControlError(RuntimeError):
    pass


class _Handler(JsonHandler):
    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        control: RunControl = self.context
        name = urllib.parse.unquote(url.path.removeprefix("/scenarios/"))
        if not url.path.startswith("/scenarios/") or control.outcomes is None:
            self.reply(404, {"error": f"no such endpoint {url.path}"})
            return
        timeout = float(urllib.parse.parse_qs(url.query).get("timeout", ["60"])[0])
        try:
            self.reply(200, control.outcomes(name, timeout))
        except KeyError:
            self.reply(404, {"error": f"the run did not start scenario {name!r}"})
        except TimeoutError:
            self.reply(408, {"error": f"scenario {name!r} did not end within {timeout:.0f}s"})


class RunControl:
    """``restart``: how the run restarts a controller the suite did not launch, if it can."""

    def __init__(self, restart: Callable[[], int] | None) -> None:
        self.restart = restart
        self.outcomes: Outcomes | None = None
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

    def outcome(self, name: str, timeout: float) -> dict[str, Any]:
        path = f"/scenarios/{urllib.parse.quote(name)}?timeout={timeout:.0f}"
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout + 30) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as err:
            raise ControlError(json.loads(err.read()).get("error", str(err))) from err
