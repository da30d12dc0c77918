"""The reference controller's work queue: de-duplication, one worker per key, delayed re-adds."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from reference_controller.workqueue import ShutDown, WorkQueue


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


def test_forget_drops_a_delayed_add(queue: WorkQueue) -> None:
    queue.add_after("a", 0.05)
    queue.forget("a")
    assert queue.pending_delays() == 0


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
