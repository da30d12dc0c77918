"""What a Broadcast owes each of its targets, derived from its status alone.

Level-triggered: whatever wakes the controller (its own status write, a label
change, a restart), the attempts recorded in status decide which target is due.
A target that failed ``n`` times is due again at the start of its attempt ``n``
plus ``initialDelaySeconds * factor^(n-1)``, capped at ``maxDelaySeconds``. The
recorded start is truncated to the millisecond, so the guard adds that
millisecond back and is never early.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from examples.strict_controller import api


@dataclass(frozen=True)
class RetryPolicy:
    limit: int
    initial_delay: int
    factor: int
    max_delay: int

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> RetryPolicy:
        retry = spec["retry"]
        return cls(
            int(retry["limit"]),
            int(retry["initialDelaySeconds"]),
            int(retry["factor"]),
            int(retry["maxDelaySeconds"]),
        )

    def delay(self, made: int) -> int:
        """Whole seconds from the start of attempt ``made`` (from 1) to the start of the next."""
        return min(self.initial_delay * int(self.factor ** (made - 1)), self.max_delay)


@dataclass(frozen=True)
class Target:
    """One target's progress: ``due`` is when its next attempt may start, None when it owes none."""

    type: str
    made: int
    delivered: bool
    due: float | None


def targets(broadcast: api.Broadcast) -> list[Target]:
    spec = broadcast["spec"]
    policy = RetryPolicy.of(spec)
    attempts = (broadcast.get("status") or {}).get("attempts") or []
    result = []
    for target in spec["targets"]:
        mine = [a for a in attempts if a.get("target") == target["type"]]
        delivered = any(a.get("outcome") == api.SUCCEEDED for a in mine)
        due: float | None = None
        if not mine:
            due = 0.0
        elif not delivered and len(mine) < policy.limit:
            last = max(mine, key=lambda a: int(a["number"]))
            due = api.parse_time(last["startedAt"]) + api.PRECISION + policy.delay(len(mine))
        result.append(Target(target["type"], len(mine), delivered, due))
    return result


def phase_of(progress: Sequence[Target]) -> str:
    """The phase the recorded attempts put the Broadcast in."""
    if all(t.made == 0 for t in progress):
        return api.PENDING
    delivered = any(t.delivered for t in progress)
    if all(t.delivered for t in progress):
        return api.DELIVERED
    if any(t.due is not None for t in progress):
        return api.WAITING if delivered else api.DELIVERING
    return api.PARTIAL if delivered else api.FAILED


def due_now(progress: Iterable[Target], phase: str, now: float, guarded: frozenset[str]) -> list[Target]:
    """The targets to attempt in this reconcile. The guard holds in the ``guarded`` phases, which
    for a conforming controller are all of them; outside them every owed target is due at once."""
    owed = [t for t in progress if t.due is not None]
    if phase not in guarded:
        return owed
    return [t for t in owed if t.due is not None and t.due <= now]


def next_due(progress: Iterable[Target]) -> float | None:
    """When the earliest owed attempt is due by the schedule, or None when nothing is owed."""
    times = [t.due for t in progress if t.due is not None]
    return min(times) if times else None


def status_after(
    broadcast: api.Broadcast, records: Sequence[Mapping[str, Any]], now: float
) -> dict[str, Any]:
    """The status that records a round: its attempts added to those already there (once each, so
    that writing again after a conflict adds nothing twice), the count, the phase they lead to,
    and the completion time once that phase is terminal."""
    status = dict(broadcast.get("status") or {})
    attempts = list(status.get("attempts") or [])
    present = {(a["target"], a["number"]) for a in attempts}
    attempts += [dict(r) for r in records if (r["target"], r["number"]) not in present]
    status.update(attempts=attempts, attemptCount=len(attempts))
    status["phase"] = phase_of(targets(dict(broadcast, status=status)))
    if status["phase"] in api.TERMINAL:
        status.setdefault("completedAt", api.timestamp(now))
    return status
