"""The project's tests run in pytest-xdist workers (``make test``: ``-n 6 --dist worksteal``).
Tests marked ``long`` take minutes; each starts first on a worker of its own, so that the
run ends about when the longest does, not after several of them one after another."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long: takes minutes; started first, one per worker")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    items[:] = first_on_each_worker(items, workers, lambda item: item.get_closest_marker("long") is not None)


def first_on_each_worker(items: list[T], workers: int, long: Callable[[T], bool]) -> list[T]:
    """``items`` reordered so that the long ones head the parts worksteal hands out: worker i
    gets the next ``remaining // (workers - i)`` items, in order."""
    heads: list[list[T]] = [[] for _ in range(workers)]
    for n, item in enumerate(i for i in items if long(i)):
        heads[n % workers].append(item)
    rest = iter([i for i in items if not long(i)])
    ordered: list[T] = []
    remaining = len(items)
    for i, head in enumerate(heads):
        size = remaining // (workers - i)
        remaining -= size
        ordered += head + [item for _, item in zip(range(size - len(head)), rest, strict=False)]
    return ordered + list(rest)
