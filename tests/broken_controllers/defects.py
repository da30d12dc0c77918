"""One reconciler subclass per defect."""

from __future__ import annotations

import time
from typing import Any

from reference_controller import api, plan
from reference_controller.api import Object
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
    if obj is not None:
        obj["spec"]["retryPolicy"].update(changes)
    return obj


class OneAttemptTooMany(Reconciler):
    """Off by one: makes maxAttempts + 1 attempts."""

    def read(self, key: str) -> Object | None:
        obj = super().read(key)
        return _with_policy(obj, maxAttempts=obj["spec"]["retryPolicy"]["maxAttempts"] + 1) if obj else None


class IgnoresMaxBackoff(Reconciler):
    """Never caps the backoff."""

    def read(self, key: str) -> Object | None:
        return _with_policy(super().read(key), maxBackoff="24h")


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
        record["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started))
        return record


class WholeSecondTimestamps(Reconciler):
    """Records attempt times in whole seconds, as metav1.Time does, without declaring it."""

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        result = super().attempt(obj, channel, number)
        return _WholeSecondAttempt(
            result.channel, result.number, result.started, result.duration, result.error
        )


class PostdatesAttempts(Reconciler):
    """Records each attempt half a second later than it was made."""

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        result = super().attempt(obj, channel, number)
        return Attempt(result.channel, result.number, result.started + 0.5, result.duration, result.error)


class NumbersAcrossChannels(Reconciler):
    """Numbers attempts across the whole notification instead of per channel."""

    def deliver(self, obj: Object, due: list[plan.ChannelState]) -> list[Attempt]:
        total = len((obj.get("status") or {}).get("deliveryAttempts") or [])
        return [
            Attempt(a.channel, total + index + 1, a.started, a.duration, a.error)
            for index, a in enumerate(super().deliver(obj, due))
        ]


class RetriesAfterTerminal(Reconciler):
    """After the terminal phase, tries failed channels once more without recording it."""

    def reconcile(self, key: str) -> float | None:
        obj = self.read(key)
        status = (obj or {}).get("status") or {}
        if obj is None or status.get("phase") not in api.TERMINAL_PHASES:
            return super().reconcile(key)
        if obj["metadata"].get("annotations", {}).get("broken/extra") != "done":
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
