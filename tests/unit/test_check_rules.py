"""The assertion engine's newer rules, its rule table and its blame, on hand-made observations."""

from __future__ import annotations

import copy

import pytest

from conformance.checks import rules
from conformance.contract.requirements import REQUIREMENTS
from conformance.observers.observation import FILE, SINK, ExternalEvent, StatusWrite
from conformance.scenarios.model import ChannelSpec, Scenario, SinkStep
from tests.unit.test_checks import (
    FLAKY,
    POLICY,
    READONLY,
    T0,
    TOL,
    attempt,
    evaluate,
    flaky_observed,
    good_readonly,
    observe,
    requirements,
    webhook_observed,
    webhook_scenario,
)


def test_every_requirement_is_judged_by_a_rule_or_by_blame() -> None:
    named = rules.named()
    for rid, requirement in REQUIREMENTS.items():
        assert (rid in named) != requirement.scenario_level, rid
    for rule in rules.RULES:
        gated = rule.feature != "core"
        assert not gated or {REQUIREMENTS[rid].feature for rid in rule.requirements} == {rule.feature}


def test_judging_leaves_the_observation_as_it_was() -> None:
    observed = observe([*good_readonly(), attempt("ghost", 1, 0.003, "success")])
    before = copy.deepcopy(observed)
    verdict = evaluate(READONLY, observed, TOL)
    assert "NR-STATUS-TRUTHFUL" in requirements(verdict)
    assert observed == before


def test_a_terminal_phase_one_backoff_after_the_last_attempt_is_late() -> None:
    observed = observe(good_readonly())
    last = observed.writes[-1]
    observed.writes[-1] = StatusWrite(last.received, last.resource_version, "Retrying", last.attempts)
    observed.writes.append(StatusWrite(last.received + 2.0, "late", "PartiallySent", last.attempts))
    observed.terminal_at = last.received + 2.0
    verdict = evaluate(READONLY, observed, TOL)
    assert requirements(verdict) == ["NR-PHASE-TIMELY"]
    assert verdict.violations[0].message == (
        "status recorded every attempt owed, 5 (console 1, archive 4), 5.020s after creation in a write "
        "that said Retrying, but the terminal phase PartiallySent came 2.000s later; the allowance is "
        "0.500s (meanwhile 1 writes said Retrying, though no channel was owed an attempt)"
    )
    assert verdict.violations[0].moment == pytest.approx(7.02)


def test_a_terminal_phase_within_the_allowance_of_the_last_attempt_is_timely() -> None:
    observed = observe(good_readonly())
    last = observed.writes[-1]
    observed.writes[-1] = StatusWrite(last.received, last.resource_version, "Retrying", last.attempts)
    observed.writes.append(StatusWrite(last.received + 0.4, "soon", "PartiallySent", last.attempts))
    observed.terminal_at = last.received + 0.4
    assert evaluate(READONLY, observed, TOL).passed


def test_no_terminal_phase_names_the_deadline_and_the_attempts_made() -> None:
    stuck = observe(good_readonly()[:3], phase="Retrying")
    stuck.terminal_at = None
    verdict = evaluate(READONLY, stuck, TOL)
    message = next(v.message for v in verdict.violations if v.requirement == "NR-PHASE-TERMINAL")
    assert message == (
        "the notification did not reach a terminal phase within 36.500s of its creation (last phase: "
        "Retrying) after 3 attempts (console 1, archive 2); expected PartiallySent after 5 "
        "(console 1, archive 4)"
    )


def test_a_second_delivery_seen_in_the_files_is_a_redelivery() -> None:
    writable = Scenario("w", "", (ChannelSpec("archive", "file"),), POLICY, "Sent", ("core",), "test")
    observed = observe([attempt("archive", 1, 0.002, "success")], phase="Sent")
    observed.external["archive"] = [
        ExternalEvent("archive", T0 + 0.003, FILE, True, "file written"),
        ExternalEvent("archive", T0 + 0.9, FILE, True, "file written"),
    ]
    observed.success_observed.add("archive")
    verdict = evaluate(writable, observed, TOL)
    assert requirements(verdict) == ["NR-NO-REDELIVERY", "NR-QUIET-AFTER-TERMINAL", "NR-STATUS-TRUTHFUL"]
    again = next(v for v in verdict.violations if v.requirement == "NR-NO-REDELIVERY")
    assert again.message == (
        "channel 'archive' was delivered 1 more times after its first delivery (seen via file, the first "
        "0.897s later)"
    )


