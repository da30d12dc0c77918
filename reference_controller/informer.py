"""List, then watch with bookmarks; relist on 410 Gone; reconnect when the API server goes away.

Every object seen is kept in a ``Store`` before anyone is told about it, so a reconcile
reads the version that woke it, or a newer one, without asking the API server.

The official client's ``watch.Watch`` does not track resourceVersion from bookmark
events and gives up after one 410, so the stream is read here directly.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from reference_controller.api import GROUP, PLURAL, VERSION, key_of
from reference_controller.cache import Store

log = logging.getLogger(__name__)

WATCH_SECONDS = 240
RECONNECT_DELAY = 1.0


class Expired(Exception):
    """The watch's resourceVersion is too old (410 Gone): relist."""


class Informer:
    """Keeps ``store`` up to date and tells ``on_change`` about every object that was added,
    changed or deleted."""

    def __init__(
        self,
        api: client.CustomObjectsApi,
        on_change: Callable[[str], None],
        namespace: str | None = None,
        store: Store | None = None,
    ) -> None:
        self._api = api
        self._on_change = on_change
        self._namespace = namespace
        self.store = store or Store()
        self._stop = threading.Event()
        self.synced = threading.Event()
        self._response: urllib3.BaseHTTPResponse | None = None
        self._thread = threading.Thread(target=self._run, name=f"informer-{namespace or 'all'}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            response.shutdown()  # unblocks the read in progress, unlike release_conn()
        self._thread.join(5)

    def _call(self, **kwargs: Any) -> Any:
        if self._namespace:
            return self._api.list_namespaced_custom_object(GROUP, VERSION, self._namespace, PLURAL, **kwargs)
        return self._api.list_cluster_custom_object(GROUP, VERSION, PLURAL, **kwargs)

    def _run(self) -> None:
        resource_version: str | None = None
        while not self._stop.is_set():
            try:
                if resource_version is None:
                    resource_version = self._relist()
                resource_version = self._watch(resource_version)
            except Expired:
                log.info("watch expired; relisting")
                resource_version = None
            except (ApiException, urllib3.exceptions.HTTPError, OSError, ValueError) as err:
                if self._stop.is_set():
                    return
                log.warning("watch interrupted, reconnecting: %s", err)
                self._stop.wait(RECONNECT_DELAY)

    def _relist(self) -> str:
        listing = self._call()
        known = self.store.versions(self._namespace)
        current = {key_of(obj): obj for obj in listing["items"]}
        self.store.replace(current, self._namespace)
        for key in set(known) - set(current):
            self._on_change(key)
        for key, obj in current.items():
            if known.get(key) != obj["metadata"]["resourceVersion"]:
                self._on_change(key)
        self.synced.set()
        return str(listing["metadata"]["resourceVersion"])

    def _watch(self, resource_version: str) -> str:
        response = self._call(
            watch=True,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            _preload_content=False,
        )
        self._response = response
        try:
            for event in _events(response):
                kind, obj = event["type"], event["object"]
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise Expired
                    raise ValueError(f"watch error: {obj.get('message')}")
                resource_version = obj["metadata"]["resourceVersion"]
                if kind == "BOOKMARK":
                    continue
                key = key_of(obj)
                if kind == "DELETED":
                    self.store.delete(key)
                else:
                    self.store.update(key, obj)
                self._on_change(key)
        finally:
            self._response = None
            response.close()  # never hand a half-read stream back to the pool
            response.release_conn()
        return resource_version


def _events(response: urllib3.BaseHTTPResponse) -> Iterator[dict[str, Any]]:
    for line in iter_resp_lines(response):
        if line.strip():
            yield json.loads(line)
