"""One reconciler subclass per defect."""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import TimeoutError
from typing import Any

import urllib3

from reference_controller import api, plan
from reference_controller.api import Object
from reference_controller.channels import Delivery, DeliveryError
from reference_controller.reconciler import Attempt, Reconciler


class PerChannelWrites(Reconciler):
    """The seed's bug: status written after every channel, and no time guard, so each
    write's watch event starts a reconcile that retries at once."""

    def due_channels(self, states: list[plan.ChannelState], now: float) -> list[plan.ChannelState]:
        return [s for s in states if not s.settled]

    def reconcile(self, key: str) -> float | None:
        obj = self.read(key)
        if obj is None or (obj.get("status") or {}).get("phase") in api.TERMINAL_PHASES:
            return None
        states = plan.channel_states(obj["spec"], obj.get("status") or {})
        due = self.due_channels(states, time.time())
        channels = {c["name"]: c for c in obj["spec"]["channels"]}
        for state in due:
            attempt = self.attempt(obj, channels[state.name], state.attempts + 1)
            written = self.write_status(key, obj, [attempt])
            if written is None:
                return None
            obj = written
        return self.requeue_after(plan.channel_states(obj["spec"], obj["status"]), time.time())


class NoTimeGuard(Reconciler):
    """The seed's proposed fix alone: batched writes, but any reconcile retries at once."""

    def due_channels(self, states: list[plan.ChannelState], now: float) -> list[plan.ChannelState]:
        return [s for s in states if not s.settled]


class GuardOnFirstRetryOnly(Reconciler):
    """A guard that covers one case only: later retries follow the controller's own write at once."""

    def due_channels(self, states: list[plan.ChannelState], now: float) -> list[plan.ChannelState]:
        return [s for s in states if not s.settled and (s.attempts != 1 or (s.next_due or 0) <= now)]


class GuardedPerChannelWrites(PerChannelWrites):
    """Keeps the time guard but still writes status once per channel."""

    def due_channels(self, states: list[plan.ChannelState], now: float) -> list[plan.ChannelState]:
        return Reconciler.due_channels(self, states, now)


class RedeliverSucceeded(Reconciler):
    """Retries every channel in a retry round, including those that already succeeded."""

    def due_channels(self, states: list[plan.ChannelState], now: float) -> list[plan.ChannelState]:
        due = super().due_channels(states, now)
        if any(s.attempts for s in due):
            due += [s for s in states if s.state == plan.DELIVERED and s not in due]
        return due


def _with_policy(obj: Object | None, **changes: Any) -> Object | None:
    """A copy of ``obj`` with a changed retry policy: the cache's own object stays as it is."""
    if obj is None:
        return None
    spec = obj["spec"]
    return {**obj, "spec": {**spec, "retryPolicy": {**spec["retryPolicy"], **changes}}}


class OneAttemptTooMany(Reconciler):
    """Off by one: makes maxAttempts + 1 attempts."""

    def read(self, key: str, *, fresh: bool = False) -> Object | None:
        obj = super().read(key, fresh=fresh)
        return _with_policy(obj, maxAttempts=obj["spec"]["retryPolicy"]["maxAttempts"] + 1) if obj else None


class IgnoresMaxBackoff(Reconciler):
    """Never caps the backoff."""

    def read(self, key: str, *, fresh: bool = False) -> Object | None:
        return _with_policy(super().read(key, fresh=fresh), maxBackoff="24h")


class WrongTerminalPhase(Reconciler):
    """Calls a partial delivery Failed."""

    def next_status(self, obj: Object, attempts: list[Attempt]) -> Object:
        status = super().next_status(obj, attempts)
        if status["phase"] == api.PARTIALLY_SENT:
            status["phase"] = api.FAILED
        return status


class MiscountsAttempts(Reconciler):
    """totalAttempts counts failures only."""

    def next_status(self, obj: Object, attempts: list[Attempt]) -> Object:
        status = super().next_status(obj, attempts)
        status["totalAttempts"] = sum(a["outcome"] == api.FAILURE for a in status["deliveryAttempts"])
        return status


