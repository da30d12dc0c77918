"""The reference controller's work queue: de-duplication, one worker per key, delayed re-adds,
and the per-key error backoff with client-go's meaning of ``forget``."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from reference_controller.workqueue import ExponentialFailureRateLimiter, ShutDown, WorkQueue


@pytest.fixture
def queue() -> Iterator[WorkQueue]:
    q = WorkQueue()
    yield q
    q.shutdown()


def test_a_key_added_twice_is_handed_out_once(queue: WorkQueue) -> None:
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert [queue.get(), queue.get()] == ["a", "b"]
    assert len(queue) == 0


def test_a_key_added_while_processing_waits_for_done(queue: WorkQueue) -> None:
    queue.add("a")
    assert queue.get() == "a"
    queue.add("a")
    assert len(queue) == 0, "a key being processed must not be handed to a second worker"
    queue.done("a")
    assert queue.get() == "a"


def get_within(queue: WorkQueue, seconds: float) -> list[str]:
    """What a worker gets from the queue within ``seconds`` (nothing if it is still waiting)."""
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(queue.get()), daemon=True)
    reader.start()
    reader.join(seconds)
    return got


@pytest.mark.parametrize("delays", [(30.0, 0.05), (0.05, 30.0)], ids=["earlier-second", "earlier-first"])
def test_the_earliest_delayed_add_wins(queue: WorkQueue, delays: tuple[float, float]) -> None:
    for delay in delays:
        queue.add_after("a", delay)
    assert get_within(queue, 5) == ["a"]
    assert queue.pending_delays() == 0


def test_the_rate_limiter_doubles_per_failure_up_to_its_cap() -> None:
    limiter = ExponentialFailureRateLimiter(base=0.5, cap=3.0)
    assert [limiter.when("a") for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert limiter.when("b") == 0.5, "each key has a backoff of its own"
    assert (limiter.num_requeues("a"), limiter.num_requeues("b")) == (5, 1)


def test_add_rate_limited_counts_failures_and_forget_starts_the_backoff_afresh() -> None:
    queue = WorkQueue(ExponentialFailureRateLimiter(base=0.01, cap=1.0))
    try:
        for failures in (1, 2, 3):
            queue.add_rate_limited("a")
            assert queue.num_requeues("a") == failures
            assert get_within(queue, 5) == ["a"]
            queue.done("a")
        assert queue.rate_limiter.when("a") == 0.08
        queue.forget("a")
        assert queue.num_requeues("a") == 0
        assert queue.rate_limiter.when("a") == 0.01
    finally:
        queue.shutdown()


def test_forget_leaves_a_pending_requeue_alone(queue: WorkQueue) -> None:
    """client-go's Forget clears only the failure count: a requeue the reconciler asked for stands."""
    queue.add_after("a", 0.05)
    queue.forget("a")
    assert get_within(queue, 5) == ["a"]


def test_shutdown_releases_waiting_workers() -> None:
    queue = WorkQueue()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            queue.get()
        except ShutDown as err:
            errors.append(err)

    thread = threading.Thread(target=worker)
    thread.start()
    queue.shutdown()
    thread.join(5)
    assert len(errors) == 1
