"""Every selected scenario at once, in threads of the process that set the run up.

A scenario mostly waits (for the controller's schedule, then for its quiet window), so
it need not occupy a process: the session starts them all as soon as collection ends,
and each test item only waits for its own scenario's outcome. A scenario that must run
alone (a disruptive one without an instance of its own, or one flagged ``serial``)
holds the exclusive lease: it starts once the scenarios already running have drained,
and no other starts before it ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Generic, TypeVar

from conformance.scenarios.model import Scenario

T = TypeVar("T")


class Leases:
    """A writer-preferring readers-writer lock: an exclusive request stops new shared leases."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._exclusive_waiting = 0

    def acquire(self, exclusive: bool) -> None:
        with self._cond:
            if exclusive:
                self._exclusive_waiting += 1
                try:
                    self._cond.wait_for(lambda: not self._exclusive and self._shared == 0)
                finally:
                    self._exclusive_waiting -= 1
                    self._cond.notify_all()
                self._exclusive = True
                return
            self._cond.wait_for(lambda: not self._exclusive and self._exclusive_waiting == 0)
            self._shared += 1

    def release(self, exclusive: bool) -> None:
        with self._cond:
            if exclusive:
                self._exclusive = False
            else:
                self._shared -= 1
            self._cond.notify_all()


class ScenarioPool(Generic[T]):
    """Runs ``attempt(scenario)`` for each scenario in a thread of its own; ``outcome(name)``
    waits for one of them. ``alone(scenario)`` says which must hold the exclusive lease, and
    ``order(scenario)`` is the key they start by."""

    def __init__(
        self,
        attempt: Callable[[Scenario], T],
        alone: Callable[[Scenario], bool],
        order: Callable[[Scenario], tuple[float, ...]] = lambda _: (),
    ) -> None:
        self._attempt = attempt
        self._alone = alone
        self._order = order
        self._leases = Leases()
        self._futures: dict[str, Future[T]] = {}
        self._threads: list[threading.Thread] = []

    def start(self, scenarios: Iterable[Scenario]) -> None:
        """Shared scenarios first, so that those that run alone queue behind them; among the
        others, as ``order`` says."""
        ordered = sorted(scenarios, key=lambda s: (self._alone(s), *self._order(s)))
        for scenario in ordered:
            if scenario.name in self._futures:
                continue
            future: Future[T] = Future()
            self._futures[scenario.name] = future
            thread = threading.Thread(
                target=self._run, args=(scenario, future), name=f"scenario-{scenario.name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def started(self, name: str) -> bool:
        return name in self._futures

    def _run(self, scenario: Scenario, future: Future[T]) -> None:
        alone = self._alone(scenario)
        self._leases.acquire(alone)
        try:
            future.set_result(self._attempt(scenario))
        except BaseException as err:  # handed to the test that waits for it
            future.set_exception(err)
        finally:
            self._leases.release(alone)

    def outcome(self, name: str, timeout: float | None = None) -> T:
        """The scenario's outcome, once it ran; raises TimeoutError after ``timeout`` seconds."""
        return self._futures[name].result(timeout)

    def join(self, timeout: float) -> None:
        """Wait for the running scenarios to clean up after themselves, at most ``timeout`` s."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
