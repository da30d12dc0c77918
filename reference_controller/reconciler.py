"""``reconcile(key) -> requeue_after``: level-triggered and idempotent.

1. Read the object from the informer's cache (never older than this controller's own
   last write of it); a terminal phase means nothing to do.
2. From status alone, find the channels that are due; none due: requeue for the earliest.
3. Deliver every due channel concurrently, collecting attempt records in memory; each
   attempt is dated when it went out (its request written), and the next is due from there.
4. Write status once, conditional on the resourceVersion read; on conflict re-read from the
   API server and write again, never deliver again.
"""

from __future__ import annotations

import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import cast

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from reference_controller import api, plan
from reference_controller.api import Object
from reference_controller.cache import IncomparableVersions, MutationCache, Store
from reference_controller.channels import Channels, Delivery, DeliveryError
from reference_controller.core import CoreApi
from reference_controller.credentials import SecretReader
from reference_controller.events import EventRecorder
from reference_controller.fileroot import DEFAULT_FILE_ROOT, FileRoot
from reference_controller.metrics import PERMANENT_FAILURE, RETRYABLE_FAILURE, SUCCESS, Metrics
from reference_controller.timefmt import format_time

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 1024
WRITE_PATIENCE = 30.0
"""Seconds to keep re-reading and re-writing on conflicts and outages: the round is delivered already."""
WRITE_RETRY_DELAY = 0.2
UNAVAILABLE = frozenset({429, 500, 502, 503, 504})
"""Answers of an API server that is overloaded, restarting or without etcd."""


@dataclass(frozen=True)
class Attempt:
    channel: str
    number: int
    at: float
    """When the attempt went out: its request written, its line printed, its file in place (or, for
    a failing file attempt, its creation asked for)."""
    duration: float
    """From ``at`` to the answer, or to the failure."""
    error: DeliveryError | None

    def record(self) -> Object:
        record: Object = {
            "channel": self.channel,
            "attempt": self.number,
            "timestamp": format_time(self.at),
            "outcome": api.SUCCESS if self.error is None else api.FAILURE,
            "durationSeconds": round(self.duration, 6),
        }
        if self.error is not None:
            record["error"] = str(self.error)[:MAX_ERROR_LENGTH]
            record["retryable"] = self.error.retryable
            if self.error.retry_after is not None:
                record["retryAfterSeconds"] = round(self.error.retry_after, 3)
        return record


