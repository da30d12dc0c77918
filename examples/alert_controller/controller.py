"""Watch Alerts, and for each one due: send every due receiver, then write status once.

One reconcile reads the Alert, derives from its status which receivers are due
(``schedule``), sends those concurrently, and records the round's tries in one
status write conditional on the version it read. A conflict means re-reading and
writing the same tries again; it never means sending again.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from examples.alert_controller import api, schedule
from examples.alert_controller.queue import TimedQueue
from examples.alert_controller.receivers import SendError, send

log = logging.getLogger(__name__)

WATCH_SECONDS = 60
RETRY_ON_ERROR = 2.0
MAX_MESSAGE = 1024


class AlertController:
    def __init__(self, custom: client.CustomObjectsApi, namespace: str | None, workers: int) -> None:
        self.custom = custom
        self.namespace = namespace
        self.queue = TimedQueue()
        self.senders = ThreadPoolExecutor(32, thread_name_prefix="send")
        self.starts: dict[tuple[str, str, int], float] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._watch, name="watch", daemon=True)]
        self._threads += [
            threading.Thread(target=self._work, name=f"worker-{n}", daemon=True) for n in range(workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.queue.close()
        for thread in self._threads[1:]:
            thread.join(5)

    # -- watching ---------------------------------------------------------------------------

    def _list(self, **kwargs: Any) -> Any:
        if self.namespace:
            return self.custom.list_namespaced_custom_object(
                api.GROUP, api.VERSION, self.namespace, api.PLURAL, **kwargs
            )
        return self.custom.list_cluster_custom_object(api.GROUP, api.VERSION, api.PLURAL, **kwargs)

    def _watch(self) -> None:
        """List, then watch from the listed version; start over on any error (410 Gone included)."""
        while not self._stopping.is_set():
            try:
                listing = self._list()
                for alert in listing["items"]:
                    self.queue.add(api.key_of(alert))
                version = listing["metadata"]["resourceVersion"]
                while not self._stopping.is_set():
                    stream = watch.Watch()
                    for event in stream.stream(
                        self._list,
                        resource_version=version,
                        timeout_seconds=WATCH_SECONDS,
                        allow_watch_bookmarks=True,
                    ):
                        if event["type"] == "ERROR":
                            raise RuntimeError(f"watch error: {event['object']}")
                        alert = event["object"]
                        version = alert["metadata"]["resourceVersion"]
                        if event["type"] in ("ADDED", "MODIFIED"):
                            self.queue.add(api.key_of(alert))
                        elif event["type"] == "DELETED":
                            self._forget(alert["metadata"]["uid"])
            except Exception as err:
                log.warning("watch ended, listing again: %s", err)
                self._stopping.wait(RETRY_ON_ERROR)

    # -- working ----------------------------------------------------------------------------

    def _work(self) -> None:
        while (key := self.queue.get()) is not None:
            try:
                again = self.reconcile(key)
            except Exception:
                log.exception("reconcile %s failed; trying again in %.0fs", key, RETRY_ON_ERROR)
                again = RETRY_ON_ERROR
            finally:
                self.queue.done(key)
            if again is not None:
                self.queue.add(key, again)

    def _read(self, key: str) -> api.Alert | None:
        namespace, name = key.split("/", 1)
        try:
            return cast(
                api.Alert,
                self.custom.get_namespaced_custom_object(api.GROUP, api.VERSION, namespace, api.PLURAL, name),
            )
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def _forget(self, uid: str) -> None:
        with self._lock:
            for entry in [e for e in self.starts if e[0] == uid]:
                del self.starts[entry]

    def _progress(self, alert: api.Alert) -> list[schedule.Receiver]:
        with self._lock:
            return schedule.receivers(alert, dict(self.starts))

    def reconcile(self, key: str) -> float | None:
        """Seconds until this Alert wants to be looked at again, or None."""
        alert = self._read(key)
        if alert is None:
            return None
        if (alert.get("status") or {}).get("state") in api.FINISHED:
            self._forget(alert["metadata"]["uid"])
            return None
        progress = self._progress(alert)
        now = time.time()
        due = [r for r in progress if r.due is not None and r.due <= now]
        if not due:
            return _next(progress, now)
        receivers = {r["id"]: r for r in alert["spec"]["receivers"]}
        futures = [self.senders.submit(self._try, alert, receivers[r.id], r.tries + 1) for r in due]
        tries = [future.result() for future in futures]
        written = self._record(key, alert, tries)
        if written is None:
            return None
        return _next(self._progress(written), time.time())

    def _try(self, alert: api.Alert, receiver: dict[str, Any], number: int) -> dict[str, Any]:
        started = time.time()
        entry: dict[str, Any] = {
            "receiver": receiver["id"],
            "try": number,
            "at": api.whole_seconds(started),
            "result": api.OK,
        }
        try:
            send(alert, receiver, number)
        except SendError as err:
            entry.update(result=api.ERROR, message=str(err)[:MAX_MESSAGE])
        except Exception as err:  # a receiver's bug must not lose the round's other tries
            entry.update(result=api.ERROR, message=f"unexpected {type(err).__name__}: {err}"[:MAX_MESSAGE])
        with self._lock:
            self.starts[(alert["metadata"]["uid"], receiver["id"], number)] = started
        log.info(
            "%s receiver %s try %d: %s %s",
            api.key_of(alert),
            receiver["id"],
            number,
            entry["result"],
            entry.get("message", ""),
        )
        return entry

    def _record(self, key: str, alert: api.Alert, tries: list[dict[str, Any]]) -> api.Alert | None:
        """One status write for the round; on a conflict, re-read and write the same tries again."""
        while True:
            previous = alert.get("status") or {}
            history = list(previous.get("history") or [])
            present = {(h["receiver"], h["try"]) for h in history}
            history += [t for t in tries if (t["receiver"], t["try"]) not in present]
            status: dict[str, Any] = dict(previous, history=history, tryCount=len(history))
            status["observedGeneration"] = alert["metadata"].get("generation")
            status["state"] = schedule.state_of(self._progress(dict(alert, status=status)))
            if status["state"] in api.FINISHED and "finishedAt" not in status:
                status["finishedAt"] = api.whole_seconds(time.time())
            meta = alert["metadata"]
            try:
                return cast(
                    api.Alert,
                    self.custom.replace_namespaced_custom_object_status(
                        api.GROUP,
                        api.VERSION,
                        meta["namespace"],
                        api.PLURAL,
                        meta["name"],
                        dict(alert, status=status),
                    ),
                )
            except ApiException as err:
                if err.status == 404:
                    return None  # deleted while it was being sent: nothing left to record
                if err.status != 409:
                    raise
            fresh = self._read(key)
            if fresh is None:
                return None
            alert = fresh


def _next(progress: list[schedule.Receiver], now: float) -> float | None:
    pending = [r.due for r in progress if r.due is not None]
    return max(min(pending) - now, 0.0) if pending else None
