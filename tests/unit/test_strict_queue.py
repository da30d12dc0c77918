"""The Broadcast controller's work queue: one wait per key, one worker per key."""

from __future__ import annotations

from examples.strict_controller.queue import WorkQueue


def test_a_key_added_twice_is_taken_once() -> None:
    queue = WorkQueue()
    queue.add("ns/a")
    queue.add("ns/a")
    queue.add("ns/b", after=3600)
    assert queue.take() == "ns/a"
    queue.add("ns/b")  # the earlier time wins
    assert queue.take() == "ns/b"


def test_a_held_key_waits_for_its_release() -> None:
    queue = WorkQueue()
    queue.add("ns/a")
    assert queue.take() == "ns/a"
    queue.add("ns/a")
    queue.add("ns/b")
    assert queue.take() == "ns/b"
    queue.release("ns/a")
    assert queue.take() == "ns/a"


def test_a_later_time_does_not_postpone_a_waiting_key() -> None:
    queue = WorkQueue()
    queue.add("ns/a")
    queue.add("ns/a", after=3600)
    assert queue.take() == "ns/a"


def test_closing_ends_every_wait() -> None:
    queue = WorkQueue()
    queue.add("ns/a", after=3600)
    queue.close()
    assert queue.take() is None
