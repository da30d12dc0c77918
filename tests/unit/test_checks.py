"""The assertion engine on hand-made timelines: each rule must pass a good one and fail a bad one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conformance.binding.binding import ObservedAttempt
from conformance.checks import verdict as checks
from conformance.contract.tolerances import Tolerances
from conformance.observers.observation import SINK, ExternalEvent, Observed, StatusWrite
from conformance.scenarios import oracle
from conformance.scenarios.model import Actions, ChannelSpec, RetryPolicy, Scenario, SinkStep
from conformance.scenarios.plan import plan_for

T0 = 1_800_000_000.0
TOL = Tolerances(epsilon=0.05, slack=0.5)
POLICY = RetryPolicy.from_dict(
    {"maxAttempts": 4, "initialBackoff": "1s", "backoffMultiplier": 2, "maxBackoff": "2s", "jitterPercent": 0}
)
READONLY = Scenario(
    "readonly-file",
    "",
    (ChannelSpec("console", "console"), ChannelSpec("archive", "file", writable=False)),
    POLICY,
    "PartiallySent",
    ("core",),
    "test",
)
FLAKY = Scenario(
    "flaky",
    "",
    (ChannelSpec("hook", "webhook", responses=(SinkStep(503, times=2), SinkStep(200))),),
    POLICY,
    "Sent",
    ("core",),
    "test",
)


def stamp(offset: float) -> str:
    return datetime.fromtimestamp(T0 + offset, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def attempt(channel: str, number: int, offset: float, outcome: str) -> ObservedAttempt:
    return ObservedAttempt(channel, number, T0 + offset, outcome, stamp(offset))


def observe(
    attempts: list[ObservedAttempt],
    phase: str = "PartiallySent",
    rounds: list[list[ObservedAttempt]] | None = None,
) -> Observed:
    """An observation in which each round is written once, right after it ran."""
    writes, present = [], frozenset[tuple[str, int]]()
    for index, members in enumerate(rounds if rounds is not None else _rounds(attempts)):
        present = present | {(a.channel, a.number) for a in members}
        last = index == len(rounds if rounds is not None else _rounds(attempts)) - 1
        writes.append(
            StatusWrite(
                max(a.time for a in members) + 0.01, str(index), phase if last else "Retrying", present
            )
        )
    return Observed(
        created=T0,
        attempts=attempts,
        total_attempts=len(attempts),
        writes=writes,
        final_phase=phase,
        terminal_at=writes[-1].received if writes else None,
    )


def _rounds(attempts: list[ObservedAttempt]) -> list[list[ObservedAttempt]]:
    by_time: dict[float, list[ObservedAttempt]] = {}
    for a in attempts:
        by_time.setdefault(round(a.time, 1), []).append(a)
    return [by_time[t] for t in sorted(by_time)]


def good_readonly() -> list[ObservedAttempt]:
    return [
        attempt("console", 1, 0.001, "success"),
        attempt("archive", 1, 0.002, "failure"),
        attempt("archive", 2, 1.004, "failure"),
        attempt("archive", 3, 3.006, "failure"),
        attempt("archive", 4, 5.010, "failure"),
    ]


def requirements(verdict: checks.Verdict) -> list[str]:
    return verdict.requirements()


def test_a_correct_timeline_passes() -> None:
    verdict = checks.evaluate(
        plan_for(READONLY, TOL, features=("core", "batched-status")), observe(good_readonly())
    )
    assert verdict.violations == []
    assert [row.verdict for row in verdict.timeline] == ["ok"] * 5


def test_the_seed_bug_fails_the_lower_bound_naming_channel_attempt_gap_and_window() -> None:
    burst = [
        attempt("console", 1, 0.001, "success"),
        attempt("archive", 1, 0.002, "failure"),
        attempt("archive", 2, 0.010, "failure"),
        attempt("archive", 3, 0.020, "failure"),
        attempt("archive", 4, 0.030, "failure"),
    ]
    verdict = checks.evaluate(
        plan_for(READONLY, TOL, features=("core", "batched-status")),
        observe(burst, rounds=[[a] for a in burst]),
    )
    assert requirements(verdict) == ["NR-BACKOFF-LOWER", "NR-BATCHED-WRITES"]
    first = next(v for v in verdict.violations if v.requirement == "NR-BACKOFF-LOWER")
    assert first.message == (
        "channel 'archive' attempt 2 came 0.008s after attempt 1; the contract allows "
        "[0.950s, 1.500s] (nominal 1.000s, seen via status)"
    )


def test_a_gap_just_inside_epsilon_passes_and_just_outside_fails() -> None:
    inside = good_readonly()
    inside[2] = attempt("archive", 2, 0.002 + 0.951, "failure")
    assert checks.evaluate(plan_for(READONLY, TOL), observe(inside)).passed
    outside = good_readonly()
    outside[2] = attempt("archive", 2, 0.002 + 0.949, "failure")
    assert requirements(checks.evaluate(plan_for(READONLY, TOL), observe(outside))) == ["NR-BACKOFF-LOWER"]


def shifted(attempts: list[ObservedAttempt], index: int, offset: float) -> list[ObservedAttempt]:
    """Move attempt ``index`` and every later one by ``offset`` seconds."""
    return [
        attempt(a.channel, a.number, a.time - T0 + (offset if i >= index else 0.0), a.outcome)
        for i, a in enumerate(attempts)
    ]


def test_a_late_retry_breaks_the_upper_bound() -> None:
    late = shifted(good_readonly(), 2, 1.0)
    assert requirements(checks.evaluate(plan_for(READONLY, TOL), observe(late))) == ["NR-BACKOFF-UPPER"]


def test_a_gap_beyond_max_backoff_breaks_the_cap() -> None:
    late = shifted(good_readonly(), 4, 2.0)
    verdict = checks.evaluate(plan_for(READONLY, TOL), observe(late))
    assert requirements(verdict) == ["NR-BACKOFF-CAP"]
    assert "attempt 4 came 4.004s after attempt 3" in verdict.violations[0].message


def test_one_attempt_too_many() -> None:
    extra = [*good_readonly(), attempt("archive", 5, 7.02, "failure")]
    assert requirements(checks.evaluate(plan_for(READONLY, TOL), observe(extra))) == ["NR-ATTEMPT-COUNT"]


def test_attempting_a_succeeded_channel_again() -> None:
    again = [*good_readonly(), attempt("console", 2, 1.005, "success")]
    verdict = checks.evaluate(plan_for(READONLY, TOL), observe(again))
    assert "NR-NO-REDELIVERY" in requirements(verdict)
    assert "NR-ATTEMPT-COUNT" not in requirements(verdict)


def test_numbering_must_start_at_one() -> None:
    shifted = [
        ObservedAttempt(a.channel, a.number - 1, a.time, a.outcome, a.raw_time) for a in good_readonly()
    ]
    assert requirements(checks.evaluate(plan_for(READONLY, TOL), observe(shifted))) == ["NR-ATTEMPT-ORDER"]


def test_wrong_terminal_phase_and_no_terminal_phase() -> None:
    wrong = observe(good_readonly(), phase="Failed")
    assert requirements(checks.evaluate(plan_for(READONLY, TOL), wrong)) == ["NR-PHASE-TERMINAL"]
    stuck = observe(good_readonly(), phase="Retrying")
    stuck.terminal_at = None
    verdict = checks.evaluate(plan_for(READONLY, TOL), stuck)
    assert requirements(verdict) == ["NR-PHASE-TERMINAL"]
    assert "did not reach a terminal phase" in verdict.violations[0].message


def test_counter_must_match_the_attempts() -> None:
    observed = observe(good_readonly())
    observed.exposed = {"totalAttempts"}
    assert checks.evaluate(plan_for(READONLY, TOL), observed).passed
    observed.total_attempts = 4
    assert requirements(checks.evaluate(plan_for(READONLY, TOL), observed)) == ["NR-STATUS-COUNTERS"]
    observed.total_attempts = None
    assert requirements(checks.evaluate(plan_for(READONLY, TOL), observed)) == ["NR-STATUS-COUNTERS"]


def test_whole_second_timestamps_are_too_coarse() -> None:
    coarse = [
        ObservedAttempt(a.channel, a.number, a.time, a.outcome, a.raw_time.split(".")[0] + "Z")
        for a in good_readonly()
    ]
    assert requirements(checks.evaluate(plan_for(READONLY, TOL), observe(coarse))) == [
        "NR-TIMESTAMP-PRECISION"
    ]
    assert checks.evaluate(plan_for(READONLY, TOL, precision=1.0), observe(coarse)).passed


def sink_events(offsets: list[float], statuses: list[int]) -> list[ExternalEvent]:
    return [
        ExternalEvent("hook", T0 + o, SINK, 200 <= s < 300, f"HTTP {s}")
        for o, s in zip(offsets, statuses, strict=True)
    ]


def flaky_observed(sink_offsets: list[float]) -> Observed:
    attempts = [
        attempt("hook", 1, 0.001, "failure"),
        attempt("hook", 2, 1.003, "failure"),
        attempt("hook", 3, 3.005, "success"),
    ]
    observed = observe(attempts, phase="Sent")
    observed.external["hook"] = sink_events(sink_offsets, [503, 503, 200][: len(sink_offsets)])
    observed.fully_observed.add("hook")
    return observed


def test_gaps_of_webhooks_are_judged_from_the_sink() -> None:
    verdict = checks.evaluate(plan_for(FLAKY, TOL), flaky_observed([0.002, 1.004, 3.006]))
    assert verdict.passed
    assert {row.source for row in verdict.timeline} == {"sink"}


def test_status_must_agree_with_the_sink() -> None:
    missing = checks.evaluate(plan_for(FLAKY, TOL), flaky_observed([0.002, 1.004]))
    assert requirements(missing) == ["NR-STATUS-TRUTHFUL"]
    assert "status records 3 attempts on channel 'hook'; 2 were observed at the sink" in str(
        missing.violations[0]
    )
    skewed = checks.evaluate(plan_for(FLAKY, TOL), flaky_observed([0.002, 1.004, 3.6]))
    assert "NR-STATUS-TRUTHFUL" in requirements(skewed)


def test_postdated_attempts_are_caught_by_the_watch() -> None:
    observed = observe(good_readonly())
    observed.writes = [
        StatusWrite(w.received - 0.5, w.resource_version, w.phase, w.attempts) for w in observed.writes
    ]
    observed.terminal_at = observed.writes[-1].received
    assert "NR-STATUS-TRUTHFUL" in requirements(checks.evaluate(plan_for(READONLY, TOL), observed))


def test_delivery_after_the_terminal_phase() -> None:
    observed = flaky_observed([0.002, 1.004, 3.006])
    assert observed.terminal_at is not None
    observed.external["hook"].append(
        ExternalEvent("hook", observed.terminal_at + 2.0, SINK, True, "HTTP 200")
    )
    assert "NR-QUIET-AFTER-TERMINAL" in requirements(checks.evaluate(plan_for(FLAKY, TOL), observed))


def test_batched_writes_only_when_claimed() -> None:
    attempts = good_readonly()
    split = [[attempts[0]], [attempts[1]], [attempts[2]], [attempts[3]], [attempts[4]]]
    observed = observe(attempts, rounds=split)
    assert checks.evaluate(plan_for(READONLY, TOL), observed).passed
    verdict = checks.evaluate(plan_for(READONLY, TOL, features=("core", "batched-status")), observed)
    assert requirements(verdict) == ["NR-BATCHED-WRITES"]


@pytest.mark.parametrize("jitter", [0, 20])
def test_declared_jitter_widens_the_window(jitter: int) -> None:
    policy = RetryPolicy.from_dict({**POLICY.written, "jitterPercent": jitter})
    scenario = Scenario("j", "", READONLY.channels, policy, "PartiallySent", ("core",), "test")
    early = good_readonly()
    early[2] = attempt("archive", 2, 0.002 + 0.85, "failure")
    passed = checks.evaluate(plan_for(scenario, TOL), observe(early)).passed
    assert passed is (jitter == 20)


def webhook_scenario(
    *steps: SinkStep, timeout: float = 5.0, policy: RetryPolicy = POLICY, phase: str = "Sent", **extra: object
) -> Scenario:
    channel = ChannelSpec("hook", "webhook", responses=steps, timeout=timeout)
    return Scenario("s", "", (channel,), policy, phase, ("core",), "test", **extra)  # type: ignore[arg-type]


def webhook_observed(
    offsets: list[float],
    statuses: list[int],
    keys: list[str] | None = None,
    phase: str = "Sent",
    timed_out: tuple[int, ...] = (),
) -> Observed:
    """Status and sink agree; attempts listed in ``timed_out`` (0-based) were answered too late."""
    succeeded = [200 <= s < 300 and i not in timed_out for i, s in enumerate(statuses)]
    attempts = [
        attempt("hook", i + 1, offset, "success" if ok else "failure")
        for i, (offset, ok) in enumerate(zip(offsets, succeeded, strict=True))
    ]
    observed = observe(attempts, phase=phase)
    observed.external["hook"] = [
        ExternalEvent("hook", T0 + offset + 0.001, SINK, ok, f"HTTP {status}", key)
        for offset, status, ok, key in zip(
            offsets, statuses, succeeded, keys or ["k"] * len(offsets), strict=True
        )
    ]
    observed.fully_observed.add("hook")
    return observed


def test_retry_after_holds_the_next_attempt_back() -> None:
    scenario = webhook_scenario(SinkStep(429, times=1, retry_after="3"), SinkStep(200))
    assert checks.evaluate(plan_for(scenario, TOL), webhook_observed([0.0, 3.02], [429, 200])).passed
    early = checks.evaluate(plan_for(scenario, TOL), webhook_observed([0.0, 1.02], [429, 200]))
    assert requirements(early) == ["NR-RETRY-AFTER"]


def test_a_permanent_failure_must_not_be_retried() -> None:
    scenario = webhook_scenario(SinkStep(404), phase="Failed")
    assert checks.evaluate(plan_for(scenario, TOL), webhook_observed([0.0], [404], phase="Failed")).passed
    retried = checks.evaluate(
        plan_for(scenario, TOL), webhook_observed([0.0, 1.01], [404, 404], phase="Failed")
    )
    assert requirements(retried) == ["NR-PERMANENT-FAILURE"]


def test_an_attempt_must_not_start_before_the_previous_one_ended() -> None:
    policy = RetryPolicy.from_dict({**POLICY.written, "initialBackoff": "500ms"})
    scenario = webhook_scenario(SinkStep(200, times=1, delay=2.0), SinkStep(200), timeout=1.0, policy=policy)
    assert checks.evaluate(
        plan_for(scenario, TOL), webhook_observed([0.0, 1.01], [200, 200], timed_out=(0,))
    ).passed
    overlapping = checks.evaluate(
        plan_for(scenario, TOL), webhook_observed([0.0, 0.51], [200, 200], timed_out=(0,))
    )
    assert "NR-NO-OVERLAP" in requirements(overlapping)


def test_ready_condition_and_generation_must_match_the_phase() -> None:
    observed = observe(good_readonly())
    observed.exposed = {"conditions", "observedGeneration"}
    observed.generation, observed.observed_generation, observed.ready = 1, 1, "False"
    assert checks.evaluate(plan_for(READONLY, TOL), observed).passed
    for ready, generation in (("True", 1), (None, 1), ("False", 0), ("False", None)):
        observed.ready, observed.observed_generation = ready, generation
        assert requirements(checks.evaluate(plan_for(READONLY, TOL), observed)) == ["NR-STATUS-CONDITIONS"]


def test_completion_time_is_required_when_exposed_and_not_before_the_last_attempt() -> None:
    observed = observe(good_readonly())
    assert checks.evaluate(plan_for(READONLY, TOL), observed).passed
    observed.exposed = {"completionTime"}
    assert requirements(checks.evaluate(plan_for(READONLY, TOL), observed)) == ["NR-COMPLETION-TIME"]
    observed.completion_time = T0 + 4.0
    assert requirements(checks.evaluate(plan_for(READONLY, TOL), observed)) == ["NR-COMPLETION-TIME"]
    observed.completion_time = T0 + 5.02
    assert checks.evaluate(plan_for(READONLY, TOL), observed).passed


def test_nothing_may_happen_after_deletion() -> None:
    scenario = webhook_scenario(SinkStep(503), phase="Failed")
    deleting = Scenario(
        "d", "", scenario.channels, POLICY, None, ("core",), "test", actions=Actions(delete_after=("hook", 1))
    )
    observed = webhook_observed([0.0], [503], phase="Retrying")
    observed.deleted_at = T0 + 0.1
    assert checks.evaluate(plan_for(deleting, TOL), observed).passed
    observed.external["hook"].append(ExternalEvent("hook", T0 + 1.0, SINK, False, "HTTP 503"))
    assert requirements(checks.evaluate(plan_for(deleting, TOL), observed)) == ["NR-QUIET-AFTER-DELETE"]


def test_idempotency_keys_are_stable_per_channel_when_claimed() -> None:
    scenario = webhook_scenario(SinkStep(503, times=2), SinkStep(200))
    features = ("core", "idempotency-key")
    stable = webhook_observed([0.0, 1.01, 3.02], [503, 503, 200], keys=["k", "k", "k"])
    assert checks.evaluate(plan_for(scenario, TOL, features=features), stable).passed
    changing = webhook_observed([0.0, 1.01, 3.02], [503, 503, 200], keys=["k1", "k2", "k3"])
    assert requirements(checks.evaluate(plan_for(scenario, TOL, features=features), changing)) == [
        "NR-IDEMPOTENCY-KEY"
    ]
    missing = webhook_observed([0.0, 1.01, 3.02], [503, 503, 200], keys=["k", "", "k"])
    assert requirements(checks.evaluate(plan_for(scenario, TOL, features=features), missing)) == [
        "NR-IDEMPOTENCY-KEY"
    ]


def test_a_failure_while_touching_fails_the_spurious_reconcile_requirement() -> None:
    touched = Scenario(
        "t",
        "",
        READONLY.channels,
        POLICY,
        "PartiallySent",
        ("core",),
        "test",
        requirements=("NR-SPURIOUS-RECONCILE",),
        actions=Actions(touch_every=0.15),
    )
    observed = observe(shifted(good_readonly(), 2, -0.8))
    observed.touches = 12
    verdict = checks.evaluate(plan_for(touched, TOL), observed)
    assert requirements(verdict) == ["NR-BACKOFF-LOWER", "NR-SPURIOUS-RECONCILE"]
    assert "touched the object 12 times" in verdict.violations[-1].message
    assert checks.evaluate(plan_for(touched, TOL), observe(good_readonly())).passed


def test_independently_jittered_channels_are_not_one_round() -> None:
    policy = RetryPolicy.from_dict({**POLICY.written, "jitterPercent": 20})
    scenario = Scenario(
        "j",
        "",
        (*READONLY.channels[1:], ChannelSpec("hook", "webhook", responses=(SinkStep(503),))),
        policy,
        "Failed",
        ("core",),
        "test",
    )
    attempts = [
        attempt("archive", 1, 0.001, "failure"),
        attempt("hook", 1, 0.002, "failure"),
        attempt("archive", 2, 0.95, "failure"),
        attempt("hook", 2, 1.1, "failure"),
    ]
    rounds = [attempts[:2], [attempts[2]], [attempts[3]]]
    observed = observe(attempts, phase="Failed", rounds=rounds)
    verdict = checks.evaluate(plan_for(scenario, TOL, features=("core", "batched-status")), observed)
    assert "NR-BATCHED-WRITES" not in requirements(verdict)


def test_attempts_on_unknown_channels_are_untruthful() -> None:
    observed = observe([*good_readonly(), attempt("ghost", 1, 0.003, "success")])
    assert "NR-STATUS-TRUTHFUL" in requirements(checks.evaluate(plan_for(READONLY, TOL), observed))


def test_other_notifications_must_not_wait_for_a_hanging_one() -> None:
    observed = observe(good_readonly())
    observed.companion_latency = {"companion-1": 0.05, "companion-2": 0.2}
    assert checks.evaluate(plan_for(READONLY, TOL), observed).passed
    observed.companion_latency["companion-3"] = 3.01
    observed.companion_latency["companion-4"] = None
    verdict = checks.evaluate(plan_for(READONLY, TOL), observed)
    assert requirements(verdict) == ["NR-ISOLATION"]
    assert [v.message for v in verdict.violations] == [
        "the companion notification 'companion-3' was first attempted 3.010s after it was created; "
        "the allowance is 0.500s",
        "the companion notification 'companion-4' was never attempted",
    ]


def whole_second(a: ObservedAttempt) -> ObservedAttempt:
    """The attempt as an API with one-second timestamps records it: truncated."""
    seconds = float(int(a.time))
    raw = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ObservedAttempt(a.channel, a.number, seconds, a.outcome, raw)


def test_a_declared_precision_widens_status_gaps_by_exactly_that_much() -> None:
    window = oracle.window(POLICY, 1, TOL, precision=1.0)
    assert (window.low, window.high) == pytest.approx((1.0 - 0.05 - 1.0, 1.0 + 0.5 + 1.0))
    for extra, with_precision in ((-0.01, True), (0.01, False)):
        late = shifted(good_readonly(), 2, 1.5 + 1.0 - 1.0 + extra)  # gap 1 + slack + precision + extra
        assert requirements(checks.evaluate(plan_for(READONLY, TOL), observe(late))) == ["NR-BACKOFF-UPPER"]
        passed = checks.evaluate(plan_for(READONLY, TOL, precision=1.0), observe(late)).passed
        assert passed is with_precision


def test_truncated_timestamps_pass_when_the_precision_is_declared() -> None:
    # T0 is a whole second: attempts 0.952s apart at +0.999 and +1.951 are recorded at +0 and +1.
    precise = good_readonly()
    precise[1] = attempt("archive", 1, 0.999, "failure")
    precise[2] = attempt("archive", 2, 0.999 + 0.952, "failure")
    coarse = [whole_second(a) for a in precise]
    assert checks.evaluate(plan_for(READONLY, TOL, precision=1.0), observe(coarse)).passed
    assert "NR-TIMESTAMP-PRECISION" in requirements(checks.evaluate(plan_for(READONLY, TOL), observe(coarse)))


def test_whole_second_timestamps_may_repeat_but_not_go_back() -> None:
    quick = RetryPolicy.from_dict({**POLICY.written, "initialBackoff": "400ms", "maxBackoff": "400ms"})
    scenario = Scenario("q", "", READONLY.channels, quick, "PartiallySent", ("core",), "test")
    same_second = [
        attempt("console", 1, 0.001, "success"),
        attempt("archive", 1, 0.002, "failure"),
        attempt("archive", 2, 0.402, "failure"),
        attempt("archive", 3, 0.802, "failure"),
        attempt("archive", 4, 1.202, "failure"),
    ]
    coarse = [whole_second(a) for a in same_second]
    assert [a.time - T0 for a in coarse[1:]] == [0.0, 0.0, 0.0, 1.0]
    assert checks.evaluate(
        plan_for(scenario, TOL, precision=1.0), observe(coarse, rounds=[[a] for a in coarse])
    ).passed
    verdict = checks.evaluate(plan_for(scenario, TOL), observe(coarse, rounds=[[a] for a in coarse]))
    assert "channel 'archive' attempt timestamps do not strictly increase" in [
        v.message for v in verdict.violations
    ]
    backwards = [*coarse[:3], whole_second(attempt("archive", 4, -1.0, "failure"))]
    verdict = checks.evaluate(
        plan_for(scenario, TOL, precision=1.0), observe(backwards, rounds=[[a] for a in backwards])
    )
    assert "channel 'archive' attempt timestamps do not increase" in [v.message for v in verdict.violations]


def test_status_may_differ_from_the_sink_by_the_agreement_plus_the_precision_only() -> None:
    scenario = webhook_scenario(SinkStep(503, times=2), SinkStep(200))
    observed = flaky_observed([0.002, 1.004, 3.006])
    for offset, allowed in ((TOL.agreement + 0.99, True), (TOL.agreement + 1.01, False)):
        observed.external["hook"][1] = ExternalEvent("hook", T0 + 1.003 + offset, SINK, False, "HTTP 503")
        observed.external["hook"][2] = ExternalEvent("hook", T0 + 3.006 + offset, SINK, True, "HTTP 200")
        verdict = checks.evaluate(plan_for(scenario, TOL, precision=1.0), observed)
        assert ("NR-STATUS-TRUTHFUL" not in requirements(verdict)) is allowed, verdict.violations


def test_gaps_seen_at_the_sink_are_not_widened_by_the_status_precision() -> None:
    early = flaky_observed([0.002, 0.5, 2.5])
    verdict = checks.evaluate(plan_for(FLAKY, TOL, precision=1.0), early)
    assert "NR-BACKOFF-LOWER" in requirements(verdict)
