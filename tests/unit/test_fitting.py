"""Scenarios fitted into an API's limits: the time factor, unreached caps, and what is not applicable."""

from __future__ import annotations

import pytest

from conformance.contract.requirements import REQUIREMENTS
from conformance.contract.tolerances import Tolerances
from conformance.scenarios import fitting, oracle
from conformance.scenarios.limits import Limits
from conformance.scenarios.load import load
from conformance.scenarios.model import Scenario
from tests.e2e.conftest import REPO
from tests.unit import limits_data

SCENARIOS = {s.name: s for s in load([REPO / "fixtures" / "scenarios"])}
STRICT = Limits.from_dict(limits_data.STRICT)
WHOLE_SECONDS = Limits.from_dict({"durations": "seconds"})
TOLERANCES = Tolerances()


def fitted(name: str, limits: Limits) -> Scenario:
    fit = fitting.fit(SCENARIOS[name], limits)
    assert fit.scenario is not None, fit.reason
    return fit.scenario


def gaps(scenario: Scenario) -> list[float]:
    count = max(oracle.expect(scenario).count(c.name) for c in scenario.channels)
    return [oracle.nominal_gap(scenario.retry_policy, k) for k in range(1, count)]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_an_api_without_limits_runs_every_scenario_as_written(name: str) -> None:
    assert fitting.fit(SCENARIOS[name], Limits()).scenario is SCENARIOS[name]


def test_sub_second_backoffs_are_scaled_by_the_smallest_whole_factor() -> None:
    scenario = fitted("recovers-after-3-failures", WHOLE_SECONDS)
    assert scenario.time_factor == 2
    assert scenario.retry_policy.written["initialBackoff"] == "1s"
    assert gaps(scenario) == [2 * g for g in gaps(SCENARIOS["recovers-after-3-failures"])]
    assert scenario.channels[0].timeout == 10.0


def test_every_duration_a_scenario_holds_is_scaled_and_the_tolerances_are_not() -> None:
    original = SCENARIOS["answer-slower-than-timeout"]
    scenario = fitting.scale(original, 3)
    hook = scenario.channels[0]
    assert (hook.timeout, hook.responses[0].delay) == (3.0, 4.5)
    assert scenario.retry_policy.written["initialBackoff"] == "1500ms"
    window = oracle.window(scenario.retry_policy, 1, TOLERANCES)
    assert (window.low, window.high) == pytest.approx((1.5 - TOLERANCES.epsilon, 1.5 + TOLERANCES.slack))
    assert fitting.scale(SCENARIOS["retry-after-on-429"], 3).channels[0].responses[0].retry_after == "6"
    touched = fitting.scale(SCENARIOS["touched-during-backoff"], 4)
    assert touched.actions.touch_every == pytest.approx(0.6)
    restarted = fitting.scale(SCENARIOS["restarted-late-in-backoff"], 2)
    assert restarted.actions.restart_delay == pytest.approx(5.0)


def test_the_quiet_window_is_scaled_with_the_scenario() -> None:
    scenario = fitted("readonly-file", STRICT)
    assert scenario.time_factor == 30
    # the next gap (60s) plus the unscaled slack, within the scaled bounds [30s, 90s]
    assert oracle.quiet_window(scenario, TOLERANCES) == pytest.approx(60 + TOLERANCES.slack)
    assert oracle.quiet_window(SCENARIOS["readonly-file"], TOLERANCES) == pytest.approx(2 + TOLERANCES.slack)


def test_a_reached_cap_below_the_minimum_scales_the_whole_scenario_and_flags_it_slow() -> None:
    scenario = fitted("readonly-file", STRICT)
    assert scenario.retry_policy.written["initialBackoff"] == "30s"
    assert scenario.retry_policy.written["maxBackoff"] == "60s"
    assert gaps(scenario) == [30.0, 60.0, 60.0]
    assert "slow" in scenario.flags and "slow" not in SCENARIOS["readonly-file"].flags
    assert oracle.window(scenario.retry_policy, 3, TOLERANCES).capped


