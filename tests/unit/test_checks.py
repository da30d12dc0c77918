"""The assertion engine on hand-made timelines: each rule must pass a good one and fail a bad one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conformance import checks
from conformance.binding import ObservedAttempt
from conformance.observation import SINK, ExternalEvent, Observed, StatusWrite
from conformance.scenarios import ChannelSpec, RetryPolicy, Scenario, SinkStep
from conformance.tolerances import Tolerances

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
    verdict = checks.evaluate(READONLY, observe(good_readonly()), TOL, features=("core", "batched-status"))
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
    assert checks.evaluate(READONLY, observe(inside), TOL).passed
    outside = good_readonly()
    outside[2] = attempt("archive", 2, 0.002 + 0.949, "failure")
    assert requirements(checks.evaluate(READONLY, observe(outside), TOL)) == ["NR-BACKOFF-LOWER"]


def test_a_late_retry_breaks_the_upper_bound() -> None:
    late = good_readonly()
    late[4] = attempt("archive", 4, 3.006 + 4.0, "failure")
    assert requirements(checks.evaluate(READONLY, observe(late), TOL)) == ["NR-BACKOFF-UPPER"]


def test_one_attempt_too_many() -> None:
    extra = [*good_readonly(), attempt("archive", 5, 7.02, "failure")]
    assert requirements(checks.evaluate(READONLY, observe(extra), TOL)) == ["NR-ATTEMPT-COUNT"]


def test_attempting_a_succeeded_channel_again() -> None:
    again = [*good_readonly(), attempt("console", 2, 1.005, "success")]
    verdict = checks.evaluate(READONLY, observe(again), TOL)
    assert "NR-NO-REDELIVERY" in requirements(verdict)
    assert "NR-ATTEMPT-COUNT" not in requirements(verdict)


def test_numbering_must_start_at_one() -> None:
    shifted = [
        ObservedAttempt(a.channel, a.number - 1, a.time, a.outcome, a.raw_time) for a in good_readonly()
    ]
    assert requirements(checks.evaluate(READONLY, observe(shifted), TOL)) == ["NR-ATTEMPT-ORDER"]


def test_wrong_terminal_phase_and_no_terminal_phase() -> None:
    wrong = observe(good_readonly(), phase="Failed")
    assert requirements(checks.evaluate(READONLY, wrong, TOL)) == ["NR-PHASE-TERMINAL"]
    stuck = observe(good_readonly(), phase="Retrying")
    stuck.terminal_at = None
    verdict = checks.evaluate(READONLY, stuck, TOL)
    assert requirements(verdict) == ["NR-PHASE-TERMINAL"]
    assert "did not reach a terminal phase" in verdict.violations[0].message


def test_counter_must_match_the_attempts() -> None:
    observed = observe(good_readonly())
    observed.total_attempts = 4
    assert requirements(checks.evaluate(READONLY, observed, TOL)) == ["NR-STATUS-COUNTERS"]


def test_whole_second_timestamps_are_too_coarse() -> None:
    coarse = [
        ObservedAttempt(a.channel, a.number, a.time, a.outcome, a.raw_time.split(".")[0] + "Z")
        for a in good_readonly()
    ]
    assert requirements(checks.evaluate(READONLY, observe(coarse), TOL)) == ["NR-TIMESTAMP-PRECISION"]
    assert checks.evaluate(READONLY, observe(coarse), TOL, precision=1.0).passed


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
    verdict = checks.evaluate(FLAKY, flaky_observed([0.002, 1.004, 3.006]), TOL)
    assert verdict.passed
    assert {row.source for row in verdict.timeline} == {"sink"}


def test_status_must_agree_with_the_sink() -> None:
    missing = checks.evaluate(FLAKY, flaky_observed([0.002, 1.004]), TOL)
    assert requirements(missing) == ["NR-STATUS-TRUTHFUL"]
    assert "status records 3 attempts on channel 'hook'; 2 were observed at the sink" in str(
        missing.violations[0]
    )
    skewed = checks.evaluate(FLAKY, flaky_observed([0.002, 1.004, 3.6]), TOL)
    assert "NR-STATUS-TRUTHFUL" in requirements(skewed)


def test_postdated_attempts_are_caught_by_the_watch() -> None:
    observed = observe(good_readonly())
    observed.writes = [
        StatusWrite(w.received - 0.5, w.resource_version, w.phase, w.attempts) for w in observed.writes
    ]
    observed.terminal_at = observed.writes[-1].received
    assert "NR-STATUS-TRUTHFUL" in requirements(checks.evaluate(READONLY, observed, TOL))


def test_delivery_after_the_terminal_phase() -> None:
    observed = flaky_observed([0.002, 1.004, 3.006])
    assert observed.terminal_at is not None
    observed.external["hook"].append(
        ExternalEvent("hook", observed.terminal_at + 2.0, SINK, True, "HTTP 200")
    )
    assert "NR-QUIET-AFTER-TERMINAL" in requirements(checks.evaluate(FLAKY, observed, TOL))


def test_batched_writes_only_when_claimed() -> None:
    attempts = good_readonly()
    split = [[attempts[0]], [attempts[1]], [attempts[2]], [attempts[3]], [attempts[4]]]
    observed = observe(attempts, rounds=split)
    assert checks.evaluate(READONLY, observed, TOL).passed
    verdict = checks.evaluate(READONLY, observed, TOL, features=("core", "batched-status"))
    assert requirements(verdict) == ["NR-BATCHED-WRITES"]


@pytest.mark.parametrize("jitter", [0, 20])
def test_declared_jitter_widens_the_window(jitter: int) -> None:
    policy = RetryPolicy.from_dict({**POLICY.written, "jitterPercent": jitter})
    scenario = Scenario("j", "", READONLY.channels, policy, "PartiallySent", ("core",), "test")
    early = good_readonly()
    early[2] = attempt("archive", 2, 0.002 + 0.85, "failure")
    passed = checks.evaluate(scenario, observe(early), TOL).passed
    assert passed is (jitter == 20)
