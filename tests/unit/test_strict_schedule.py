"""The Broadcast controller's schedule and phases, derived from status alone."""

from __future__ import annotations

from typing import Any

import pytest

from examples.strict_controller import api, schedule

T0 = 1_800_000_000.0


def broadcast(
    attempts: list[dict[str, Any]], targets: tuple[str, ...] = ("console", "file")
) -> api.Broadcast:
    return {
        "metadata": {"namespace": "ns", "name": "b"},
        "spec": {
            "subject": "s",
            "targets": [{"type": t, **({"directory": "/d"} if t == "file" else {})} for t in targets],
            "retry": {"limit": 4, "initialDelaySeconds": 2, "factor": 3, "maxDelaySeconds": 60},
        },
        "status": {"attempts": attempts},
    }


def attempt(target: str, number: int, started: float, outcome: str = api.FAILED) -> dict[str, Any]:
    return {"target": target, "number": number, "startedAt": api.timestamp(started), "outcome": outcome}


def test_delays_grow_by_the_integer_factor_up_to_the_cap() -> None:
    policy = schedule.RetryPolicy(limit=20, initial_delay=2, factor=3, max_delay=60)
    assert [policy.delay(n) for n in range(1, 7)] == [2, 6, 18, 54, 60, 60]
    constant = schedule.RetryPolicy(limit=3, initial_delay=5, factor=1, max_delay=60)
    assert [constant.delay(n) for n in (1, 2, 3)] == [5, 5, 5]
    huge = schedule.RetryPolicy(limit=20, initial_delay=3600, factor=10, max_delay=3600)
    assert huge.delay(19) == 3600


def test_timestamps_are_truncated_to_the_millisecond() -> None:
    assert api.timestamp(T0 + 0.1239) == "2027-01-15T08:00:00.123Z"
    assert api.parse_time(api.timestamp(T0 + 0.5)) == T0 + 0.5


def test_nothing_attempted_is_pending_and_every_target_is_due() -> None:
    progress = schedule.targets(broadcast([]))
    assert schedule.phase_of(progress) == api.PENDING
    assert [t.type for t in schedule.due_now(progress, api.PENDING, T0, api.PROGRESSING)] == [
        "console",
        "file",
    ]


def test_a_failed_target_is_due_after_its_delay_and_the_hidden_millisecond() -> None:
    started = T0 + 0.0009  # recorded as T0
    progress = schedule.targets(
        broadcast([attempt("console", 1, T0, api.SUCCEEDED), attempt("file", 1, started)])
    )
    console, file = progress
    assert console.delivered and console.due is None
    assert file.due == pytest.approx(T0 + 0.001 + 2)
    assert file.due is not None and file.due >= started + 2
    assert schedule.phase_of(progress) == api.WAITING
    assert schedule.due_now(progress, api.WAITING, T0 + 1.9, api.PROGRESSING) == []
    assert schedule.due_now(progress, api.WAITING, file.due, api.PROGRESSING) == [file]
    assert schedule.next_due(progress) == file.due


def test_the_delay_follows_the_number_of_attempts_made() -> None:
    records = [attempt("file", 1, T0), attempt("file", 2, T0 + 2), attempt("file", 3, T0 + 8)]
    (file,) = schedule.targets(broadcast(records, targets=("file",)))
    assert file.made == 3
    assert file.due == pytest.approx(T0 + 8 + 0.001 + 18)
    assert schedule.phase_of([file]) == api.DELIVERING


@pytest.mark.parametrize(
    ("outcomes", "phase"),
    [
        ({"console": [api.SUCCEEDED], "file": [api.FAILED, api.SUCCEEDED]}, api.DELIVERED),
        ({"console": [api.SUCCEEDED], "file": [api.FAILED] * 4}, api.PARTIAL),
        ({"console": [api.FAILED] * 4, "file": [api.FAILED] * 4}, api.FAILED),
        ({"console": [api.FAILED] * 4, "file": [api.FAILED] * 3}, api.DELIVERING),
        ({"console": [api.SUCCEEDED], "file": [api.FAILED] * 3}, api.WAITING),
    ],
)
def test_the_phase_is_terminal_once_no_target_owes_an_attempt(
    outcomes: dict[str, list[str]], phase: str
) -> None:
    records = [
        attempt(target, n, T0 + n, outcome)
        for target, results in outcomes.items()
        for n, outcome in enumerate(results, start=1)
    ]
    progress = schedule.targets(broadcast(records))
    assert schedule.phase_of(progress) == phase
    assert (schedule.next_due(progress) is None) == (phase in api.TERMINAL)


def test_outside_the_guarded_phases_an_owed_target_is_due_at_once() -> None:
    """The broken variant: the guard holds in Waiting only, so Delivering retries at once."""
    (file,) = schedule.targets(broadcast([attempt("file", 1, T0)], targets=("file",)))
    only_waiting = frozenset({api.WAITING})
    assert schedule.due_now([file], api.DELIVERING, T0 + 0.01, only_waiting) == [file]
    assert schedule.due_now([file], api.DELIVERING, T0 + 0.01, api.PROGRESSING) == []
    assert schedule.due_now([file], api.WAITING, T0 + 0.01, only_waiting) == []


def test_a_round_is_recorded_once_with_its_phase_and_completion_time() -> None:
    first = [attempt("console", 1, T0, api.SUCCEEDED), attempt("file", 1, T0)]
    status = schedule.status_after(broadcast([]), first, T0 + 0.01)
    assert (status["phase"], status["attemptCount"], "completedAt" in status) == (api.WAITING, 2, False)
    again = schedule.status_after(broadcast(status["attempts"]), first, T0 + 0.02)  # after a conflict
    assert again["attempts"] == first
    last = attempt("file", 2, T0 + 2.001, api.SUCCEEDED)
    done = schedule.status_after(broadcast(first), [last], T0 + 2.01)
    assert (done["phase"], done["attemptCount"]) == (api.DELIVERED, 3)
    assert done["completedAt"] == api.timestamp(T0 + 2.01)
