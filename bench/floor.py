"""The least time the suite can take, derived from the scenario files by the suite's own oracle.

A scenario cannot finish before its longest channel's backoff schedule has run
(each gap at its nominal value, or the time the previous attempt kept the
channel busy if that is longer) and the suite has then watched the quiet window
in which nothing more may happen. Scenarios flagged disruptive or serial run
alone, so they add up instead of overlapping.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.contract.tolerances import Tolerances
from conformance.scenarios import oracle
from conformance.scenarios.model import Scenario

ALONE = ("disruptive", "serial")


@dataclass(frozen=True)
class ScenarioFloor:
    name: str
    schedule: float
    """From creation to the end of the last attempt, every gap at its nominal value."""
    quiet: float
    """The window after the terminal phase (or deletion) in which the suite checks that nothing happens."""
    alone: bool

    @property
    def total(self) -> float:
        return self.schedule + self.quiet


def _channel_schedule(scenario: Scenario, channel_name: str, attempts: int) -> float:
    """Start of attempt 1 to the end of attempt ``attempts`` of one channel."""
    channel = scenario.channel(channel_name)
    policy = scenario.retry_policy
    elapsed = 0.0
    for made in range(1, attempts):
        nominal = oracle.window(
            policy, made, Tolerances(epsilon=0, slack=0), retry_after=oracle.retry_after(channel, made)
        ).nominal
        elapsed += max(nominal, oracle.busy(channel, made))
    return elapsed + oracle.busy(channel, attempts)


def scenario_floor(scenario: Scenario, tolerances: Tolerances) -> ScenarioFloor:
    expectation = oracle.expect(scenario)
    if scenario.actions.delete_after:
        channel, attempt = scenario.actions.delete_after
        schedule = _channel_schedule(scenario, channel, attempt)
    else:
        schedule = max(
            _channel_schedule(scenario, c.name, expectation.count(c.name)) for c in scenario.channels
        )
    alone = any(flag in scenario.flags for flag in ALONE)
    return ScenarioFloor(scenario.name, schedule, oracle.quiet_window(scenario, tolerances), alone)


@dataclass(frozen=True)
class SuiteFloor:
    startup: float
    """Control-plane start-up, measured."""
    scenarios: tuple[ScenarioFloor, ...]
    workers: int

    @property
    def longest(self) -> ScenarioFloor:
        return max(self.scenarios, key=lambda s: s.total)

    @property
    def floor(self) -> float:
        """The issue's floor: start-up plus the longest scenario's own time."""
        return self.startup + self.longest.total

    @property
    def alone_sum(self) -> float:
        return sum(s.total for s in self.scenarios if s.alone)

    @property
    def design_floor(self) -> float:
        """What the suite's design allows at best: scenarios that run alone add up; the rest
        overlap, limited by the longest of them and by the number of workers."""
        shared = [s.total for s in self.scenarios if not s.alone]
        parallel = max(max(shared, default=0.0), sum(shared) / self.workers)
        return self.startup + self.alone_sum + parallel
