from __future__ import annotations

import pytest

from conformance.contract.tolerances import Tolerances
from conformance.scenarios import oracle
from conformance.scenarios.model import ChannelSpec, RetryPolicy, SinkStep


def policy(**overrides: object) -> RetryPolicy:
    data: dict[str, object] = {
        "maxAttempts": 5,
        "initialBackoff": "1s",
        "backoffMultiplier": 2,
        "maxBackoff": "3s",
        "jitterPercent": 0,
    }
    data.update(overrides)
    return RetryPolicy.from_dict(data)


def test_nominal_gaps_grow_exponentially_up_to_the_cap() -> None:
    assert [oracle.nominal_gap(policy(), k) for k in range(1, 5)] == [1.0, 2.0, 3.0, 3.0]


def test_fractional_multiplier() -> None:
    assert oracle.nominal_gap(policy(backoffMultiplier=1.5, maxBackoff="10s"), 3) == pytest.approx(2.25)


def test_window_lower_bound_subtracts_jitter_and_epsilon_only() -> None:
    window = oracle.window(policy(jitterPercent=10), 2, Tolerances(epsilon=0.05, slack=0.5))
    assert window.low == pytest.approx(2.0 * 0.9 - 0.05)
    assert window.high == pytest.approx(2.0 * 1.1 + 0.5)


def test_window_widens_by_declared_precision() -> None:
    window = oracle.window(policy(), 1, Tolerances(epsilon=0.05, slack=0.5), precision=1.0)
    assert (window.low, window.high) == pytest.approx((1.0 - 0.05 - 1.0, 1.0 + 0.5 + 1.0))


def test_readonly_file_fails_every_attempt() -> None:
    assert (
        oracle.outcomes(ChannelSpec("f", "file", writable=False), policy(maxAttempts=4)) == ("failure",) * 4
    )


def test_webhook_fail_twice_then_succeed() -> None:
    channel = ChannelSpec("w", "webhook", responses=(SinkStep(503, times=2), SinkStep(200)))
    assert oracle.outcomes(channel, policy()) == ("failure", "failure", "success")


def test_client_error_is_permanent() -> None:
    channel = ChannelSpec("w", "webhook", responses=(SinkStep(404),))
    assert oracle.outcomes(channel, policy()) == ("permanent",)


def test_too_many_requests_is_retryable() -> None:
    channel = ChannelSpec("w", "webhook", responses=(SinkStep(429, times=1), SinkStep(200)))
    assert oracle.outcomes(channel, policy()) == ("failure", "success")


def test_answer_slower_than_timeout_is_a_failure() -> None:
    channel = ChannelSpec("w", "webhook", responses=(SinkStep(200, delay=2.0),), timeout=1.0)
    assert oracle.outcomes(channel, policy(maxAttempts=2)) == ("failure", "failure")


def test_an_http_date_retry_after_allows_its_whole_second_above_only() -> None:
    """The date names the first whole second at least 2s after the answer: the wait is 2s to 3s."""
    tolerances = Tolerances(epsilon=0.05, slack=0.5)
    dated = ChannelSpec(
        "hook", "webhook", responses=(SinkStep(503, times=1, retry_after="2", retry_after_as="http-date"),)
    )
    seconds = ChannelSpec("hook", "webhook", responses=(SinkStep(503, times=1, retry_after="2"),))
    windows = [
        oracle.window(
            policy(initialBackoff="500ms"),
            1,
            tolerances,
            retry_after=oracle.retry_after(channel, 1),
            retry_after_spread=oracle.retry_after_spread(channel, 1),
        )
        for channel in (dated, seconds)
    ]
    assert [w.low for w in windows] == pytest.approx([1.95, 1.95])
    assert [w.high for w in windows] == pytest.approx([3.5, 2.5])


def test_a_connection_closed_without_an_answer_is_retryable() -> None:
    channel = ChannelSpec("hook", "webhook", responses=(SinkStep(hang_up=True, times=2), SinkStep(200)))
    assert oracle.outcomes(channel, policy()) == (oracle.FAILURE, oracle.FAILURE, oracle.SUCCESS)
