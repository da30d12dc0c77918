"""When each receiver of an Alert may be tried next, derived from its status.

Status holds whole seconds, so from status alone a try began somewhere in
``[at, at + 1s)``. The guard assumes the latest start and the shortest jittered
backoff, so whatever wakes the controller (its own status write, a label change,
a restart) it is never early. Tries this process made itself are also remembered
to the microsecond (``starts``), which lets it be on time as well as never early.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from examples.alert_controller import api

JITTER = 0.1
"""Every retry waits its backoff times a factor in [1 - JITTER, 1 + JITTER]."""
PRECISION = 1.0
"""Seconds one status timestamp can hide."""


@dataclass(frozen=True)
class Receiver:
    id: str
    tries: int
    delivered: bool
    exhausted: bool
    due: float | None
    """Wall-clock time of the next try; None when the receiver is finished."""


def backoff(policy: Mapping[str, Any], tries_made: int) -> float:
    """Seconds between try ``tries_made`` and the next one, before jitter."""
    settings = policy["backoff"]
    base = settings["baseMillis"] / 1000
    ceiling = settings["ceilingMillis"] / 1000
    return float(min(base * float(settings.get("factor", 2)) ** (tries_made - 1), ceiling))


def jitter_factor(uid: str, receiver: str, number: int) -> float:
    """The same factor for the same try every time it is computed, in any process."""
    digest = hashlib.sha256(f"{uid}/{receiver}/{number}".encode()).digest()
    unit = int.from_bytes(digest[:8], "big") / 2**64
    return 1 - JITTER + 2 * JITTER * unit


def receivers(alert: api.Alert, starts: Mapping[tuple[str, str, int], float]) -> list[Receiver]:
    """Every receiver's progress; ``starts`` maps (uid, receiver, try) to exact start times."""
    spec, uid = alert["spec"], alert["metadata"]["uid"]
    history = (alert.get("status") or {}).get("history") or []
    limit = int(spec["delivery"]["attempts"])
    result = []
    for receiver in spec["receivers"]:
        mine = [h for h in history if h.get("receiver") == receiver["id"]]
        tries = len(mine)
        delivered = any(h.get("result") == api.OK for h in mine)
        exhausted = not delivered and tries >= limit
        due: float | None = None
        if tries == 0:
            due = 0.0
        elif not delivered and not exhausted:
            gap = backoff(spec["delivery"], tries)
            exact = starts.get((uid, receiver["id"], tries))
            if exact is not None:
                due = exact + gap * jitter_factor(uid, receiver["id"], tries + 1)
            else:
                latest_start = api.parse_time(mine[-1]["at"]) + PRECISION
                due = latest_start + gap * (1 - JITTER)
        result.append(Receiver(receiver["id"], tries, delivered, exhausted, due))
    return result


def state_of(progress: list[Receiver]) -> str:
    if all(r.delivered for r in progress):
        return api.DELIVERED
    if any(r.due is not None for r in progress):
        return api.BACKOFF
    return api.DEGRADED if any(r.delivered for r in progress) else api.UNDELIVERABLE
