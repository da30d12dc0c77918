"""A pytest plugin that records when each phase of a suite run happened, for the benchmark.

Loaded with ``-p bench.timeline_plugin`` (xdist passes it on to every worker);
each process appends JSON lines to the file named by ``BENCH_TIMELINE``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

ENV = "BENCH_TIMELINE"


def _write(event: str, **fields: Any) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    record = {"event": event, "time": time.time(), "worker": os.environ.get("PYTEST_XDIST_WORKER", "main")}
    with open(path, "a") as handle:  # one short line per write: appends do not interleave
        handle.write(json.dumps({**record, **fields}) + "\n")


def pytest_configure(config: pytest.Config) -> None:
    _write("configure")
    if os.environ.get(ENV):
        _time_scenarios()


def _time_scenarios() -> None:
    """Record when each scenario itself ran (from creating its namespace to cleaning it up), so
    that a test's time can be told apart from the time it spent waiting for the run's lease."""
    from conformance.run.runner import ScenarioRunner

    original = ScenarioRunner.run

    def timed(self: ScenarioRunner, scenario: Any, namespace: str | None = None) -> Any:
        started = time.time()
        try:
            return original(self, scenario, namespace)
        finally:
            _write("scenario", scenario=scenario.name, start=started, end=time.time())

    setattr(ScenarioRunner, "run", timed)  # noqa: B010 - an instrument of the benchmark only


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Runs after the suite's own session start, which brings up the cluster and controller."""
    _write("sessionstart")


def pytest_collection_finish(session: pytest.Session) -> None:
    _write("collected", tests=len(session.items))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    started = time.time()
    yield
    _write("test", test=item.nodeid, start=started, end=time.time())


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    _write("sessionfinish")


def pytest_unconfigure(config: pytest.Config) -> None:
    _write("unconfigure")
