"""A pytest plugin that records when each phase of a suite run happened, for the benchmark.

Loaded with ``-p bench.timeline_plugin`` (with pytest-xdist workers, xdist passes it on to
each of them); every process appends JSON lines to the file named by ``BENCH_TIMELINE``,
each marked with its process: ``main`` for the process that runs pytest, else the xdist
worker's name. Scenarios run in threads of the main process, so their events are all
``main``'s; test items mostly wait there for their scenario's outcome.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from types import TracebackType
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


class Turns:
    """Wraps the runner's semaphore of set-up turns (``ScenarioRunner._setups``): notes, for
    each thread, when it got its turn and when it gave it back."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._times: dict[int, list[float]] = {}

    def __enter__(self) -> Any:
        entered = self._inner.__enter__()
        with self._lock:
            self._times[threading.get_ident()] = [time.time()]
        return entered

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> Any:
        with self._lock:
            self._times.setdefault(threading.get_ident(), []).append(time.time())
        return self._inner.__exit__(kind, error, trace)

    def take(self) -> list[float]:
        """This thread's [got, gave back] (either may be missing), forgotten once taken."""
        with self._lock:
            return self._times.pop(threading.get_ident(), [])


def _time_scenarios() -> None:
    """Record when each scenario ran (from the pool's call of ``ScenarioRunner.run`` to its
    return, clean-up included), when it held one of the runner's set-up turns, and the
    scenario's own time as its result states it."""
    from conformance.run.runner import ScenarioRunner

    original = ScenarioRunner.run
    original_init = ScenarioRunner.__init__

    def init(self: ScenarioRunner, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        setups = getattr(self, "_setups", None)
        if setups is not None:
            setattr(self, "_setups", Turns(setups))  # noqa: B010 - an instrument of the benchmark only

    def timed(self: ScenarioRunner, scenario: Any, namespace: str | None = None) -> Any:
        started = time.time()
        fields: dict[str, Any] = {}
        try:
            result = original(self, scenario, namespace)
            fields["own"] = getattr(result, "duration", None)
            return result
        finally:
            turns = getattr(self, "_setups", None)
            held = turns.take() if isinstance(turns, Turns) else []
            fields.update(zip(("setUpStart", "setUpEnd"), held, strict=False))
            _write("scenario", scenario=scenario.name, start=started, end=time.time(), **fields)

    setattr(ScenarioRunner, "__init__", init)  # noqa: B010 - an instrument of the benchmark only
    setattr(ScenarioRunner, "run", timed)  # noqa: B010


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Runs after the suite's own session start, which brings up the control plane and the
    controller and waits for the controller's first delivery."""
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
