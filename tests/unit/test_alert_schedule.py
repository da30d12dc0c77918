"""The Alert controller's schedule, from status alone and with the starts it remembers."""

from __future__ import annotations

from typing import Any

import pytest

from examples.alert_controller import api, schedule

T0 = 1_800_000_000.0  # a whole second


def alert(history: list[dict[str, Any]], attempts: int = 4) -> dict[str, Any]:
    return {
        "metadata": {"uid": "u-1", "namespace": "ns", "name": "a"},
        "spec": {
            "summary": "s",
            "receivers": [
                {"id": "hook", "kind": "http", "endpoint": "http://x"},
                {"id": "out", "kind": "stdout"},
            ],
            "delivery": {
                "attempts": attempts,
                "backoff": {"baseMillis": 1000, "factor": 2, "ceilingMillis": 3000},
            },
        },
        "status": {"history": history},
    }


def entry(receiver: str, number: int, started: float, result: str) -> dict[str, Any]:
    return {"receiver": receiver, "try": number, "at": api.whole_seconds(started), "result": result}


def test_backoff_grows_by_the_factor_up_to_the_ceiling() -> None:
    policy = alert([])["spec"]["delivery"]
    assert [schedule.backoff(policy, n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, 3.0]


def test_jitter_is_within_ten_percent_and_the_same_every_time() -> None:
    factors = [schedule.jitter_factor("u", "r", n) for n in range(200)]
    assert all(0.9 <= f <= 1.1 for f in factors)
    assert max(factors) - min(factors) > 0.15
    assert schedule.jitter_factor("u", "r", 7) == schedule.jitter_factor("u", "r", 7)


def test_from_status_alone_the_next_try_is_never_early() -> None:
    started = T0 + 0.999  # recorded as T0
    progress = schedule.receivers(
        alert([entry("hook", 1, started, api.ERROR), entry("out", 1, T0, api.OK)]), {}
    )
    hook, out = progress
    assert hook.due == pytest.approx(T0 + 1.0 + 1.0 * 0.9)
    assert hook.due is not None and hook.due >= started + 0.9
    assert out.delivered and out.due is None
    assert schedule.state_of(progress) == api.BACKOFF


def test_a_remembered_start_makes_it_on_time() -> None:
    started = T0 + 0.25
    history = [entry("hook", 1, started, api.ERROR), entry("out", 1, T0, api.OK)]
    hook = schedule.receivers(alert(history), {("u-1", "hook", 1): started})[0]
    assert hook.due == pytest.approx(started + schedule.jitter_factor("u-1", "hook", 2))


@pytest.mark.parametrize(
    ("results", "state"),
    [
        ({"hook": [api.OK], "out": [api.OK]}, api.DELIVERED),
        ({"hook": [api.ERROR, api.ERROR], "out": [api.OK]}, api.DEGRADED),
        ({"hook": [api.ERROR, api.ERROR], "out": [api.ERROR, api.ERROR]}, api.UNDELIVERABLE),
        ({"hook": [api.ERROR], "out": [api.OK]}, api.BACKOFF),
    ],
)
def test_the_state_follows_the_receivers(results: dict[str, list[str]], state: str) -> None:
    history = [
        entry(receiver, n + 1, T0 + n, result)
        for receiver, outcomes in results.items()
        for n, result in enumerate(outcomes)
    ]
    assert schedule.state_of(schedule.receivers(alert(history, attempts=2), {})) == state
