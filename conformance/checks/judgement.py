"""The inputs of one judgement, read-only, and what is derived from them once: the attempt
times each channel is judged from and the verdict on every gap."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from conformance.binding.binding import ObservedAttempt
from conformance.checks.measure import ChannelTimes, Interval, channel_times, gap_range
from conformance.contract.tolerances import Tolerances
from conformance.observers.observation import STATUS, Observed
from conformance.scenarios import oracle
from conformance.scenarios.model import Scenario
from conformance.scenarios.plan import Plan

OK, EARLY, LATE = "ok", "early", "late"


@dataclass(frozen=True)
class Gap:
    """The gap before attempt ``attempt`` of a channel, and how it compares with its window."""

    channel: str
    attempt: int
    estimate: float
    """The difference of the two attempts' earliest times (their timestamps)."""
    range: Interval
    window: oracle.Window
    verdict: str

    @property
    def requirement(self) -> str:
        if self.verdict == EARLY:
            return "NR-RETRY-AFTER" if self.window.retry_after else "NR-BACKOFF-LOWER"
        return "NR-BACKOFF-CAP" if self.window.capped else "NR-BACKOFF-UPPER"


@dataclass(frozen=True)
class Judgement:
    scenario: Scenario
    expectation: oracle.Expectation
    observed: Observed
    tolerances: Tolerances
    precision: float
    features: tuple[str, ...]
    deadline: float
    """Seconds after creation by which the terminal phase must have been reached."""
    attempts: tuple[ObservedAttempt, ...]
    """The attempts status records on the scenario's channels."""
    strangers: tuple[str, ...]
    """Channels status records attempts on that the scenario does not have."""
    times: Mapping[str, ChannelTimes]
    gaps: Mapping[str, tuple[Gap, ...]]

    @property
    def deleting(self) -> bool:
        return self.scenario.actions.delete_after is not None

    def mine(self, channel: str) -> list[ObservedAttempt]:
        return [a for a in self.attempts if a.channel == channel]

    def after_creation(self, at: float) -> float:
        return at - self.observed.created


def judge(plan: Plan, observed: Observed) -> Judgement:
    scenario, tolerances, precision = plan.scenario, plan.tolerances, plan.precision
    known = {c.name for c in scenario.channels}
    attempts = tuple(a for a in observed.attempts if a.channel in known)
    strangers = tuple(sorted({a.channel for a in observed.attempts} - known))
    times = {
        c.name: channel_times(observed, c.name, [a for a in attempts if a.channel == c.name], precision)
        for c in scenario.channels
    }
    gaps = {c.name: _gaps(scenario, c.name, times[c.name], tolerances, observed) for c in scenario.channels}
    return Judgement(
        scenario,
        plan.expectation,
        observed,
        tolerances,
        precision,
        plan.features,
        plan.deadline,
        attempts,
        strangers,
        times,
        gaps,
    )


def _gaps(
    scenario: Scenario, name: str, times: ChannelTimes, tolerances: Tolerances, observed: Observed
) -> tuple[Gap, ...]:
    channel = scenario.channel(name)
    found = []
    for index in range(1, len(times.intervals)):
        earlier, later = times.intervals[index - 1], times.intervals[index]
        busy = oracle.busy(channel, index) if times.source != STATUS else 0.0
        window = oracle.channel_window(scenario.retry_policy, channel, index, tolerances, busy)
        window = _after_restart(window, earlier, later, observed, tolerances)
        possible = gap_range(earlier, later)
        verdict = EARLY if possible.high < window.low else LATE if possible.low > window.high else OK
        found.append(Gap(name, index + 1, later.low - earlier.low, possible, window, verdict))
    return tuple(found)


def _after_restart(
    window: oracle.Window, earlier: Interval, later: Interval, observed: Observed, tolerances: Tolerances
) -> oracle.Window:
    """The first attempt after a restart is late only if it also came more than the allowance
    after the restarted controller worked again: none can attempt anything before it runs."""
    restarted, resumed = observed.restarted_at, observed.resumed_at
    if restarted is None or resumed is None or not earlier.low < restarted <= later.high:
        return window
    since = resumed - earlier.low
    if since + tolerances.slack <= window.high:
        return window
    return dataclasses.replace(window, high=since + tolerances.slack, resumed=since)
