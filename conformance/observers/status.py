"""Records every version of one object as the API server's watch delivers it.

The run's clock: it waits on this watch for attempts and for the terminal phase."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import urllib3
import yaml
from kubernetes import client
from kubernetes.watch.watch import iter_resp_lines

from conformance.binding.binding import SUITE_PHASES, Binding
from conformance.observers.observation import StatusWrite
from conformance.observers.observer import Coverage, Seen
from conformance.scenarios.model import ChannelSpec

WATCH_SECONDS = 300


class StatusRecorder:
    """Watch one object from before it exists; every write is timestamped on arrival.

    An ``Observer`` that needs nothing of a channel and sees none from outside: what it
    sees is the controller's own record, which the checks hold against the other observers.
    """

    def __init__(self, api: client.CustomObjectsApi, binding: Binding, namespace: str, name: str) -> None:
        self._api = api
        self._binding = binding
        self._namespace = namespace
        self._name = name
        self._cond = threading.Condition()
        self._stopped = False
        self._response: Any = None
        self._error: BaseException | None = None
        self.writes: list[StatusWrite] = []
        self.latest: dict[str, Any] | None = None
        self.terminal_at: float | None = None
        self._seen: Seen | None = None
        self._thread = threading.Thread(target=self._run, name=f"watch-{namespace}", daemon=True)

    def _open(self, resource_version: str) -> Any:
        return self._api.list_namespaced_custom_object(
            self._binding.group,
            self._binding.version,
            self._namespace,
            self._binding.plural,
            field_selector=f"metadata.name={self._name}",
            watch=True,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            _preload_content=False,
        )

    def provision(self, channel: ChannelSpec) -> dict[str, Any]:
        """The watch is of the object, so a channel needs nothing of it."""
        return {}

    def covers(self) -> dict[str, Coverage]:
        return {}

    def start(self) -> None:
        """Return once the watch is established, so no write can be missed."""
        listing: Any = self._api.list_namespaced_custom_object(
            self._binding.group,
            self._binding.version,
            self._namespace,
            self._binding.plural,
            field_selector=f"metadata.name={self._name}",
        )
        self._version = str(listing["metadata"]["resourceVersion"])
        self._response = self._open(self._version)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopped:
                self._version = self._consume(self._response) or self._version
                if self._stopped:
                    break
                self._response = self._open(self._version)
        except BaseException as err:  # reported to the test thread by wait_terminal()
            if not self._stopped:
                self._error = err
        finally:
            with self._cond:
                self._stopped = True
                self._cond.notify_all()

    def _consume(self, response: Any) -> str:
        version = ""
        for event in _events(response):
            obj = event["object"]
            if event["type"] == "ERROR":
                raise RuntimeError(f"watch of {self._namespace}/{self._name} failed: {obj.get('message')}")
            version = obj["metadata"]["resourceVersion"]
            if event["type"] in ("ADDED", "MODIFIED"):
                self._record(obj)
        return version

    def _record(self, obj: dict[str, Any]) -> None:
        received = time.time()
        self._binding.check(obj)
        phase = self._binding.phase(obj)
        attempts = frozenset((a.channel, a.number) for a in self._binding.attempts(obj))
        with self._cond:
            self.writes.append(StatusWrite(received, obj["metadata"]["resourceVersion"], phase, attempts))
            self.latest = obj
            if self.terminal_at is None and phase in SUITE_PHASES:
                self.terminal_at = received
            self._cond.notify_all()

    def _raise_error(self) -> None:
        """A watch that died (or a write the binding could not read) must not pass as quiet."""
        if self._error is not None:
            raise self._error

    def wait_terminal(self, until: float) -> float | None:
        """The arrival time of the first terminal write, or None if none came by ``until``."""
        with self._cond:
            self._cond.wait_for(lambda: self.terminal_at is not None or self._stopped, until - time.time())
            self._raise_error()
            return self.terminal_at

    def wait_for_attempt(self, key: tuple[str, int], until: float) -> bool:
        """Wait until a write records attempt ``key`` = (channel, number), at the latest ``until``."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._stopped or any(key in w.attempts for w in self.writes), until - time.time()
            )
            self._raise_error()
            return any(key in w.attempts for w in self.writes)

    def hold(self, until: float) -> None:
        """Keep recording until the wall-clock time ``until`` (a "consistently" window)."""
        with self._cond:
            while not self._stopped and (remaining := until - time.time()) > 0:
                self._cond.wait(remaining)
            self._raise_error()

    def stop(self) -> Seen:
        if self._seen is not None:
            return self._seen
        with self._cond:
            self._stopped = True
        response = self._response
        if response is not None:
            # shutdown() (urllib3 >= 2.3) also unblocks a read in progress; close() may wait for it
            try:
                response.shutdown()
            except (AttributeError, RuntimeError, ValueError):
                # urllib3 < 2.3, or a watch that already ended (and released its connection)
                response.close()
            response.release_conn()
        if self._thread.ident is not None:
            self._thread.join(5)
        with self._cond:
            self._seen = Seen(writes=tuple(self.writes))
        return self._seen

    def diagnostics(self) -> dict[str, str]:
        return {"object": yaml.safe_dump(self.latest or {}, sort_keys=False)}

    def release(self, keep: bool) -> None:
        """The watch made nothing to undo; the run deletes the object."""


def _events(response: urllib3.BaseHTTPResponse) -> Iterator[dict[str, Any]]:
    for line in iter_resp_lines(response):
        if line.strip():
            yield json.loads(line)
