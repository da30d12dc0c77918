"""When each attempt really started, as far as the suite can tell: an interval per attempt.

A time seen outside (the sink's kernel stamp) is a point. A status timestamp truncated to
the binding's precision ``p`` says the attempt started in ``[t, t + p]``, and the attempt
cannot have started after the status write that first reported it reached the watch, so
``[t, min(t + p, received)]``. A gap between two attempts then lies in the difference of
their intervals; it is early only if even its largest value is too small, late only if
even its smallest is too large.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.binding.binding import ObservedAttempt
from conformance.observers.observation import STATUS, Observed


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


def status_interval(stamp: float, precision: float, reported: float | None) -> Interval:
    """An attempt dated ``stamp`` started in [stamp, stamp + precision], and not after ``reported``
    (when the first status write that recorded it arrived), if the suite saw that write."""
    high = stamp + precision if reported is None else min(stamp + precision, reported)
    return Interval(min(stamp, high), high)


def gap_range(earlier: Interval, later: Interval) -> Interval:
    """Every value the gap between the starts of two consecutive attempts can have (never below
    zero: a channel's next attempt starts after its previous one)."""
    return Interval(max(0.0, later.low - earlier.high), later.high - earlier.low)


@dataclass(frozen=True)
class ChannelTimes:
    """The attempt times a channel's gaps are judged from, and where they were seen."""

    source: str
    intervals: tuple[Interval, ...]


def channel_times(
    observed: Observed, channel: str, mine: list[ObservedAttempt], precision: float
) -> ChannelTimes:
    """Seen outside when every attempt is (webhooks), else from status, bounded by the watch."""
    external = observed.external.get(channel, [])
    if channel in observed.fully_observed and external and len(external) >= len(mine):
        return ChannelTimes(external[0].source, tuple(Interval(e.time, e.time) for e in external))
    intervals = []
    for attempt in mine:
        write = observed.first_write_with((channel, attempt.number))
        intervals.append(status_interval(attempt.time, precision, write.received if write else None))
    return ChannelTimes(STATUS, tuple(intervals))
