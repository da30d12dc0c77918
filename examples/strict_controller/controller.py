"""Watch Broadcasts; for each one, attempt the due targets, then write status once.

A reconcile reads the Broadcast, lets ``schedule`` say from its status which
targets are due, attempts those concurrently, and records the round in one
status write conditional on the resourceVersion it read. That write carries the
terminal phase when no target owes another attempt. A conflict means re-reading
and writing the same attempts again, never attempting again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import urllib3
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from examples.strict_controller import api, channels, schedule
from examples.strict_controller.queue import WorkQueue

log = logging.getLogger(__name__)

WATCH_SECONDS = 60
AGAIN_AFTER_ERROR = 2.0
WRITE_PATIENCE = 30.0
"""How long a round's status write is retried while the API server is away."""
AGAIN_AFTER_WRITE_ERROR = 0.5

Record = dict[str, Any]


class StrictController:
    def __init__(
        self,
        custom: client.CustomObjectsApi,
        namespace: str | None,
        workers: int,
        guarded: frozenset[str] = api.PROGRESSING,
    ) -> None:
        """``guarded``: the phases in which the time guard holds; every non-terminal one conforms."""
        self.custom = custom
        self.namespace = namespace
        self.guarded = guarded
        self.queue = WorkQueue()
        self.attempts = ThreadPoolExecutor(2 * workers, thread_name_prefix="attempt")
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="watch", daemon=True)
        self._workers = [
            threading.Thread(target=self._work, name=f"worker-{n}", daemon=True) for n in range(workers)
        ]

    def start(self) -> None:
        self._watcher.start()
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        """Let reconciles in progress write their status; the watch thread ends with the process."""
        self._stopping.set()
        self.queue.close()
        for worker in self._workers:
            worker.join(10)
        self.attempts.shutdown()

    # -- watching ---------------------------------------------------------------------------

    def _list(self, **kwargs: Any) -> Any:
        if self.namespace:
            return self.custom.list_namespaced_custom_object(
                api.GROUP, api.VERSION, self.namespace, api.PLURAL, **kwargs
            )
        return self.custom.list_cluster_custom_object(api.GROUP, api.VERSION, api.PLURAL, **kwargs)

    def _watch(self) -> None:
        """List, then watch from the listed version; on any error (410 Gone too) list again."""
        while not self._stopping.is_set():
            try:
                listing = self._list()
                for broadcast in listing["items"]:
                    self.queue.add(api.key_of(broadcast))
                version = listing["metadata"]["resourceVersion"]
                log.info("listed %d broadcasts; watching from version %s", len(listing["items"]), version)
                while not self._stopping.is_set():
                    for event in watch.Watch().stream(
                        self._list,
                        resource_version=version,
                        timeout_seconds=WATCH_SECONDS,
                        allow_watch_bookmarks=True,
                    ):
                        if event["type"] == "ERROR":
                            raise RuntimeError(f"the watch ended: {event['object']}")
                        version = event["object"]["metadata"]["resourceVersion"]
                        if event["type"] in ("ADDED", "MODIFIED"):
                            self.queue.add(api.key_of(event["object"]))
            except Exception as err:
                log.warning("watch failed, listing again in %.0fs: %s", AGAIN_AFTER_ERROR, err)
                self._stopping.wait(AGAIN_AFTER_ERROR)

    # -- reconciling ------------------------------------------------------------------------

    def _work(self) -> None:
        while (key := self.queue.take()) is not None:
            try:
                again = self.reconcile(key)
            except Exception as err:
                log.warning("reconcile %s failed, again in %.0fs: %s", key, AGAIN_AFTER_ERROR, err)
                again = AGAIN_AFTER_ERROR
            finally:
                self.queue.release(key)
            if again is not None:
                self.queue.add(key, again)

    def _read(self, key: str) -> api.Broadcast | None:
        namespace, name = key.split("/", 1)
        try:
            return cast(
                api.Broadcast,
                self.custom.get_namespaced_custom_object(api.GROUP, api.VERSION, namespace, api.PLURAL, name),
            )
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def reconcile(self, key: str) -> float | None:
        """Seconds until this Broadcast wants another look, or None when it wants none."""
        broadcast = self._read(key)
        if broadcast is None:
            return None
        phase = (broadcast.get("status") or {}).get("phase") or api.PENDING
        log.info("reconcile %s subject=%s phase=%s", key, json.dumps(broadcast["spec"]["subject"]), phase)
        if phase in api.TERMINAL:
            return None
        progress = schedule.targets(broadcast)
        due = schedule.due_now(progress, phase, time.time(), self.guarded)
        if due:
            settings = {t["type"]: t for t in broadcast["spec"]["targets"]}
            started = [
                self.attempts.submit(self._attempt, broadcast, settings[t.type], t.made + 1) for t in due
            ]
            written = self._record(key, broadcast, [attempt.result() for attempt in started])
            if written is None:
                return None
            progress = schedule.targets(written)
        following = schedule.next_due(progress)
        return None if following is None else max(following - time.time(), 0.0)

    def _attempt(self, broadcast: api.Broadcast, target: dict[str, Any], number: int) -> Record:
        record: Record = {
            "target": target["type"],
            "number": number,
            "startedAt": api.timestamp(time.time()),
            "outcome": api.SUCCEEDED,
        }
        try:
            channels.deliver(broadcast, target, number)
        except channels.DeliveryError as err:
            record.update(outcome=api.FAILED, error=str(err)[: api.MAX_ERROR])
        log.info(
            "attempt %s target=%s number=%d outcome=%s%s",
            api.key_of(broadcast),
            record["target"],
            number,
            record["outcome"],
            f" error={json.dumps(record['error'])}" if "error" in record else "",
        )
        return record

    def _record(self, key: str, broadcast: api.Broadcast, records: list[Record]) -> api.Broadcast | None:
        """The round's one status write. On a conflict it re-reads and writes the same attempts again;
        while the API server is away it keeps trying for a while. It never attempts again."""
        deadline = time.monotonic() + WRITE_PATIENCE
        current: api.Broadcast | None = broadcast
        while True:
            try:
                if current is None:
                    current = self._read(key)
                    if current is None:
                        return None
                return self._write(current, records)
            except ApiException as err:
                if err.status == 404:
                    return None  # deleted meanwhile: nothing is left to record
                if err.status != 409:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(AGAIN_AFTER_WRITE_ERROR)
            except (urllib3.exceptions.HTTPError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(AGAIN_AFTER_WRITE_ERROR)
            current = None

    def _write(self, broadcast: api.Broadcast, records: list[Record]) -> api.Broadcast:
        """Add the round's attempts to the status read, with the phase they lead to, conditional on
        the resourceVersion read."""
        status = schedule.status_after(broadcast, records, time.time())
        meta = broadcast["metadata"]
        return cast(
            api.Broadcast,
            self.custom.replace_namespaced_custom_object_status(
                api.GROUP,
                api.VERSION,
                meta["namespace"],
                api.PLURAL,
                meta["name"],
                dict(broadcast, status=status),
            ),
        )
