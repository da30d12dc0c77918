"""Kubernetes Events (core/v1) on phase changes, the way ``kubectl describe`` shows them.

One Event per phase change, named after the notification, its uid and the phase: a
change reported again (after a crash, or a re-write on conflict) patches the same
Event instead of adding another one. Events are sent in the background, as client-go's
recorder does, so that a worker does not wait for them before its next reconcile; one
notification's Events go out in order, through one of a few lanes.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import zlib
from concurrent.futures import Future, ThreadPoolExecutor, wait

from kubernetes.client.exceptions import ApiException

from reference_controller import api, plan
from reference_controller.api import Object
from reference_controller.core import CoreApi
from reference_controller.timefmt import format_time

log = logging.getLogger(__name__)

COMPONENT = "notification-controller"
WARNING_PHASES = frozenset({api.PARTIALLY_SENT, api.FAILED})
REQUEST_TIMEOUT = 5.0
LANES = 4


def event_name(obj: Object, phase: str) -> str:
    meta = obj["metadata"]
    return f"{meta['name'][:200].rstrip('.-')}.{meta['uid'][:8]}.{phase.lower()}"


def phase_message(status: Object) -> str:
    """One sentence on where each channel stands, for a person reading ``kubectl describe``."""
    phase = status["phase"]
    errors = {a["channel"]: a.get("error") for a in status.get("deliveryAttempts") or []}
    parts = []
    for summary in status.get("channels") or []:
        text = f"{summary['name']} {summary['state'].lower()} after {summary['attempts']} attempt(s)"
        if summary.get("nextAttemptTime"):
            text += f", next at {summary['nextAttemptTime']}"
        if summary["state"] != plan.DELIVERED and errors.get(summary["name"]):
            text += f" ({errors[summary['name']][:200]})"
        parts.append(text)
    return f"{phase}: {'; '.join(parts)}"[:1024]


class EventRecorder:
    def __init__(self, core: CoreApi, instance: str = "") -> None:
        self._core = core
        self._instance = instance or socket.gethostname()
        self._lanes = [ThreadPoolExecutor(1, thread_name_prefix=f"events-{i}") for i in range(LANES)]
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()

    def phase_changed(self, obj: Object, status: Object) -> None:
        """Report that ``obj`` entered ``status['phase']``, in the background."""
        lane = self._lanes[zlib.crc32(obj["metadata"]["uid"].encode()) % LANES]
        future = lane.submit(self._record, obj, status)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._finished)

    def _finished(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the Events not yet sent; True when all went out."""
        with self._lock:
            pending = set(self._pending)
        return not wait(pending, timeout).not_done

    def _record(self, obj: Object, status: Object) -> None:
        """Send one Event; failures are logged, never raised."""
        meta = obj["metadata"]
        phase = status["phase"]
        now = format_time(time.time())
        name = event_name(obj, phase)
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": f"{api.GROUP}/{api.VERSION}",
                "kind": "NotificationRequest",
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": phase,
            "message": phase_message(status),
            "type": "Warning" if phase in WARNING_PHASES else "Normal",
            "source": {"component": COMPONENT, "host": self._instance},
            "reportingComponent": f"{api.GROUP}/{COMPONENT}",
            "reportingInstance": self._instance,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            self._create_or_touch(meta["namespace"], name, body, now)
        except Exception as err:  # an Event is a courtesy; the status is the record
            log.warning(
                "could not record event",
                extra={"notification": api.key_of(obj), "phase": phase, "error": str(err)},
            )

    def _create_or_touch(self, namespace: str, name: str, body: Object, now: str) -> None:
        try:
            self._core.create_event(namespace, body, REQUEST_TIMEOUT)
        except ApiException as err:
            if err.status != 409:
                raise
            patch = {"lastTimestamp": now, "message": body["message"]}
            self._core.patch_event(namespace, name, patch, REQUEST_TIMEOUT)