def test_a_cap_never_reached_is_rendered_within_the_range_and_leaves_every_gap_alone() -> None:
    original = SCENARIOS["restarted-during-backoff"]
    assert not oracle.cap_reached(original)
    scenario = fitted("restarted-during-backoff", STRICT)
    assert scenario.time_factor == 1
    assert scenario.retry_policy.written["maxBackoff"] == "60s"
    assert gaps(scenario) == gaps(original) == [4.0, 8.0]
    assert "slow" not in scenario.flags


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "webhook-delivers",
            "channel 'only' is a webhook channel, which the API lacks (limits.channelTypes: console, file)",
        ),
        (
            "two-failing-channels-keep-their-own-schedules",
            "channel 'hook' is a webhook channel, which the API lacks (limits.channelTypes: console, file)",
        ),
    ],
)
def test_a_channel_type_the_api_lacks_is_not_applicable(name: str, reason: str) -> None:
    assert fitting.fit(SCENARIOS[name], STRICT).reason == reason


def test_two_channels_of_one_type_are_not_applicable_when_attempts_are_named_by_type() -> None:
    limits = Limits.from_dict({"channelIdentity": "type"})
    assert fitting.fit(SCENARIOS["mixed-recovers"], limits).reason == (
        "channels 'healthy' and 'flaky' are both webhook channels, and the API's attempt records "
        "name a channel by its type (limits.channelIdentity: type)"
    )


def test_a_fractional_multiplier_is_not_applicable_where_the_api_takes_integers() -> None:
    limits = Limits.from_dict({"retryPolicy": {"backoffMultiplier": {"integer": True}}})
    assert fitting.fit(SCENARIOS["fractional-multiplier"], limits).reason == (
        "retryPolicy.backoffMultiplier is 1.5, and the API's must be a whole number "
        "(limits.retryPolicy.backoffMultiplier)"
    )


def test_max_attempts_outside_the_range_is_not_applicable() -> None:
    limits = Limits.from_dict({"retryPolicy": {"maxAttempts": {"min": 2}}})
    assert fitting.fit(SCENARIOS["single-attempt-policy"], limits).reason == (
        "retryPolicy.maxAttempts is 1, and the API's must be at least 2 (limits.retryPolicy.maxAttempts)"
    )


def test_a_reached_cap_that_no_bounded_factor_fits_is_not_applicable() -> None:
    limits = Limits.from_dict({"retryPolicy": {"maxBackoff": {"min": "1h"}}})
    assert fitting.fit(SCENARIOS["cap-reached-early"], limits).reason == (
        "retryPolicy.maxBackoff 1s is reached and fits the API's limits (at least 3600s, a whole number "
        "of 1us) only scaled so far that the scenario would take over 600s (limits.retryPolicy.maxBackoff)"
    )


def test_a_webhook_timeout_below_the_minimum_scales_the_scenario() -> None:
    limits = Limits.from_dict({"webhookTimeout": {"min": "2s"}})
    scenario = fitted("answer-slower-than-timeout", limits)
    assert scenario.time_factor == 2
    assert scenario.channels[0].timeout == 2.0


def test_the_strict_limits_leave_at_least_fifteen_core_scenarios_that_prove_all_but_the_webhook_ones() -> (
    None
):
    fits = {name: fitting.fit(s, STRICT) for name, s in SCENARIOS.items() if s.features == ("core",)}
    applicable = {name for name, fit in fits.items() if fit.scenario is not None}
    assert len(applicable) >= 15
    proved = {rid for name in applicable for rid in SCENARIOS[name].requirements}
    core = {rid for rid, requirement in REQUIREMENTS.items() if requirement.feature == "core"}
    assert core - proved == {"NR-NO-OVERLAP", "NR-ISOLATION"}, "both need a webhook channel"
    assert {"NR-BACKOFF-CAP", "NR-RESTART-SAFE", "NR-SPURIOUS-RECONCILE", "NR-QUIET-AFTER-DELETE"} <= proved
    for name in applicable:
        scenario = fits[name].scenario
        assert scenario is not None
        policy = scenario.retry_policy
        assert policy.initial_backoff == int(policy.initial_backoff) >= 1
        assert 60 <= policy.max_backoff <= 3600
        assert fitting.expected_seconds(scenario, TOLERANCES) <= fitting.LONGEST_SCALED_RUN