def test_a_request_after_success_seen_at_the_sink_is_a_redelivery() -> None:
    observed = flaky_observed([0.002, 1.004, 3.006])
    observed.external["hook"].append(ExternalEvent("hook", T0 + 3.2, SINK, True, "HTTP 200"))
    assert "NR-NO-REDELIVERY" in requirements(evaluate(FLAKY, observed, TOL))


def test_an_attempt_ends_when_the_controller_hangs_up_if_that_is_first() -> None:
    from conformance.scenarios.model import RetryPolicy

    policy = RetryPolicy.from_dict({**POLICY.written, "initialBackoff": "500ms"})
    scenario = webhook_scenario(SinkStep(200, times=1, delay=2.0), SinkStep(200), timeout=1.0, policy=policy)
    hung_up = webhook_observed([0.0, 0.6], [200, 200], timed_out=(0,))
    first = hung_up.external["hook"][0]
    hung_up.external["hook"][0] = ExternalEvent(
        first.channel, first.time, first.source, False, first.detail, first.key, ended=T0 + 0.05
    )
    assert "NR-NO-OVERLAP" not in requirements(evaluate(scenario, hung_up, TOL))
    still_open = webhook_observed([0.0, 0.6], [200, 200], timed_out=(0,))
    first = still_open.external["hook"][0]
    still_open.external["hook"][0] = ExternalEvent(
        first.channel, first.time, first.source, False, first.detail, first.key, ended=T0 + 2.0
    )
    overlapping = evaluate(scenario, still_open, TOL)
    assert "NR-NO-OVERLAP" in requirements(overlapping)
    assert "started 0.400s before attempt 1 ended" in str(overlapping.violations)


CREDENTIALED = Scenario(
    "c",
    "",
    (ChannelSpec("hook", "webhook", responses=(SinkStep(200),), secret="present"),),
    POLICY,
    "Sent",
    ("credentials",),
    "test",
)
FEATURES = ("core", "credentials")


def test_a_request_without_the_token_breaks_the_credentials_requirement() -> None:
    observed = webhook_observed([0.0], [200])
    event = observed.external["hook"][0]
    observed.external["hook"][0] = ExternalEvent(
        event.channel, event.time, event.source, True, event.detail, authorized=True
    )
    assert evaluate(CREDENTIALED, observed, TOL, features=FEATURES).passed
    observed.external["hook"][0] = ExternalEvent(
        event.channel, event.time, event.source, True, event.detail, authorized=False
    )
    verdict = evaluate(CREDENTIALED, observed, TOL, features=FEATURES)
    assert requirements(verdict) == ["NR-CREDENTIALS"]
    assert (verdict.violations[0].channel, verdict.violations[0].attempt) == ("hook", 1)
    assert evaluate(CREDENTIALED, observed, TOL).passed, "judged only when the feature is claimed"


def test_a_request_sent_without_its_secret_breaks_the_credentials_requirement() -> None:
    channel = ChannelSpec("hook", "webhook", responses=(SinkStep(200),), secret="missing")
    scenario = Scenario("m", "", (channel,), POLICY, "Failed", ("credentials",), "test")
    failing = [
        attempt("hook", n, offset, "failure") for n, offset in ((1, 0.0), (2, 1.01), (3, 3.02), (4, 5.03))
    ]
    observed = observe(failing, phase="Failed")
    assert evaluate(scenario, observed, TOL, features=FEATURES).passed
    observed.external["hook"] = [ExternalEvent("hook", T0 + 0.001, SINK, False, "HTTP 200")]
    verdict = evaluate(scenario, observed, TOL, features=FEATURES)
    assert requirements(verdict) == ["NR-CREDENTIALS"]
    assert "although its Secret does not exist" in verdict.violations[0].message


def test_a_token_seen_anywhere_breaks_the_secrecy_requirement() -> None:
    observed = webhook_observed([0.0], [200])
    observed.secret_leaks = {"hook": ("status", "the controller's output")}
    verdict = evaluate(CREDENTIALED, observed, TOL, features=FEATURES)
    assert requirements(verdict) == ["NR-SECRET-HIDDEN"]
    assert verdict.violations[0].message == (
        "the token of channel 'hook''s Secret appears in status, the controller's output"
    )


def test_violations_say_where_they_apply() -> None:
    late = observe([*good_readonly()[:2], attempt("archive", 2, 2.5, "failure"), *good_readonly()[3:]])
    verdict = evaluate(READONLY, late, TOL)
    [violation] = [v for v in verdict.violations if v.requirement == "NR-BACKOFF-UPPER"]
    assert violation.as_dict() == {
        "requirement": "NR-BACKOFF-UPPER",
        "message": violation.message,
        "channel": "archive",
        "attempt": 2,
        "moment": 2.5,
    }
