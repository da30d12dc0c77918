"""Status stays bounded however many attempts a channel is allowed, and trimming it never
changes what the guard decides."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest

from reference_controller import plan
from reference_controller.channels import DeliveryError
from reference_controller.reconciler import MAX_ERROR_LENGTH, Attempt, Reconciler

START = 1_800_000_000.0


def spec(channels: int, max_attempts: int) -> dict[str, Any]:
    return {
        "subject": "s",
        "channels": [{"name": f"c{i}", "type": "console"} for i in range(channels)],
        "retryPolicy": {
            "maxAttempts": max_attempts,
            "initialBackoff": "1s",
            "backoffMultiplier": 2,
            "maxBackoff": "1m",
            "jitterPercent": 0,
        },
    }


def reconciler() -> Reconciler:
    with mock.patch("reference_controller.reconciler.CoreApi"):
        return Reconciler(mock.Mock(), max_parallel_deliveries=1)


def fail_until_exhausted(notification_spec: dict[str, Any], error: str = "x" * 5000) -> list[dict[str, Any]]:
    """Every status the reconciler writes while each channel fails until it has no attempts left."""
    r = reconciler()
    obj: dict[str, Any] = {"metadata": {"generation": 1}, "spec": notification_spec}
    statuses = []
    now = START
    while (obj.get("status") or {}).get("phase") not in ("Failed",):
        states = plan.channel_states(notification_spec, obj.get("status") or {})
        due = [s for s in states if s.next_due is not None]
        now = max(now, *(s.next_due for s in due if s.next_due is not None))
        attempts = [Attempt(s.name, s.attempts + 1, now, 0.01, DeliveryError(error)) for s in due]
        with mock.patch("reference_controller.reconciler.time.time", return_value=now + 0.02):
            obj = dict(obj, status=r.next_status(obj, attempts))
        statuses.append(obj["status"])
        now += 0.05
    return statuses


def test_a_channel_allowed_1000_attempts_keeps_a_small_status() -> None:
    statuses = fail_until_exhausted(spec(1, 1000))
    final = statuses[-1]
    assert final["totalAttempts"] == 1000 and final["channels"][0]["attempts"] == 1000
    assert [a["attempt"] for a in final["deliveryAttempts"]] == [1, *range(992, 1001)]
    assert all(len(a["error"]) == MAX_ERROR_LENGTH for a in final["deliveryAttempts"])
    largest = max(len(json.dumps(s)) for s in statuses)
    assert largest < 16 * 1024, largest


def test_sixteen_channels_stay_within_the_crd_bound() -> None:
    final = fail_until_exhausted(spec(16, 40))[-1]
    assert len(final["deliveryAttempts"]) == 16 * plan.RECORDS_PER_CHANNEL <= 160
    assert len(json.dumps(final)) < 256 * 1024


@pytest.mark.parametrize("max_attempts", [1, 6, 10])
def test_nothing_is_trimmed_within_the_reference_apis_limit(max_attempts: int) -> None:
    final = fail_until_exhausted(spec(3, max_attempts))[-1]
    for channel in ("c0", "c1", "c2"):
        numbers = [a["attempt"] for a in final["deliveryAttempts"] if a["channel"] == channel]
        assert numbers == list(range(1, max_attempts + 1))
    assert final["totalAttempts"] == len(final["deliveryAttempts"]) == 3 * max_attempts


def test_trimming_never_changes_what_is_due() -> None:
    """The guard reads the trimmed status exactly as it would the full one."""
    notification_spec = spec(2, 50)
    notification_spec["retryPolicy"]["jitterPercent"] = 20
    for status in fail_until_exhausted(notification_spec):
        full = status["deliveryAttempts"]
        counts = {c["name"]: c["attempts"] for c in status["channels"]}
        untrimmed = [
            {"channel": name, "attempt": n, "timestamp": "2027-01-15T08:00:00.000000Z", "outcome": "Failure"}
            for name in counts
            for n in range(1, counts[name] + 1)
            if not any(a["channel"] == name and a["attempt"] == n for a in full)
        ]
        restored = sorted([*full, *untrimmed], key=lambda a: (a["channel"], a["attempt"]))
        uncounted = [{**c, "attempts": 0} for c in status["channels"]]  # counts from the records alone
        trimmed_states = plan.channel_states(notification_spec, status)
        full_states = plan.channel_states(
            notification_spec, {**status, "deliveryAttempts": restored, "channels": uncounted}
        )
        assert trimmed_states == full_states


def test_bounded_keeps_order_and_each_channels_first_and_latest() -> None:
    records = [{"channel": c, "attempt": n} for n in range(1, 13) for c in ("a", "b")]
    kept = plan.bounded(records)
    assert [(r["channel"], r["attempt"]) for r in kept if r["channel"] == "a"] == [("a", 1)] + [
        ("a", n) for n in range(4, 13)
    ]
    assert kept == [r for r in records if r in kept]
    assert plan.bounded(records[:6]) == records[:6]