class Reconciler:
    def __init__(
        self,
        api_client: client.CustomObjectsApi,
        max_parallel_deliveries: int = 64,
        *,
        channels: Channels | None = None,
        metrics: Metrics | None = None,
        events: EventRecorder | None = None,
    ) -> None:
        self.api = api_client
        core = CoreApi(api_client.api_client)
        self.channels = channels or Channels(FileRoot(DEFAULT_FILE_ROOT), SecretReader(core).value)
        self.metrics = metrics or Metrics()
        self.events = events or EventRecorder(core)
        self.cache = MutationCache(Store())
        self.pool = ThreadPoolExecutor(max_parallel_deliveries, thread_name_prefix="deliver")
        self.rng = random.Random()

    def reconcile(self, key: str) -> float | None:
        """Return the delay after which ``key`` wants another reconcile, or None."""
        obj = self.read(key)
        if obj is None or (obj.get("status") or {}).get("phase") in api.TERMINAL_PHASES:
            return None
        states = plan.channel_states(obj["spec"], obj.get("status") or {})
        now = time.time()
        due = self.due_channels(states, now)
        if not due:
            return self.requeue_after(states, now)
        attempts = self.deliver(obj, due)
        written = self.write_status(key, obj, attempts)
        if written is None:
            return None
        return self.requeue_after(plan.channel_states(written["spec"], written["status"]), time.time())

    def due_channels(self, states: list[plan.ChannelState], now: float) -> list[plan.ChannelState]:
        return [s for s in states if s.next_due is not None and s.next_due <= now]

    def requeue_after(self, states: list[plan.ChannelState], now: float) -> float | None:
        pending = [s.next_due for s in states if s.next_due is not None]
        return max(min(pending) - now, 0.0) if pending else None

    def read(self, key: str, *, fresh: bool = False) -> Object | None:
        """The object from the cache, or from the API server when ``fresh`` (the cache was found
        stale) or when its resourceVersions cannot be compared. Never modify what it returns."""
        if not fresh:
            try:
                return self.cache.get(key)
            except IncomparableVersions:
                pass
        namespace, name = key.split("/", 1)
        try:
            obj = cast(
                Object,
                self.api.get_namespaced_custom_object(api.GROUP, api.VERSION, namespace, api.PLURAL, name),
            )
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return obj

    def deliver(self, obj: Object, due: list[plan.ChannelState]) -> list[Attempt]:
        channels = {c["name"]: c for c in obj["spec"]["channels"]}
        futures = [
            self.pool.submit(self.attempt, obj, channels[state.name], state.attempts + 1) for state in due
        ]
        return [future.result() for future in futures]

    @staticmethod
    def delivery(obj: Object, channel: Object, number: int) -> Delivery:
        meta = obj["metadata"]
        return Delivery(meta["namespace"], meta["name"], meta["uid"], obj["spec"], channel, number)

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        delivery = self.delivery(obj, channel, number)
        started = time.time()
        error: DeliveryError | None = None
        try:
            at = self.channels.deliver(delivery)
        except DeliveryError as err:
            error, at = err, err.sent if err.sent is not None else started
        except Exception as err:  # a channel's bug must not discard the round's other deliveries
            error, at = DeliveryError(f"unexpected {type(err).__name__}: {err}"), started
        duration = max(time.time() - at, 0.0)
        outcome = SUCCESS if error is None else RETRYABLE_FAILURE if error.retryable else PERMANENT_FAILURE
        self.metrics.attempts.labels(channel["type"], outcome).inc()
        log.log(
            logging.INFO if error is None else logging.WARNING,
            "delivery attempt",
            extra={
                "notification": api.key_of(obj),
                "channel": channel["name"],
                "channel_type": channel["type"],
                "attempt": number,
                "outcome": outcome,
                "seconds": round(duration, 4),
                "error": str(error) if error else None,
            },
        )
        return Attempt(channel["name"], number, at, duration, error)

    def write_status(self, key: str, obj: Object, attempts: list[Attempt]) -> Object | None:
        """Record a round's attempts in one write; on a conflict, or while the API server is
        away, re-read and write again instead of re-delivering."""
        deadline = time.monotonic() + WRITE_PATIENCE
        stale = False
        while time.monotonic() < deadline:
            try:
                if stale:
                    fresh = self.read(key, fresh=True)
                    if fresh is None:
                        return None
                    obj = fresh
                body = dict(obj, status=self.next_status(obj, attempts))
                meta = obj["metadata"]
                written = cast(
                    Object,
                    self.api.replace_namespaced_custom_object_status(
                        api.GROUP, api.VERSION, meta["namespace"], api.PLURAL, meta["name"], body
                    ),
                )
            except ApiException as err:
                if err.status != 409 and err.status not in UNAVAILABLE:
                    raise
                if err.status != 409:
                    time.sleep(WRITE_RETRY_DELAY)
            except urllib3.exceptions.HTTPError as err:
                log.warning("status write failed; retrying", extra={"notification": key, "error": str(err)})
                time.sleep(WRITE_RETRY_DELAY)
            else:
                self.cache.mutated(key, written)
                self.written(obj, written, attempts)
                return written
            stale = True
        raise RuntimeError(f"{key}: status write kept failing; the round's attempts are lost")

    def written(self, before: Object, after: Object, attempts: list[Attempt]) -> None:
        """Account for a status write: retries it scheduled, and the phase change it made."""
        types = {c["name"]: c["type"] for c in after["spec"]["channels"]}
        states = {c["name"]: c["state"] for c in after["status"].get("channels") or []}
        for attempt in attempts:
            if attempt.error is not None and states.get(attempt.channel) == plan.RETRYING:
                self.metrics.retries.labels(types[attempt.channel]).inc()
        old, new = (before.get("status") or {}).get("phase"), after["status"].get("phase")
        if new != old and new is not None:
            self.metrics.phase_changes.labels(new).inc()
            log.info("phase changed", extra={"notification": api.key_of(after), "from": old, "phase": new})
            self.events.phase_changed(after, after["status"])

    def next_status(self, obj: Object, attempts: list[Attempt]) -> Object:
        spec, previous = obj["spec"], obj.get("status") or {}
        recorded = list(previous.get("deliveryAttempts") or [])
        counts = plan.attempt_counts(spec, previous)
        seen = {(a["channel"], a["attempt"]) for a in recorded}
        for attempt in attempts:
            if (attempt.channel, attempt.number) not in seen:
                recorded.append(attempt.record())
                counts[attempt.channel] = counts.get(attempt.channel, 0) + 1
        states = plan.channel_states(spec, {**previous, "deliveryAttempts": recorded}, counts)
        phase = plan.phase_of(states)
        status: Object = {
            "phase": phase,
            "observedGeneration": obj["metadata"].get("generation"),
            "totalAttempts": sum(counts.values()),
            "channelCount": len(states),
            "deliveryAttempts": plan.bounded(recorded),
            "channels": plan.summaries(spec, states, previous, self.rng),
            "conditions": [self.ready_condition(obj, previous, phase)],
        }
        if phase in api.TERMINAL_PHASES:
            status["completionTime"] = previous.get("completionTime") or format_time(time.time())
        return status

    @staticmethod
    def ready_condition(obj: Object, previous: Object, phase: str) -> Object:
        ready = "True" if phase == api.SENT else "False"
        old = next((c for c in previous.get("conditions") or [] if c["type"] == "Ready"), None)
        if old is None or old["status"] != ready:
            transition = format_time(time.time())
        else:
            transition = old["lastTransitionTime"]
        messages = {
            api.SENT: "delivered to every channel",
            api.PARTIALLY_SENT: "some channels exhausted their attempts",
            api.FAILED: "no channel could be delivered",
            api.RETRYING: "waiting to retry failed channels",
            api.PENDING: "no attempt yet",
        }
        return {
            "type": "Ready",
            "status": ready,
            "observedGeneration": obj["metadata"].get("generation"),
            "lastTransitionTime": transition,
            "reason": phase,
            "message": messages.get(phase, phase),
        }
