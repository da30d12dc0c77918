"""Rules on the attempts status records: their number, order, outcomes, and no repeat."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from conformance.checks.judgement import Judgement
from conformance.checks.violations import Violation
from conformance.scenarios import oracle

ORDERABLE_PRECISION = 1e-3
"""Timestamps this fine or finer tell any two attempts of a channel apart."""


def strangers(j: Judgement) -> Iterator[Violation]:
    if j.strangers:
        yield Violation(
            "NR-STATUS-TRUTHFUL",
            f"status records attempts on channels it does not have: {', '.join(map(repr, j.strangers))}",
        )


def attempts(j: Judgement) -> Iterator[Violation]:
    for channel in j.scenario.channels:
        yield from _channel(j, channel.name)


def _channel(j: Judgement, name: str) -> Iterator[Violation]:
    mine = j.mine(name)
    expected = j.expectation.outcomes[name]
    numbers = [a.number for a in mine]
    if numbers != list(range(1, len(mine) + 1)):
        yield Violation(
            "NR-ATTEMPT-ORDER",
            f"channel {name!r} attempts are numbered {', '.join(map(str, numbers))}, not 1..n",
            name,
        )
    times = [a.time for a in mine]
    # Two attempts may share a timestamp only when the binding's precision cannot tell them apart.
    orderable = j.precision <= ORDERABLE_PRECISION
    if any(
        later < earlier or (later == earlier and orderable) for earlier, later in itertools.pairwise(times)
    ):
        order = "strictly increase" if orderable else "increase"
        yield Violation("NR-ATTEMPT-ORDER", f"channel {name!r} attempt timestamps do not {order}", name)
    first_success = next((i for i, a in enumerate(mine) if a.outcome == oracle.SUCCESS), None)
    if first_success is not None and first_success + 1 < len(mine):
        again, succeeded = mine[first_success + 1], mine[first_success]
        yield Violation(
            "NR-NO-REDELIVERY",
            f"channel {name!r} succeeded at attempt {succeeded.number} and was attempted "
            f"again (attempt {again.number}, {again.time - succeeded.time:.3f}s later)",
            name,
            again.number,
            j.after_creation(again.time),
        )
    elif expected[-1] == oracle.PERMANENT and len(mine) > len(expected):
        retry = mine[len(expected)]
        yield Violation(
            "NR-PERMANENT-FAILURE",
            f"channel {name!r} got an answer that cannot succeed at attempt {len(expected)} "
            f"and was retried {len(mine) - len(expected)} times",
            name,
            retry.number,
            j.after_creation(retry.time),
        )
    elif len(mine) > len(expected) or (len(mine) < len(expected) and not j.deleting):
        extra = mine[len(expected)] if len(mine) > len(expected) else None
        yield Violation(
            "NR-ATTEMPT-COUNT",
            f"channel {name!r} was attempted {len(mine)} times; expected exactly {len(expected)}",
            name,
            extra.number if extra else None,
            j.after_creation(extra.time) if extra else None,
        )
    else:
        yield from _seen_too_often(j, name, len(expected))
    seen = [a.outcome for a in mine]
    wanted = [oracle.SUCCESS if o == oracle.SUCCESS else oracle.FAILURE for o in expected]
    if seen[: len(wanted)] != wanted[: len(seen)]:
        yield Violation(
            "NR-ATTEMPT-ORDER",
            f"channel {name!r} outcomes were {', '.join(seen) or 'none'}; expected {', '.join(wanted)}",
            name,
        )


def _seen_too_often(j: Judgement, name: str, expected: int) -> Iterator[Violation]:
    """More attempts seen from outside than the policy allows, whatever status says and
    whenever the terminal phase came: an extra attempt the controller never recorded, made
    before its terminal write reached the watch, is still one too many. Not where a restart
    may repeat an attempt that was in flight, nor where a deletion ends the count."""
    if name not in j.observed.fully_observed or j.scenario.actions.restart_after or j.deleting:
        return
    seen = j.observed.external.get(name, [])
    if len(seen) > expected:
        extra = seen[expected]
        yield Violation(
            "NR-ATTEMPT-COUNT",
            f"channel {name!r} was attempted {len(seen)} times as the {extra.source} saw it; "
            f"expected exactly {expected}",
            name,
            expected + 1,
            j.after_creation(extra.time),
        )
