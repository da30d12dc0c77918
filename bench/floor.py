"""The least time the suite can take, derived from the scenario files by the suite's own oracle.

A scenario cannot finish before its longest channel's backoff schedule has run
(each gap at its nominal value, or the time the previous attempt kept the
channel busy if that is longer) and the suite has then watched the quiet window
in which nothing more may happen. The run starts every selected scenario at once,
each in a thread of its own, once the control plane is up; a disruptive scenario
gets a controller instance of its own when the controller command takes
``{namespace}``, so it overlaps the others too. The floor is therefore the
control plane's start-up plus the longest scenario. Only a scenario that must run
alone (flagged serial, or disruptive under a command without ``{namespace}``)
cannot overlap the others; the table says which, if any.

``report_ratio`` is the other reading of the same idea, the one the run's own
summary line prints: from its report alone, the run's duration against the
control plane's start-up plus the longest scenario as measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.contract.tolerances import Tolerances
from conformance.plugin import runs_alone
from conformance.scenarios import oracle
from conformance.scenarios.model import Scenario


@dataclass(frozen=True)
class ScenarioFloor:
    name: str
    schedule: float
    """From creation to the end of the last attempt, every gap at its nominal value."""
    quiet: float
    """The window after the terminal phase (or deletion) in which the suite checks that nothing happens."""
    disruptive: bool
    """Restarts its controller: with a ``{namespace}`` command, an instance of its own."""
    alone: bool
    """Must hold the run's exclusive lease, so overlaps no other scenario."""

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


def scenario_floor(scenario: Scenario, tolerances: Tolerances, scoped: bool = True) -> ScenarioFloor:
    """``scoped``: the controller command takes ``{namespace}`` (the suite's default does)."""
    expectation = oracle.expect(scenario)
    if scenario.actions.delete_after:
        channel, attempt = scenario.actions.delete_after
        schedule = _channel_schedule(scenario, channel, attempt)
    else:
        schedule = max(
            _channel_schedule(scenario, c.name, expectation.count(c.name)) for c in scenario.channels
        )
    return ScenarioFloor(
        scenario.name,
        schedule,
        oracle.quiet_window(scenario, tolerances),
        "disruptive" in scenario.flags,
        runs_alone(scenario, scoped),
    )


@dataclass(frozen=True)
class SuiteFloor:
    startup: float
    """Control-plane start-up, measured."""
    scenarios: tuple[ScenarioFloor, ...]

    @property
    def longest(self) -> ScenarioFloor:
        return max(self.scenarios, key=lambda s: s.total)

    @property
    def floor(self) -> float:
        """The issue's floor: start-up plus the longest scenario's own time."""
        return self.startup + self.longest.total


def report_ratio(report: dict[str, Any]) -> dict[str, Any] | None:
    """The run's time against its floor as its own summary line computes it, from the report:
    ``statistics.durationSeconds / (environment.clusterStartSeconds + max(scenarios[].durationSeconds))``.
    None when the report lacks either part (no scenario ran, or no control-plane start-up)."""
    scenarios = report.get("scenarios") or []
    startup = (report.get("environment") or {}).get("clusterStartSeconds")
    if not scenarios or startup is None:
        return None
    longest = max(scenarios, key=lambda s: float(s["durationSeconds"]))
    floor = float(startup) + float(longest["durationSeconds"])
    if floor <= 0:
        return None
    duration = float(report["statistics"]["durationSeconds"])
    return {
        "durationSeconds": duration,
        "controlPlaneSeconds": float(startup),
        "longestScenario": longest["scenario"],
        "longestSeconds": float(longest["durationSeconds"]),
        "floorSeconds": round(floor, 3),
        "ratio": round(duration / floor, 3),
    }
