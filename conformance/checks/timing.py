"""Rules on when attempts come: each gap within its window, no overlap, no waiting on others."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from conformance.checks.judgement import OK, Gap, Judgement
from conformance.checks.violations import Violation
from conformance.scenarios import oracle

VISIBLE_WIDTH = 1e-3
"""A gap known no better than this says so in its message."""


def gaps(j: Judgement) -> Iterator[Violation]:
    for channel in j.scenario.channels:
        times = j.times[channel.name]
        for gap in j.gaps[channel.name]:
            if gap.verdict == OK:
                continue
            yield Violation(
                gap.requirement,
                describe(gap, times.source),
                channel.name,
                gap.attempt,
                j.after_creation(times.intervals[gap.attempt - 1].low),
            )


def describe(gap: Gap, source: str) -> str:
    text = f"channel {gap.channel!r} attempt {gap.attempt} came {gap.estimate:.3f}s after attempt "
    text += str(gap.attempt - 1)
    if gap.range.width > VISIBLE_WIDTH:
        text += (
            f" (between {gap.range.low:.3f}s and {gap.range.high:.3f}s, given the timestamps' precision "
            "and when the status writes reporting them arrived)"
        )
    window = gap.window
    text += (
        f"; the contract allows [{window.low:.3f}s, {window.high:.3f}s] "
        f"(nominal {window.nominal:.3f}s, seen via {source})"
    )
    if window.resumed is not None:
        text += (
            f"; the restarted controller delivered the suite's probe {window.resumed:.3f}s after attempt "
            f"{gap.attempt - 1}, and the upper bound counts from then"
        )
    return text


def overlap(j: Judgement) -> Iterator[Violation]:
    """An attempt ends with its answer or the channel's timeout, or earlier when the controller
    closed the connection first (the sink notes when)."""
    for channel in j.scenario.channels:
        if channel.name not in j.observed.fully_observed:
            continue
        events = j.observed.external.get(channel.name, [])
        for index, (earlier, later) in enumerate(itertools.pairwise(events), start=1):
            ended = earlier.time + oracle.busy(channel, index)
            if earlier.ended is not None:
                ended = min(ended, earlier.ended)
            if later.time < ended - j.tolerances.epsilon:
                yield Violation(
                    "NR-NO-OVERLAP",
                    f"channel {channel.name!r} attempt {index + 1} started {ended - later.time:.3f}s before "
                    f"attempt {index} ended",
                    channel.name,
                    index + 1,
                    j.after_creation(later.time),
                )


def isolation(j: Judgement) -> Iterator[Violation]:
    for name, latency in j.observed.companion_latency.items():
        if latency is None:
            yield Violation("NR-ISOLATION", f"the companion notification {name!r} was never attempted")
        elif latency > j.tolerances.slack:
            yield Violation(
                "NR-ISOLATION",
                f"the companion notification {name!r} was first attempted {latency:.3f}s after it was "
                f"created; the allowance is {j.tolerances.slack:.3f}s",
            )
