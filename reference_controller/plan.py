"""Per-channel state derived from ``.status`` alone.

This is the time guard: whatever woke the reconciler (its own status write, a
label change, a resync, a restart), a channel is attempted only when its
recorded backoff has elapsed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from reference_controller import api
from reference_controller.api import Object
from reference_controller.timefmt import format_time, parse_duration, parse_time

PENDING, RETRYING, DELIVERED, EXHAUSTED = "Pending", "Retrying", "Delivered", "Exhausted"

RECORDS_PER_CHANNEL = 10
"""``deliveryAttempts`` keeps a channel's first attempt and its latest ``RECORDS_PER_CHANNEL - 1``.

The guard needs only the number of attempts made, which the channel summary carries, and
the last attempt, which is always kept: trimming the middle never changes what is due.
"""


@dataclass(frozen=True)
class ChannelState:
    name: str
    attempts: int
    state: str
    last_attempt: float | None
    next_due: float | None

    @property
    def settled(self) -> bool:
        return self.state in (DELIVERED, EXHAUSTED)


def nominal_backoff(policy: Object, attempts_made: int) -> float:
    """The gap before attempt ``attempts_made + 1``."""
    initial = parse_duration(policy["initialBackoff"])
    ceiling = parse_duration(policy["maxBackoff"])
    multiplier = float(policy["backoffMultiplier"])
    return float(min(initial * multiplier ** (attempts_made - 1), ceiling))


def attempt_counts(spec: Object, status: Object) -> dict[str, int]:
    """Attempts made per channel: the summary's count, or the records' where they hold more."""
    records = status.get("deliveryAttempts") or []
    summaries = {c["name"]: c for c in status.get("channels") or []}
    counts = {}
    for channel in spec["channels"]:
        name = channel["name"]
        kept = sum(1 for a in records if a["channel"] == name)
        counts[name] = max(kept, int(summaries.get(name, {}).get("attempts", 0)))
    return counts


def channel_states(spec: Object, status: Object, counts: dict[str, int] | None = None) -> list[ChannelState]:
    """Each channel's state; ``counts`` overrides the attempts made (records not yet summarised)."""
    policy = spec["retryPolicy"]
    jitter = policy.get("jitterPercent", 0) / 100
    attempts = status.get("deliveryAttempts") or []
    recorded = {c["name"]: c for c in status.get("channels") or []}
    made = attempt_counts(spec, status) if counts is None else counts
    states = []
    for channel in spec["channels"]:
        name = channel["name"]
        mine = [a for a in attempts if a["channel"] == name]
        if not mine:
            states.append(ChannelState(name, 0, PENDING, None, 0.0))
            continue
        last, count = mine[-1], made[name]
        last_time = parse_time(last["timestamp"])
        if any(a["outcome"] == api.SUCCESS for a in mine):
            states.append(ChannelState(name, count, DELIVERED, last_time, None))
        elif count >= policy["maxAttempts"] or last.get("retryable") is False:
            states.append(ChannelState(name, count, EXHAUSTED, last_time, None))
        else:
            backoff = nominal_backoff(policy, count) * (1 - jitter)
            earliest = last_time + max(backoff, float(last.get("retryAfterSeconds", 0.0)))
            drawn = recorded.get(name, {}).get("nextAttemptTime")
            due = max(parse_time(drawn), earliest) if drawn else earliest
            states.append(ChannelState(name, count, RETRYING, last_time, due))
    return states


def bounded(records: list[Object]) -> list[Object]:
    """The records to keep, in order: per channel the first and the latest ones."""
    positions: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        positions.setdefault(record["channel"], []).append(index)
    keep = set()
    for indexes in positions.values():
        keep.add(indexes[0])
        keep.update(indexes[-(RECORDS_PER_CHANNEL - 1) :])
    return [record for index, record in enumerate(records) if index in keep]


def summaries(spec: Object, states: list[ChannelState], previous: Object, rng: random.Random) -> list[Object]:
    """Status summaries; a retry time is drawn once (with jitter) and then kept."""
    policy = spec["retryPolicy"]
    jitter = policy.get("jitterPercent", 0) / 100
    before = {c["name"]: c for c in previous.get("channels") or []}
    result = []
    for state in states:
        summary: Object = {"name": state.name, "state": state.state, "attempts": state.attempts}
        if state.last_attempt is not None:
            summary["lastAttemptTime"] = format_time(state.last_attempt)
        if state.state == RETRYING:
            old = before.get(state.name, {})
            if old.get("attempts") == state.attempts and old.get("nextAttemptTime"):
                summary["nextAttemptTime"] = old["nextAttemptTime"]
            else:
                assert state.next_due is not None and state.last_attempt is not None
                gap = nominal_backoff(policy, state.attempts) * (1 + rng.uniform(-jitter, jitter))
                summary["nextAttemptTime"] = format_time(max(state.last_attempt + gap, state.next_due))
        result.append(summary)
    return result


def phase_of(states: list[ChannelState]) -> str:
    if all(s.state == DELIVERED for s in states):
        return api.SENT
    if all(s.settled for s in states):
        return api.PARTIALLY_SENT if any(s.state == DELIVERED for s in states) else api.FAILED
    if all(s.attempts == 0 for s in states):
        return api.PENDING
    return api.RETRYING