class _WholeSecondAttempt(Attempt):
    def record(self) -> Object:
        record = super().record()
        record["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at))
        return record


class WholeSecondTimestamps(Reconciler):
    """Records attempt times in whole seconds, as metav1.Time does, without declaring it."""

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        result = super().attempt(obj, channel, number)
        return _WholeSecondAttempt(result.channel, result.number, result.at, result.duration, result.error)


class PostdatesAttempts(Reconciler):
    """Records each attempt half a second later than it was made."""

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        result = super().attempt(obj, channel, number)
        return Attempt(result.channel, result.number, result.at + 0.5, result.duration, result.error)


class NumbersAcrossChannels(Reconciler):
    """Numbers attempts across the whole notification instead of per channel."""

    def deliver(self, obj: Object, due: list[plan.ChannelState]) -> list[Attempt]:
        total = len((obj.get("status") or {}).get("deliveryAttempts") or [])
        return [
            Attempt(a.channel, total + index + 1, a.at, a.duration, a.error)
            for index, a in enumerate(super().deliver(obj, due))
        ]


EXTRA_AFTER_TERMINAL = 0.5


class RetriesAfterTerminal(Reconciler):
    """Half a second after the terminal phase, tries failed channels once more without recording
    it (late enough that the terminal write has reached any watch)."""

    def reconcile(self, key: str) -> float | None:
        obj = self.read(key)
        status = (obj or {}).get("status") or {}
        if obj is None or status.get("phase") not in api.TERMINAL_PHASES:
            return super().reconcile(key)
        if obj["metadata"].get("annotations", {}).get("broken/extra") != "done":
            time.sleep(EXTRA_AFTER_TERMINAL)
            channels = {c["name"]: c for c in obj["spec"]["channels"]}
            for summary in status.get("channels", []):
                if summary["state"] == plan.EXHAUSTED:
                    self.attempt(obj, channels[summary["name"]], summary["attempts"] + 1)
            patch = {"metadata": {"annotations": {"broken/extra": "done"}}}
            meta = obj["metadata"]
            self.api.patch_namespaced_custom_object(
                api.GROUP, api.VERSION, meta["namespace"], api.PLURAL, meta["name"], patch
            )
        return None


DEFECTS: dict[str, type[Reconciler]] = {
    "per-channel-writes": PerChannelWrites,
    "no-time-guard": NoTimeGuard,
    "guard-on-first-retry-only": GuardOnFirstRetryOnly,
    "guarded-per-channel-writes": GuardedPerChannelWrites,
    "redeliver-succeeded": RedeliverSucceeded,
    "one-attempt-too-many": OneAttemptTooMany,
    "ignores-max-backoff": IgnoresMaxBackoff,
    "wrong-terminal-phase": WrongTerminalPhase,
    "miscounts-attempts": MiscountsAttempts,
    "whole-second-timestamps": WholeSecondTimestamps,
    "postdates-attempts": PostdatesAttempts,
    "numbers-across-channels": NumbersAcrossChannels,
    "retries-after-terminal": RetriesAfterTerminal,
}


class SlowRequeue(Reconciler):
    """Asks to be requeued 1.5s later than the next attempt is due."""

    def requeue_after(self, states: list[plan.ChannelState], now: float) -> float | None:
        due = super().requeue_after(states, now)
        return None if due is None else due + 1.5


class OverlappingAttempts(Reconciler):
    """Waits at most 100ms for a webhook's answer and records a failure, leaving the request running."""

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        if channel["type"] != "webhook":
            return super().attempt(obj, channel, number)
        started = time.time()
        future = self.pool.submit(super().attempt, obj, channel, number)
        try:
            return future.result(timeout=0.1)
        except TimeoutError:
            return Attempt(channel["name"], number, started, 0.1, DeliveryError("no answer yet"))


class DeliversAfterDelete(Reconciler):
    """Keeps working from its last copy of a notification that was deleted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.copies: dict[str, Object] = {}

    def read(self, key: str, *, fresh: bool = False) -> Object | None:
        obj = super().read(key, fresh=fresh)
        if obj is None:
            return self.copies.get(key)
        self.copies[key] = obj
        return obj


class ReadyNeverTrue(Reconciler):
    """Leaves the Ready condition False even when everything was delivered."""

    def next_status(self, obj: Object, attempts: list[Attempt]) -> Object:
        status = super().next_status(obj, attempts)
        for condition in status["conditions"]:
            condition["status"] = "False"
        return status


class NoCompletionTime(Reconciler):
    """Never records completionTime."""

    def next_status(self, obj: Object, attempts: list[Attempt]) -> Object:
        status = super().next_status(obj, attempts)
        status.pop("completionTime", None)
        return status


class PredicateInsteadOfGuard(Reconciler):
    """Filters out its own status writes the way an event predicate would (wake-ups that change
    neither generation, labels nor annotations), but has no time guard: any other change to the
    object, such as a new annotation, makes it retry at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: dict[str, tuple[Any, ...]] = {}
        self.wake_at: dict[str, float] = {}

    def reconcile(self, key: str) -> float | None:
        obj = self.read(key)
        if obj is None:
            return None
        meta = obj["metadata"]
        fingerprint = (meta.get("generation"), repr(meta.get("labels")), repr(meta.get("annotations")))
        wake = self.wake_at.get(key, 0.0)
        if self.seen.get(key) == fingerprint and time.time() < wake:
            return wake - time.time()
        self.seen[key] = fingerprint
        requeue = super().reconcile(key)
        self.wake_at[key] = time.time() + (requeue or 0.0)
        return requeue

    def due_channels(self, states: list[plan.ChannelState], now: float) -> list[plan.ChannelState]:
        return [s for s in states if not s.settled]


class IgnoresRetryAfter(Reconciler):
    """Drops the Retry-After a receiver asked for."""

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        result = super().attempt(obj, channel, number)
        if result.error is not None:
            result.error.retry_after = None
        return result


class RetriesPermanentFailures(Reconciler):
    """Treats every failure as retryable, a 404 included."""

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        result = super().attempt(obj, channel, number)
        if result.error is not None:
            result.error.retryable = True
        return result


class _KeyPerAttempt(Delivery):
    @property
    def idempotency_key(self) -> str:
        return f"{super().idempotency_key}/{self.attempt}"


class KeyPerAttempt(Reconciler):
    """Sends a new idempotency key with every attempt, so receivers cannot drop repeats."""

    @staticmethod
    def delivery(obj: Object, channel: Object, number: int) -> Delivery:
        meta = obj["metadata"]
        return _KeyPerAttempt(meta["namespace"], meta["name"], meta["uid"], obj["spec"], channel, number)


DEFECTS.update(
    {
        "slow-requeue": SlowRequeue,
        "overlapping-attempts": OverlappingAttempts,
        "delivers-after-delete": DeliversAfterDelete,
        "ready-never-true": ReadyNeverTrue,
        "no-completion-time": NoCompletionTime,
        "predicate-instead-of-guard": PredicateInsteadOfGuard,
        "ignores-retry-after": IgnoresRetryAfter,
        "retries-permanent-failures": RetriesPermanentFailures,
        "key-per-attempt": KeyPerAttempt,
    }
)


class InMemorySchedule(Reconciler):
    """Keeps each channel's next due time in memory instead of deriving it from status: right
    after a restart every failed channel looks due at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.next_due: dict[tuple[str, str], float] = {}
        self.local = threading.local()

    def reconcile(self, key: str) -> float | None:
        self.local.key = key
        return super().reconcile(key)

    def due_channels(self, states: list[plan.ChannelState], now: float) -> list[plan.ChannelState]:
        key = self.local.key
        return [s for s in states if not s.settled and self.next_due.get((key, s.name), 0.0) <= now]

    def requeue_after(self, states: list[plan.ChannelState], now: float) -> float | None:
        for state in states:
            if state.next_due is not None:
                self.next_due[(self.local.key, state.name)] = state.next_due
        return super().requeue_after(states, now)


DEFECTS["in-memory-schedule"] = InMemorySchedule


class SerialDeliveries(Reconciler):
    """Delivers one notification at a time across the whole controller, so a hanging webhook
    stalls every other notification."""

    lock = threading.Lock()

    def deliver(self, obj: Object, due: list[plan.ChannelState]) -> list[Attempt]:
        with self.lock:
            return super().deliver(obj, due)


DEFECTS["serial-deliveries"] = SerialDeliveries


class LateTerminalPhase(Reconciler):
    """Records the last owed attempt with the phase Retrying, and writes the terminal phase only
    one backoff later, though no channel was owed another attempt."""

    def next_status(self, obj: Object, attempts: list[Attempt]) -> Object:
        status = super().next_status(obj, attempts)
        if attempts and status["phase"] in api.TERMINAL_PHASES:
            status["phase"] = api.RETRYING
            status.pop("completionTime", None)
            status["conditions"] = [self.ready_condition(obj, obj.get("status") or {}, api.RETRYING)]
        return status

    def reconcile(self, key: str) -> float | None:
        obj = self.read(key)
        status = (obj or {}).get("status") or {}
        if obj is None or status.get("phase") != api.RETRYING:
            return super().reconcile(key)
        states = plan.channel_states(obj["spec"], status)
        if not all(s.settled for s in states):
            return super().reconcile(key)
        last = max(s.last_attempt or 0.0 for s in states)
        wait = last + plan.nominal_backoff(obj["spec"]["retryPolicy"], max(s.attempts for s in states))
        if wait > time.time():
            return wait - time.time()
        self.write_status(key, obj, [])
        return None


class WholeSecondEarlyRetries(WholeSecondTimestamps):
    """Whole-second timestamps (declared so in its binding), and every retry half a second early."""

    def due_channels(self, states: list[plan.ChannelState], now: float) -> list[plan.ChannelState]:
        return super().due_channels(states, now + 0.5)

    def requeue_after(self, states: list[plan.ChannelState], now: float) -> float | None:
        return super().requeue_after(states, now + 0.5)


class WideJitter(Reconciler):
    """Draws each retry's jitter from a range 1.5 times as wide as the declared one."""

    def read(self, key: str, *, fresh: bool = False) -> Object | None:
        obj = super().read(key, fresh=fresh)
        if obj is None:
            return None
        return _with_policy(obj, jitterPercent=obj["spec"]["retryPolicy"].get("jitterPercent", 0) * 1.5)


class LeaksToken(Reconciler):
    """Writes a webhook's bearer token into the error of a failed attempt."""

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        result = super().attempt(obj, channel, number)
        ref = channel.get("webhook", {}).get("secretRef")
        if result.error is None or ref is None:
            return result
        token = self.channels.credentials(obj["metadata"]["namespace"], ref)
        error = DeliveryError(f"{result.error} (sent with Bearer {token})", result.error.retryable)
        return Attempt(result.channel, result.number, result.at, result.duration, error)


class SendsNoToken(Reconciler):
    """Ignores a webhook's secretRef: its requests carry no Authorization header."""

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        hook = channel.get("webhook") or {}
        if "secretRef" in hook:
            channel = {**channel, "webhook": {k: v for k, v in hook.items() if k != "secretRef"}}
        return super().attempt(obj, channel, number)


class PostsTwice(Reconciler):
    """Sends every successful webhook delivery a second time, and records one attempt."""

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        result = super().attempt(obj, channel, number)
        if channel["type"] == "webhook" and result.error is None:
            super().attempt(obj, channel, number)
        return result


DEFECTS.update(
    {
        "late-terminal-phase": LateTerminalPhase,
        "whole-second-early-retries": WholeSecondEarlyRetries,
        "wide-jitter": WideJitter,
        "leaks-token": LeaksToken,
        "sends-no-token": SendsNoToken,
        "posts-twice": PostsTwice,
    }
)
EARLY_SECONDS = 0.4


class MovedSchedule(Reconciler):
    """A defect that moves when channels are due; ``moved`` says where to."""

    def moved(self, state: plan.ChannelState, due: float) -> float:
        raise NotImplementedError

    def _moved(self, states: list[plan.ChannelState]) -> list[plan.ChannelState]:
        return [
            s if s.next_due is None else dataclasses.replace(s, next_due=self.moved(s, s.next_due))
            for s in states
        ]

    def due_channels(self, states: list[plan.ChannelState], now: float) -> list[plan.ChannelState]:
        return super().due_channels(self._moved(states), now)

    def requeue_after(self, states: list[plan.ChannelState], now: float) -> float | None:
        return super().requeue_after(self._moved(states), now)


class EarlyFileRetries(MovedSchedule):
    """Retries a failing file channel 400 ms before its backoff ends and records each retry in
    status at the time it was due: status alone shows a perfect schedule, only a witness of the
    writes themselves sees the early retries."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local = threading.local()

    def read(self, key: str, *, fresh: bool = False) -> Object | None:
        obj = super().read(key, fresh=fresh)
        channels = obj["spec"]["channels"] if obj else []
        self.local.files = {c["name"] for c in channels if c["type"] == "file"}
        return obj

    def moved(self, state: plan.ChannelState, due: float) -> float:
        return due - EARLY_SECONDS if state.name in self.local.files and state.attempts else due

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        result = super().attempt(obj, channel, number)
        if channel["type"] != "file" or number == 1:
            return result
        states = plan.channel_states(obj["spec"], obj.get("status") or {})
        due = next(s.next_due for s in states if s.name == channel["name"])
        return result if due is None else Attempt(result.channel, number, due, result.duration, result.error)


DEFECTS["early-file-retries"] = EarlyFileRetries


class BackoffFromRestart(MovedSchedule):
    """Counts a failed channel's backoff from when this process started, not from the attempt
    status records: after a restart each channel's next attempt comes a whole backoff late."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started = time.time()

    def moved(self, state: plan.ChannelState, due: float) -> float:
        last = state.last_attempt
        return max(due, self.started + due - last) if last is not None and last < self.started else due


DEFECTS["backoff-from-restart"] = BackoffFromRestart


class RetryAfterInMemory(MovedSchedule):
    """Honours Retry-After but keeps the wait in memory instead of in status: a restarted
    controller has forgotten it and retries when the backoff says."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: dict[tuple[str, str, int], float] = {}
        self.local = threading.local()

    def reconcile(self, key: str) -> float | None:
        self.local.key = key
        return super().reconcile(key)

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        result = super().attempt(obj, channel, number)
        if result.error is not None and result.error.retry_after is not None:
            key = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
            self.held[(key, result.channel, number)] = result.at + result.error.retry_after
            result.error.retry_after = None
        return result

    def moved(self, state: plan.ChannelState, due: float) -> float:
        return max(due, self.held.get((self.local.key, state.name, state.attempts), 0.0))


DEFECTS["retry-after-in-memory"] = RetryAfterInMemory


class RetryAfterSecondsOnly(Reconciler):
    """Reads Retry-After only as delay-seconds and drops an HTTP-date (whose wait, unlike the
    seconds form's, is never a whole number of seconds here)."""

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        result = super().attempt(obj, channel, number)
        wait = result.error.retry_after if result.error is not None else None
        if result.error is not None and wait is not None and not float(wait).is_integer():
            result.error.retry_after = None
        return result


DEFECTS["retry-after-seconds-only"] = RetryAfterSecondsOnly


class ConnectionErrorsArePermanent(Reconciler):
    """Gives up on a webhook at the first connection error, as if the receiver had answered 4xx."""

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        result = super().attempt(obj, channel, number)
        if result.error is not None and channel["type"] == "webhook" and ": HTTP " not in str(result.error):
            result.error.retryable = False
        return result


DEFECTS["connection-errors-are-permanent"] = ConnectionErrorsArePermanent


class _OnlyOk(urllib3.PoolManager):
    def request(self, *args: Any, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        response = super().request(*args, **kwargs)
        if 200 < response.status < 300:
            response.status = 503
        return response


class OnlyOkSucceeds(Reconciler):
    """Takes only 200 for a success: a 202 or 204 looks like a failure and is sent again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channels.http = _OnlyOk(retries=False, maxsize=self.channels.http.connection_pool_kw["maxsize"])


DEFECTS["only-ok-succeeds"] = OnlyOkSucceeds
