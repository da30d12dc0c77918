"""Rules on what status says: counters, conditions, timestamps, batching, and agreement with
what the suite saw outside the controller."""

from __future__ import annotations

import re
from collections.abc import Iterator

from conformance.binding.binding import SUITE_PHASES, ObservedAttempt
from conformance.checks.judgement import Judgement
from conformance.checks.violations import Violation
from conformance.scenarios import oracle

_FRACTION = re.compile(r"T\d\d:\d\d:\d\d\.\d+")


def counters(j: Judgement) -> Iterator[Violation]:
    total = j.observed.total_attempts
    listed = len(j.observed.attempts)
    if "totalAttempts" in j.observed.exposed and total != listed:
        yield Violation("NR-STATUS-COUNTERS", f"totalAttempts is {total} but status lists {listed} attempts")


def conditions(j: Judgement) -> Iterator[Violation]:
    observed = j.observed
    if observed.final_phase not in SUITE_PHASES:
        return
    wanted = "True" if observed.final_phase == "Sent" else "False"
    if "conditions" in observed.exposed and observed.ready != wanted:
        yield Violation(
            "NR-STATUS-CONDITIONS",
            f"the phase is {observed.final_phase} but the Ready condition is {observed.ready}",
        )
    if "observedGeneration" in observed.exposed and observed.observed_generation != observed.generation:
        yield Violation(
            "NR-STATUS-CONDITIONS",
            f"observedGeneration is {observed.observed_generation}; metadata.generation is "
            f"{observed.generation}",
        )


def truthful(j: Judgement) -> Iterator[Violation]:
    for channel in j.scenario.channels:
        yield from _truthful(j, channel.name, j.mine(channel.name))


def _truthful(j: Judgement, channel: str, mine: list[ObservedAttempt]) -> Iterator[Violation]:
    observed, tolerances = j.observed, j.tolerances
    external = observed.external.get(channel, [])
    if channel in observed.fully_observed:
        if len(external) != len(mine):
            where = external[0].source if external else "sink"
            yield Violation(
                "NR-STATUS-TRUTHFUL",
                f"status records {len(mine)} attempts on channel {channel!r}; "
                f"{len(external)} were observed at the {where}",
                channel,
            )
        else:
            for attempt, event in zip(mine, external, strict=True):
                if abs(attempt.time - event.time) > tolerances.agreement + j.precision:
                    yield Violation(
                        "NR-STATUS-TRUTHFUL",
                        f"channel {channel!r} attempt {attempt.number} is recorded at a time "
                        f"{attempt.time - event.time:+.3f}s from when it was observed",
                        channel,
                        attempt.number,
                        j.after_creation(event.time),
                    )
                if (attempt.outcome == oracle.SUCCESS) != event.succeeded:
                    yield Violation(
                        "NR-STATUS-TRUTHFUL",
                        f"channel {channel!r} attempt {attempt.number} is recorded as {attempt.outcome} "
                        f"but was answered {event.detail}",
                        channel,
                        attempt.number,
                        j.after_creation(event.time),
                    )
    elif channel in observed.success_observed:
        recorded = sum(a.outcome == oracle.SUCCESS for a in mine)
        seen = sum(e.succeeded for e in external)
        if recorded != seen:
            yield Violation(
                "NR-STATUS-TRUTHFUL",
                f"status records {recorded} successful deliveries on channel {channel!r}; "
                f"{seen} were observed",
                channel,
            )
    for attempt in mine:
        write = observed.first_write_with((channel, attempt.number))
        if write and attempt.time > write.received + tolerances.epsilon + j.precision:
            yield Violation(
                "NR-STATUS-TRUTHFUL",
                f"channel {channel!r} attempt {attempt.number} is dated "
                f"{attempt.time - write.received:.3f}s after the status write that reported it arrived",
                channel,
                attempt.number,
                j.after_creation(write.received),
            )


def delivered_again(j: Judgement) -> Iterator[Violation]:
    """A delivery seen outside after the channel's first success is a repeat, whatever status says
    (when status shows the repeat itself, NR-NO-REDELIVERY is reported from status)."""
    for channel in j.scenario.channels:
        name = channel.name
        outcomes = [a.outcome for a in j.mine(name)]
        if oracle.SUCCESS in outcomes[:-1]:
            continue
        external = j.observed.external.get(name, [])
        first = next((i for i, e in enumerate(external) if e.succeeded), None)
        if first is None:
            continue
        if name in j.observed.fully_observed:
            again = external[first + 1 :]
        else:
            again = [e for e in external[first + 1 :] if e.succeeded]
        if again:
            yield Violation(
                "NR-NO-REDELIVERY",
                f"channel {name!r} was delivered {len(again)} more times after its first delivery "
                f"(seen via {again[0].source}, the first {again[0].time - external[first].time:.3f}s later)",
                name,
                moment=j.after_creation(again[0].time),
            )


def timestamps(j: Judgement) -> Iterator[Violation]:
    """Judged over the notification's timestamps together: a fraction that happens to be zero
    (which RFC 3339 writers drop) is no sign of coarse precision; only all of them lacking one is."""
    if j.precision >= 1.0:
        return
    stamps = [a.raw_time for a in j.attempts]
    if len(stamps) >= 2 and not any(_FRACTION.search(stamp) for stamp in stamps):
        yield Violation(
            "NR-TIMESTAMP-PRECISION",
            f"none of the {len(stamps)} attempt timestamps (such as {stamps[0]!r}) has the sub-second "
            "precision the binding declares",
        )


def batched(j: Judgement) -> Iterator[Violation]:
    """The first round is the one whose members are certain: every channel is due at creation.

    Later rounds depend on when each channel's own backoff ends, which an implementation may
    measure per channel, so the suite does not guess their membership.
    """
    first = [a for a in j.attempts if a.number == 1]
    writes = {
        w.resource_version
        for a in first
        if (w := j.observed.first_write_with((a.channel, a.number))) is not None
    }
    if len(writes) > 1:
        names = ", ".join(f"{a.channel}#{a.number}" for a in first)
        yield Violation(
            "NR-BATCHED-WRITES",
            f"the first delivery round ({names}) was recorded in {len(writes)} status writes, not one",
        )
