"""A scenario planned once, before it runs: what a correct controller must do (the oracle's
expectation and gap windows), how long the suite waits for it and watches afterwards, and
what the binding declares about the implementation. The run, the observers and the checks
all read the same plan rather than asking the oracle again.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.contract.tolerances import Tolerances
from conformance.scenarios import oracle
from conformance.scenarios.model import Scenario

DEADLINE_MARGIN = 10.0
"""Seconds beyond the slowest channel's schedule before a missing terminal phase fails."""


@dataclass(frozen=True)
class Plan:
    scenario: Scenario
    """As the implementation runs it (with the binding's jitter, if it declares one)."""
    tolerances: Tolerances
    precision: float
    """The binding's timestamp precision, in seconds."""
    features: tuple[str, ...]
    """The features the binding claims."""
    expectation: oracle.Expectation
    windows: dict[str, tuple[oracle.Window, ...]]
    """Per channel, the allowed gap before each expected retry as status records it
    (the first entry is the gap between attempts 1 and 2)."""
    deadline: float
    """Seconds after creation by which the terminal phase must have been reached."""
    quiet_window: float
    """Seconds to keep watching after the object settled: long enough for one more retry."""


def plan_for(
    scenario: Scenario,
    tolerances: Tolerances,
    precision: float = 1e-6,
    features: tuple[str, ...] = ("core",),
) -> Plan:
    expectation = oracle.expect(scenario)
    windows = {
        channel.name: tuple(
            oracle.channel_window(scenario.retry_policy, channel, k, tolerances)
            for k in range(1, expectation.count(channel.name))
        )
        for channel in scenario.channels
    }
    longest = max(
        (
            sum(w.high for w in windows[channel.name]) + expectation.count(channel.name) * channel.timeout
            for channel in scenario.channels
        ),
        default=0.0,
    )
    return Plan(
        scenario=scenario,
        tolerances=tolerances,
        precision=precision,
        features=features,
        expectation=expectation,
        windows=windows,
        deadline=longest + DEADLINE_MARGIN,
        quiet_window=oracle.quiet_window(scenario, tolerances),
    )
