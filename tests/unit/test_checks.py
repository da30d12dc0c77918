"""The assertion engine on hand-made timelines: each rule must pass a good one and fail a bad one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from conformance.binding.binding import ObservedAttempt
from conformance.checks import measure as checks_measure
from conformance.checks import verdict as checks
from conformance.contract.tolerances import Tolerances
from conformance.observers.observation import FUSE, SINK, ExternalEvent, Observed, StatusWrite
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


def evaluate(
    scenario: Scenario,
    observed: Observed,
    tolerances: Tolerances = TOL,
    precision: float = 1e-6,
    features: tuple[str, ...] = ("core",),
) -> checks.Verdict:
    """The verdict, with the scenario planned as the run plans it."""
    return checks.evaluate(plan_for(scenario, tolerances, precision, features), observed)


def requirements(verdict: checks.Verdict) -> list[str]:
    return verdict.requirements()


def test_a_correct_timeline_passes() -> None:
    verdict = evaluate(READONLY, observe(good_readonly()), TOL, features=("core", "batched-status"))
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
    verdict = evaluate(
        READONLY, observe(burst, rounds=[[a] for a in burst]), TOL, features=("core", "batched-status")
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
    assert evaluate(READONLY, observe(inside), TOL).passed
    outside = good_readonly()
    outside[2] = attempt("archive", 2, 0.002 + 0.949, "failure")
    assert requirements(evaluate(READONLY, observe(outside), TOL)) == ["NR-BACKOFF-LOWER"]


def shifted(attempts: list[ObservedAttempt], index: int, offset: float) -> list[ObservedAttempt]:
    """Move attempt ``index`` and every later one by ``offset`` seconds."""
    return [
        attempt(a.channel, a.number, a.time - T0 + (offset if i >= index else 0.0), a.outcome)
        for i, a in enumerate(attempts)
    ]


def test_a_late_retry_breaks_the_upper_bound() -> None:
    late = shifted(good_readonly(), 2, 1.0)
    assert requirements(evaluate(READONLY, observe(late), TOL)) == ["NR-BACKOFF-UPPER"]


def test_a_gap_beyond_max_backoff_breaks_the_cap() -> None:
    late = shifted(good_readonly(), 4, 2.0)
    verdict = evaluate(READONLY, observe(late), TOL)
    assert requirements(verdict) == ["NR-BACKOFF-CAP"]
    assert "attempt 4 came 4.004s after attempt 3" in verdict.violations[0].message


def test_one_attempt_too_many() -> None:
    extra = [*good_readonly(), attempt("archive", 5, 7.02, "failure")]
    assert requirements(evaluate(READONLY, observe(extra), TOL)) == ["NR-ATTEMPT-COUNT"]


def test_attempting_a_succeeded_channel_again() -> None:
    again = [*good_readonly(), attempt("console", 2, 1.005, "success")]
    verdict = evaluate(READONLY, observe(again), TOL)
    assert "NR-NO-REDELIVERY" in requirements(verdict)
    assert "NR-ATTEMPT-COUNT" not in requirements(verdict)


def test_numbering_must_start_at_one() -> None:
    shifted = [
        ObservedAttempt(a.channel, a.number - 1, a.time, a.outcome, a.raw_time) for a in good_readonly()
    ]
    assert requirements(evaluate(READONLY, observe(shifted), TOL)) == ["NR-ATTEMPT-ORDER"]


def test_wrong_terminal_phase_and_no_terminal_phase() -> None:
    wrong = observe(good_readonly(), phase="Failed")
    assert requirements(evaluate(READONLY, wrong, TOL)) == ["NR-PHASE-TERMINAL"]
    stuck = observe(good_readonly(), phase="Retrying")
    stuck.terminal_at = None
    verdict = evaluate(READONLY, stuck, TOL)
    assert requirements(verdict) == ["NR-PHASE-TERMINAL"]
    assert "did not reach a terminal phase" in verdict.violations[0].message


def test_counter_must_match_the_attempts() -> None:
    observed = observe(good_readonly())
    observed.exposed = {"totalAttempts"}
    assert evaluate(READONLY, observed, TOL).passed
    observed.total_attempts = 4
    assert requirements(evaluate(READONLY, observed, TOL)) == ["NR-STATUS-COUNTERS"]
    observed.total_attempts = None
    assert requirements(evaluate(READONLY, observed, TOL)) == ["NR-STATUS-COUNTERS"]


def test_whole_second_timestamps_are_too_coarse() -> None:
    coarse = [
        ObservedAttempt(a.channel, a.number, a.time, a.outcome, a.raw_time.split(".")[0] + "Z")
        for a in good_readonly()
    ]
    assert requirements(evaluate(READONLY, observe(coarse), TOL)) == ["NR-TIMESTAMP-PRECISION"]
    assert evaluate(READONLY, observe(coarse), TOL, precision=1.0).passed


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
    verdict = evaluate(FLAKY, flaky_observed([0.002, 1.004, 3.006]), TOL)
    assert verdict.passed
    assert {row.source for row in verdict.timeline} == {"sink"}


def test_status_must_agree_with_the_sink() -> None:
    missing = evaluate(FLAKY, flaky_observed([0.002, 1.004]), TOL)
    assert requirements(missing) == ["NR-STATUS-TRUTHFUL"]
    assert "status records 3 attempts on channel 'hook'; 2 were observed at the sink" in str(
        missing.violations[0]
    )
    skewed = evaluate(FLAKY, flaky_observed([0.002, 1.004, 3.6]), TOL)
    assert "NR-STATUS-TRUTHFUL" in requirements(skewed)


def test_postdated_attempts_are_caught_by_the_watch() -> None:
    observed = observe(good_readonly())
    observed.writes = [
        StatusWrite(w.received - 0.5, w.resource_version, w.phase, w.attempts) for w in observed.writes
    ]
    observed.terminal_at = observed.writes[-1].received
    assert "NR-STATUS-TRUTHFUL" in requirements(evaluate(READONLY, observed, TOL))


def test_an_attempt_status_never_recorded_is_one_too_many_whenever_it_came() -> None:
    observed = flaky_observed([0.002, 1.004, 3.006])
    observed.external["hook"].append(ExternalEvent("hook", T0 + 3.01, SINK, True, "HTTP 200"))
    assert observed.terminal_at is not None and observed.terminal_at > T0 + 3.01  # before the watch saw it
    violations = evaluate(FLAKY, observed, TOL).violations
    assert "channel 'hook' was attempted 4 times as the sink saw it; expected exactly 3" in [
        v.message for v in violations if v.requirement == "NR-ATTEMPT-COUNT"
    ]


def test_delivery_after_the_terminal_phase() -> None:
    observed = flaky_observed([0.002, 1.004, 3.006])
    assert observed.terminal_at is not None
    observed.external["hook"].append(
        ExternalEvent("hook", observed.terminal_at + 2.0, SINK, True, "HTTP 200")
    )
    assert "NR-QUIET-AFTER-TERMINAL" in requirements(evaluate(FLAKY, observed, TOL))


def test_batched_writes_only_when_claimed() -> None:
    attempts = good_readonly()
    split = [[attempts[0]], [attempts[1]], [attempts[2]], [attempts[3]], [attempts[4]]]
    observed = observe(attempts, rounds=split)
    assert evaluate(READONLY, observed, TOL).passed
    verdict = evaluate(READONLY, observed, TOL, features=("core", "batched-status"))
    assert requirements(verdict) == ["NR-BATCHED-WRITES"]


@pytest.mark.parametrize("jitter", [0, 20])
def test_declared_jitter_widens_the_window(jitter: int) -> None:
    policy = RetryPolicy.from_dict({**POLICY.written, "jitterPercent": jitter})
    scenario = Scenario("j", "", READONLY.channels, policy, "PartiallySent", ("core",), "test")
    early = good_readonly()
    early[2] = attempt("archive", 2, 0.002 + 0.85, "failure")
    passed = evaluate(scenario, observe(early), TOL).passed
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
    assert evaluate(scenario, webhook_observed([0.0, 3.02], [429, 200]), TOL).passed
    early = evaluate(scenario, webhook_observed([0.0, 1.02], [429, 200]), TOL)
    assert requirements(early) == ["NR-RETRY-AFTER"]


def test_a_permanent_failure_must_not_be_retried() -> None:
    scenario = webhook_scenario(SinkStep(404), phase="Failed")
    assert evaluate(scenario, webhook_observed([0.0], [404], phase="Failed"), TOL).passed
    retried = evaluate(scenario, webhook_observed([0.0, 1.01], [404, 404], phase="Failed"), TOL)
    assert requirements(retried) == ["NR-PERMANENT-FAILURE"]


def test_an_attempt_must_not_start_before_the_previous_one_ended() -> None:
    policy = RetryPolicy.from_dict({**POLICY.written, "initialBackoff": "500ms"})
    scenario = webhook_scenario(SinkStep(200, times=1, delay=2.0), SinkStep(200), timeout=1.0, policy=policy)
    assert evaluate(scenario, webhook_observed([0.0, 1.01], [200, 200], timed_out=(0,)), TOL).passed
    overlapping = evaluate(scenario, webhook_observed([0.0, 0.51], [200, 200], timed_out=(0,)), TOL)
    assert "NR-NO-OVERLAP" in requirements(overlapping)


def test_ready_condition_and_generation_must_match_the_phase() -> None:
    observed = observe(good_readonly())
    observed.exposed = {"conditions", "observedGeneration"}
    observed.generation, observed.observed_generation, observed.ready = 1, 1, "False"
    assert evaluate(READONLY, observed, TOL).passed
    for ready, generation in (("True", 1), (None, 1), ("False", 0), ("False", None)):
        observed.ready, observed.observed_generation = ready, generation
        assert requirements(evaluate(READONLY, observed, TOL)) == ["NR-STATUS-CONDITIONS"]


def test_completion_time_is_required_when_exposed_and_not_before_the_last_attempt() -> None:
    observed = observe(good_readonly())
    assert evaluate(READONLY, observed, TOL).passed
    observed.exposed = {"completionTime"}
    assert requirements(evaluate(READONLY, observed, TOL)) == ["NR-COMPLETION-TIME"]
    observed.completion_time = T0 + 4.0
    assert requirements(evaluate(READONLY, observed, TOL)) == ["NR-COMPLETION-TIME"]
    observed.completion_time = T0 + 5.02
    assert evaluate(READONLY, observed, TOL).passed


def test_nothing_may_happen_after_deletion() -> None:
    scenario = webhook_scenario(SinkStep(503), phase="Failed")
    deleting = Scenario(
        "d", "", scenario.channels, POLICY, None, ("core",), "test", actions=Actions(delete_after=("hook", 1))
    )
    observed = webhook_observed([0.0], [503], phase="Retrying")
    observed.deleted_at = T0 + 0.1
    assert evaluate(deleting, observed, TOL).passed
    observed.external["hook"].append(ExternalEvent("hook", T0 + 1.0, SINK, False, "HTTP 503"))
    assert requirements(evaluate(deleting, observed, TOL)) == ["NR-QUIET-AFTER-DELETE"]


def test_idempotency_keys_are_stable_per_channel_when_claimed() -> None:
    scenario = webhook_scenario(SinkStep(503, times=2), SinkStep(200))
    features = ("core", "idempotency-key")
    stable = webhook_observed([0.0, 1.01, 3.02], [503, 503, 200], keys=["k", "k", "k"])
    assert evaluate(scenario, stable, TOL, features=features).passed
    changing = webhook_observed([0.0, 1.01, 3.02], [503, 503, 200], keys=["k1", "k2", "k3"])
    assert requirements(evaluate(scenario, changing, TOL, features=features)) == ["NR-IDEMPOTENCY-KEY"]
    missing = webhook_observed([0.0, 1.01, 3.02], [503, 503, 200], keys=["k", "", "k"])
    assert requirements(evaluate(scenario, missing, TOL, features=features)) == ["NR-IDEMPOTENCY-KEY"]


TOUCHED = replace(
    READONLY,
    name="t",
    requirements=("NR-SPURIOUS-RECONCILE", "NR-BACKOFF-LOWER"),
    actions=Actions(touch_every=0.15),
)


def test_a_failure_while_touching_fails_the_spurious_reconcile_requirement() -> None:
    touched = replace(TOUCHED, requirements=("NR-SPURIOUS-RECONCILE",))
    observed = observe(shifted(good_readonly(), 2, -0.8))
    observed.touches, observed.touched_at = 12, T0 + 0.15
    verdict = evaluate(touched, observed, TOL)
    assert requirements(verdict) == ["NR-BACKOFF-LOWER", "NR-SPURIOUS-RECONCILE"]
    blamed = verdict.violations[-1]
    assert blamed.message.startswith(
        "after the suite began touching the object (it did so 12 times) at 0.150s: [NR-BACKOFF-LOWER] "
        "channel 'archive' attempt 2 came 0.202s after attempt 1"
    )
    assert (blamed.channel, blamed.attempt) == ("archive", 2)
    assert evaluate(touched, observe(good_readonly()), TOL).passed


def test_a_cap_bug_while_touching_keeps_its_own_requirement_alone() -> None:
    observed = observe(shifted(good_readonly(), 4, 2.0))
    observed.touches, observed.touched_at = 30, T0 + 0.15
    assert requirements(evaluate(TOUCHED, observed, TOL)) == ["NR-BACKOFF-CAP"]


def test_an_early_attempt_before_the_first_touch_is_not_blamed_on_touching() -> None:
    observed = observe(shifted(good_readonly(), 2, -0.8))
    observed.touches, observed.touched_at = 1, T0 + 3.0
    assert requirements(evaluate(TOUCHED, observed, TOL)) == ["NR-BACKOFF-LOWER"]


RESTARTED = replace(
    READONLY,
    name="r",
    requirements=("NR-RESTART-SAFE",),
    flags=("disruptive",),
    actions=Actions(restart_after=("archive", 1)),
)


def test_a_restart_is_blamed_for_a_late_next_attempt_only() -> None:
    next_late = observe(shifted(good_readonly(), 2, 1.0))
    next_late.restarted_at = T0 + 0.5
    assert requirements(evaluate(RESTARTED, next_late, TOL)) == ["NR-BACKOFF-UPPER", "NR-RESTART-SAFE"]
    later_late = observe(shifted(good_readonly(), 3, 1.0))
    later_late.restarted_at = T0 + 0.5
    assert requirements(evaluate(RESTARTED, later_late, TOL)) == ["NR-BACKOFF-UPPER"]


def restarted(attempts: list[ObservedAttempt], resumed: float | None) -> Observed:
    """Restarted at 0.5s; the restarted controller delivered the probe at ``resumed``."""
    observed = observe(attempts)
    observed.restarted_at = T0 + 0.5
    observed.resumed_at = T0 + resumed if resumed is not None else None
    return observed


def test_a_slow_restart_excuses_a_late_next_attempt_up_to_the_allowance_after_it() -> None:
    """The restarted controller worked again at 2.5s, after attempt 2 was due (1.002s): an attempt
    within the allowance after that passes, a later one fails and says where the bound came from."""
    in_time = restarted(shifted(good_readonly(), 2, 1.8), resumed=2.5)
    assert evaluate(RESTARTED, in_time, TOL).violations == []
    too_late = restarted(shifted(good_readonly(), 2, 2.6), resumed=2.5)
    verdict = evaluate(RESTARTED, too_late, TOL)
    assert requirements(verdict) == ["NR-BACKOFF-UPPER", "NR-RESTART-SAFE"]
    assert "probe 2.498s after attempt 1, and the upper bound counts from then" in str(verdict.violations[0])


def test_only_the_first_attempt_after_a_restart_counts_from_the_controllers_return() -> None:
    later_late = restarted(shifted(good_readonly(), 3, 1.0), resumed=2.5)
    assert requirements(evaluate(RESTARTED, later_late, TOL)) == ["NR-BACKOFF-UPPER"]
    early = restarted(shifted(good_readonly(), 2, -0.5), resumed=0.6)
    assert "NR-BACKOFF-LOWER" in requirements(evaluate(RESTARTED, early, TOL))


def test_a_quick_restart_leaves_the_schedules_bound_alone() -> None:
    next_late = restarted(shifted(good_readonly(), 2, 1.0), resumed=0.8)
    assert requirements(evaluate(RESTARTED, next_late, TOL)) == ["NR-BACKOFF-UPPER", "NR-RESTART-SAFE"]
    assert "probe" not in str(evaluate(RESTARTED, next_late, TOL).violations[0])


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
    verdict = evaluate(scenario, observed, TOL, features=("core", "batched-status"))
    assert "NR-BATCHED-WRITES" not in requirements(verdict)


def test_attempts_on_unknown_channels_are_untruthful() -> None:
    observed = observe([*good_readonly(), attempt("ghost", 1, 0.003, "success")])
    assert "NR-STATUS-TRUTHFUL" in requirements(evaluate(READONLY, observed, TOL))


def test_other_notifications_must_not_wait_for_a_hanging_one() -> None:
    observed = observe(good_readonly())
    observed.companion_latency = {"companion-1": 0.05, "companion-2": 0.2}
    assert evaluate(READONLY, observed, TOL).passed
    observed.companion_latency["companion-3"] = 3.01
    observed.companion_latency["companion-4"] = None
    verdict = evaluate(READONLY, observed, TOL)
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


def recorded_coarsely(
    real: list[ObservedAttempt], rounds: list[list[ObservedAttempt]] | None = None
) -> Observed:
    """What the suite sees of ``real`` attempts recorded in whole seconds: each round's write
    arrives 10ms after the real attempts, and carries their truncated timestamps."""
    observed = observe(real, rounds=rounds)
    observed.attempts = [whole_second(a) for a in real]
    return observed


def test_a_status_interval_is_the_timestamp_to_its_precision_cut_by_the_watch() -> None:
    assert checks_measure.status_interval(10.0, 1.0, None) == checks_measure.Interval(10.0, 11.0)
    assert checks_measure.status_interval(10.0, 1.0, 10.3) == checks_measure.Interval(10.0, 10.3)
    assert checks_measure.status_interval(10.0, 1e-6, 12.0) == checks_measure.Interval(10.0, 10.000001)
    # dated after the write that reported it (NR-STATUS-TRUTHFUL): the write still bounds it
    assert checks_measure.status_interval(10.0, 1.0, 9.5) == checks_measure.Interval(9.5, 9.5)


def test_a_gap_lies_in_the_difference_of_its_attempts_intervals() -> None:
    gap = checks_measure.gap_range(checks_measure.Interval(0.0, 0.51), checks_measure.Interval(1.0, 1.01))
    assert (gap.low, gap.high) == pytest.approx((0.49, 1.01))


def test_whole_second_retries_far_below_the_backoff_fail_although_each_timestamp_allows_it() -> None:
    """1s backoff, whole-second timestamps, retries 0.17s, 0.33s and 0.6s after the previous
    attempt: windows widened by the precision alone ([-0.05s, 2.5s]) pass them all; the watch's
    arrival times bound the attempts and expose them."""
    constant = RetryPolicy.from_dict({**POLICY.written, "maxBackoff": "1s"})
    scenario = Scenario("coarse", "", READONLY.channels, constant, "PartiallySent", ("core",), "test")
    real = [
        attempt("console", 1, 0.5, "success"),
        attempt("archive", 1, 0.5, "failure"),
        attempt("archive", 2, 0.67, "failure"),
        attempt("archive", 3, 1.0, "failure"),
        attempt("archive", 4, 1.6, "failure"),
    ]
    verdict = evaluate(scenario, recorded_coarsely(real, [real[:2], *[[a] for a in real[2:]]]), TOL, 1.0)
    early = [v for v in verdict.violations if v.requirement == "NR-BACKOFF-LOWER"]
    assert [v.attempt for v in early] == [2, 4], verdict.violations
    assert "(between 0.000s and 0.680s, given the timestamps' precision" in early[0].message


def test_whole_second_timestamps_of_a_controller_that_schedules_from_them_pass() -> None:
    """A controller that waits its backoff from the truncated timestamp it recorded retries up to
    a second before the backoff has passed since the real attempt, and conforms."""
    real = [
        attempt("console", 1, 0.9, "success"),
        attempt("archive", 1, 0.9, "failure"),
        attempt("archive", 2, 1.001, "failure"),  # recorded 0 + 1s backoff
        attempt("archive", 3, 3.001, "failure"),  # recorded 1 + 2s
        attempt("archive", 4, 5.001, "failure"),  # recorded 3 + 2s
    ]
    assert evaluate(READONLY, recorded_coarsely(real), TOL, precision=1.0).passed
    assert "NR-TIMESTAMP-PRECISION" in requirements(evaluate(READONLY, recorded_coarsely(real), TOL))


def test_a_late_gap_is_forgiven_only_as_far_as_the_intervals_allow() -> None:
    """Archive 1 at +0.001s is recorded as +0s and reported 10ms later: it started in [0, 0.011].
    Archive 2, recorded at whole second s, started at s or later: the gap is at least s - 0.011s,
    late once that exceeds 1s + slack (1.5s), so from s = 2 on, and not before."""
    for gap, coarse_late in ((1.9, False), (2.05, True)):
        real = good_readonly()
        real[2:] = [
            attempt("archive", 2, 0.002 + gap, "failure"),
            attempt("archive", 3, 0.002 + gap + 2.0, "failure"),
            attempt("archive", 4, 0.002 + gap + 4.0, "failure"),
        ]
        coarse = evaluate(READONLY, recorded_coarsely(real), TOL, precision=1.0)
        assert ("NR-BACKOFF-UPPER" in requirements(coarse)) is coarse_late, coarse.violations
        assert "NR-BACKOFF-UPPER" in requirements(evaluate(READONLY, observe(real), TOL))


def test_a_zero_fraction_now_and_then_is_no_coarse_precision() -> None:
    attempts = good_readonly()
    attempts[2] = ObservedAttempt("archive", 2, T0 + 1.0, "failure", stamp(1.0).split(".")[0] + "Z")
    assert evaluate(READONLY, observe(attempts), TOL).passed


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
    rounds = [same_second[:2], *[[a] for a in same_second[2:]]]
    coarse = recorded_coarsely(same_second, rounds)
    assert [a.time - T0 for a in coarse.attempts[1:]] == [0.0, 0.0, 0.0, 1.0]
    assert evaluate(scenario, coarse, TOL, precision=1.0).passed
    verdict = evaluate(scenario, coarse, TOL)
    assert "channel 'archive' attempt timestamps do not strictly increase" in [
        v.message for v in verdict.violations
    ]
    coarse.attempts[-1] = whole_second(attempt("archive", 4, -1.0, "failure"))
    verdict = evaluate(scenario, coarse, TOL, precision=1.0)
    assert "channel 'archive' attempt timestamps do not increase" in [v.message for v in verdict.violations]


def test_status_may_differ_from_the_sink_by_the_agreement_plus_the_precision_only() -> None:
    scenario = webhook_scenario(SinkStep(503, times=2), SinkStep(200))
    observed = flaky_observed([0.002, 1.004, 3.006])
    for offset, allowed in ((TOL.agreement + 0.99, True), (TOL.agreement + 1.01, False)):
        observed.external["hook"][1] = ExternalEvent("hook", T0 + 1.003 + offset, SINK, False, "HTTP 503")
        observed.external["hook"][2] = ExternalEvent("hook", T0 + 3.006 + offset, SINK, True, "HTTP 200")
        verdict = evaluate(scenario, observed, TOL, precision=1.0)
        assert ("NR-STATUS-TRUTHFUL" not in requirements(verdict)) is allowed, verdict.violations


def test_gaps_seen_at_the_sink_are_not_widened_by_the_status_precision() -> None:
    early = flaky_observed([0.002, 0.5, 2.5])
    verdict = evaluate(FLAKY, early, TOL, precision=1.0)
    assert "NR-BACKOFF-LOWER" in requirements(verdict)


def refused_writes(offsets: list[float]) -> list[ExternalEvent]:
    return [ExternalEvent("archive", T0 + o, FUSE, False, "EROFS on create .t") for o in offsets]


def test_a_failing_file_channel_seen_by_the_filesystem_is_judged_on_the_suites_clock() -> None:
    """Status on schedule, but the filesystem saw attempt 3 come 400 ms early: the suite believes
    what it saw itself, and asks no idempotency key of a file channel."""
    observed = observe(good_readonly())
    observed.external["archive"] = refused_writes([0.004, 1.006, 2.608, 4.612])
    observed.fully_observed.add("archive")
    verdict = checks.evaluate(plan_for(READONLY, TOL, features=("core", "idempotency-key")), observed)
    assert requirements(verdict) == ["NR-BACKOFF-LOWER", "NR-STATUS-TRUTHFUL"]
    [early] = [v.message for v in verdict.violations if v.requirement == "NR-BACKOFF-LOWER"]
    assert "attempt 3 came 1.602s after attempt 2" in early and "seen via fuse" in early

    on_time = observe(good_readonly())
    on_time.external["archive"] = refused_writes([0.004, 1.006, 3.008, 5.012])
    on_time.fully_observed.add("archive")
    assert checks.evaluate(plan_for(READONLY, TOL, features=("core", "idempotency-key")), on_time).passed
