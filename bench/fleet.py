"""Many notifications in one namespace: created in parallel, watched with one watch,
and their deliveries counted where they landed (sink, files, console)."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.watch.watch import iter_resp_lines

from conformance.binding.binding import SUITE_PHASES, Binding

WATCH_SECONDS = 900


@dataclass
class ObjectHistory:
    """Every version of one notification the watch delivered, stamped on arrival."""

    writes: list[tuple[float, str | None]] = field(default_factory=list)
    terminal_at: float | None = None


class NamespaceWatch:
    """One watch over a namespace, started before anything is created in it."""

    def __init__(self, api: client.CustomObjectsApi, binding: Binding, namespace: str) -> None:
        self._api, self._binding, self._namespace = api, binding, namespace
        self._cond = threading.Condition()
        self._stopped = False
        self._response: Any = None
        self._error: BaseException | None = None
        self.objects: dict[str, ObjectHistory] = {}
        self._thread = threading.Thread(target=self._run, name=f"watch-{namespace}", daemon=True)

    def _open(self, version: str) -> Any:
        b = self._binding
        return self._api.list_namespaced_custom_object(
            b.group,
            b.version,
            self._namespace,
            b.plural,
            watch=True,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            _preload_content=False,
        )

    def start(self) -> NamespaceWatch:
        b = self._binding
        listing: Any = self._api.list_namespaced_custom_object(b.group, b.version, self._namespace, b.plural)
        self._version = str(listing["metadata"]["resourceVersion"])
        self._response = self._open(self._version)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stopped:
                for line in iter_resp_lines(self._response):
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        raise RuntimeError(f"watch of {self._namespace} failed: {obj.get('message')}")
                    self._version = obj["metadata"]["resourceVersion"]
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._record(obj)
                if not self._stopped:
                    self._response = self._open(self._version)
        except BaseException as err:
            if not self._stopped:
                self._error = err
        finally:
            with self._cond:
                self._stopped = True
                self._cond.notify_all()

    def _record(self, obj: dict[str, Any]) -> None:
        received = time.time()
        phase = self._binding.phase(obj)
        with self._cond:
            history = self.objects.setdefault(obj["metadata"]["name"], ObjectHistory())
            history.writes.append((received, phase))
            if history.terminal_at is None and phase in SUITE_PHASES:
                history.terminal_at = received
            self._cond.notify_all()

    def terminal(self) -> int:
        return sum(h.terminal_at is not None for h in self.objects.values())

    def wait_terminal(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` objects have reached a terminal phase."""
        with self._cond:
            done = self._cond.wait_for(lambda: self._stopped or self.terminal() >= count, timeout)
            if self._error is not None:
                raise self._error
            return bool(done) and self.terminal() >= count

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
        response = self._response
        if response is not None:
            if hasattr(response, "shutdown"):
                response.shutdown()
            else:
                response.close()
        self._thread.join(5)


def create_all(
    api: client.CustomObjectsApi,
    binding: Binding,
    namespace: str,
    manifests: list[dict[str, Any]],
    threads: int,
) -> float:
    """Create every manifest, ``threads`` at a time; returns when the last one was accepted."""

    def create(manifest: dict[str, Any]) -> None:
        api.create_namespaced_custom_object(
            binding.group, binding.version, namespace, binding.plural, manifest
        )

    with ThreadPoolExecutor(threads, thread_name_prefix="create") as pool:
        list(pool.map(create, manifests))
    return time.time()


def files_in(directory: Path) -> int:
    return sum(1 for path in directory.iterdir() if not path.name.startswith("."))
