"""Long tests head the part of the collection each pytest-xdist worker is handed first."""

from __future__ import annotations

from tests.conftest import first_on_each_worker


def parts(items: list[str], workers: int) -> list[list[str]]:
    """As worksteal splits the collection."""
    cut, remaining, start = [], len(items), 0
    for i in range(workers):
        size = remaining // (workers - i)
        cut.append(items[start : start + size])
        start, remaining = start + size, remaining - size
    return cut


def test_each_worker_starts_with_a_long_test_and_nothing_is_lost() -> None:
    items = [f"t{n}" for n in range(10)] + ["L1", "L2", "L3"]
    ordered = first_on_each_worker(items, 4, lambda item: item.startswith("L"))
    assert sorted(ordered) == sorted(items)
    assert [part[0] for part in parts(ordered, 4)] == ["L1", "L2", "L3", "t6"]


def test_more_long_tests_than_workers_share_the_heads() -> None:
    items = ["L1", "L2", "L3", "a", "b", "c"]
    ordered = first_on_each_worker(items, 2, lambda item: item.startswith("L"))
    assert parts(ordered, 2) == [["L1", "L3", "a"], ["L2", "b", "c"]]


def test_one_worker_runs_the_long_ones_first() -> None:
    assert first_on_each_worker(["a", "L", "b"], 1, lambda item: item == "L") == ["L", "a", "b"]
