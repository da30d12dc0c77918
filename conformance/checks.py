"""The assertion engine: compare what was observed with what the oracle expects.

Pure functions over data, so every rule is unit-tested without a cluster. Each
violation names the requirement it breaks.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass
from typing import Any

from conformance import oracle
from conformance.binding import SUITE_PHASES, ObservedAttempt
from conformance.observation import CONSOLE, STATUS, Observed
from conformance.scenarios import Scenario
from conformance.tolerances import Tolerances

_FRACTION = re.compile(r"T\d\d:\d\d:\d\d\.\d+")


@dataclass(frozen=True)
class Violation:
    requirement: str
    message: str

    def __str__(self) -> str:
        return f"[{self.requirement}] {self.message}"


@dataclass(frozen=True)
class TimelineRow:
    channel: str
    attempt: int
    at: float
    source: str
    outcome: str
    gap: float | None
    window: tuple[float, float] | None
    nominal: float | None
    verdict: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Verdict:
    violations: list[Violation]
    timeline: list[TimelineRow]

    @property
    def passed(self) -> bool:
        return not self.violations

    def requirements(self) -> list[str]:
        return sorted({v.requirement for v in self.violations})


def _expected_status_outcome(outcome: str) -> str:
    return oracle.SUCCESS if outcome == oracle.SUCCESS else oracle.FAILURE


class _Evaluation:
    def __init__(
        self,
        scenario: Scenario,
        observed: Observed,
        tolerances: Tolerances,
        precision: float,
        features: tuple[str, ...],
    ) -> None:
        self.scenario = scenario
        self.expectation = oracle.expect(scenario)
        self.observed = observed
        self.tol = tolerances
        self.precision = precision
        self.features = features
        self.violations: list[Violation] = []
        self.timeline: list[TimelineRow] = []

    def fail(self, requirement: str, message: str) -> None:
        self.violations.append(Violation(requirement, message))

    def run(self) -> Verdict:
        self.phase()
        for channel in self.scenario.channels:
            mine = [a for a in self.observed.attempts if a.channel == channel.name]
            self.attempts(channel.name, mine)
            self.gaps(channel.name, mine)
            self.truthful(channel.name, mine)
        self.counters()
        self.quiet()
        self.timestamps()
        if "batched-status" in self.features:
            self.batched()
        self.timeline.sort(key=lambda row: (row.at, row.channel))
        return Verdict(self.violations, self.timeline)

    def phase(self) -> None:
        final, expected = self.observed.final_phase, self.expectation.phase
        if final not in SUITE_PHASES:
            self.fail(
                "NR-PHASE-TERMINAL",
                f"the notification did not reach a terminal phase (last phase: {final}); expected {expected}",
            )
        elif final != expected:
            self.fail("NR-PHASE-TERMINAL", f"the notification ended {final}; expected {expected}")

    def attempts(self, channel: str, mine: list[ObservedAttempt]) -> None:
        expected = self.expectation.outcomes[channel]
        numbers = [a.number for a in mine]
        if numbers != list(range(1, len(mine) + 1)):
            self.fail("NR-ATTEMPT-ORDER", f"channel {channel!r} attempts are numbered {numbers}, not 1..n")
        times = [a.time for a in mine]
        if any(later <= earlier for earlier, later in itertools.pairwise(times)):
            self.fail("NR-ATTEMPT-ORDER", f"channel {channel!r} attempt timestamps do not strictly increase")
        first_success = next((i for i, a in enumerate(mine) if a.outcome == oracle.SUCCESS), None)
        if first_success is not None and first_success + 1 < len(mine):
            again = mine[first_success + 1]
            self.fail(
                "NR-NO-REDELIVERY",
                f"channel {channel!r} succeeded at attempt {mine[first_success].number} and was attempted "
                f"again (attempt {again.number}, {again.time - mine[first_success].time:.3f}s later)",
            )
        elif len(mine) != len(expected):
            self.fail(
                "NR-ATTEMPT-COUNT",
                f"channel {channel!r} was attempted {len(mine)} times; expected exactly {len(expected)}",
            )
        seen = [a.outcome for a in mine]
        wanted = [_expected_status_outcome(o) for o in expected]
        if seen[: len(wanted)] != wanted[: len(seen)]:
            self.fail("NR-ATTEMPT-ORDER", f"channel {channel!r} outcomes were {seen}; expected {wanted}")

    def _times(self, channel: str, mine: list[ObservedAttempt]) -> tuple[list[float], str, float]:
        """The attempt times the suite trusts most: seen outside when every attempt is, else status."""
        external = self.observed.external.get(channel, [])
        if channel in self.observed.fully_observed and len(external) == len(mine):
            return [e.time for e in external], external[0].source if external else STATUS, 0.0
        return [a.time for a in mine], STATUS, self.precision

    def gaps(self, channel: str, mine: list[ObservedAttempt]) -> None:
        times, source, precision = self._times(channel, mine)
        policy = self.scenario.retry_policy
        for index, attempt in enumerate(mine):
            gap = window = None
            verdict = "ok"
            if index:
                gap = times[index] - times[index - 1]
                window = oracle.window(policy, index, self.tol, precision)
                where = (
                    f"channel {channel!r} attempt {attempt.number} came {gap:.3f}s after attempt "
                    f"{mine[index - 1].number}; the contract allows [{window.low:.3f}s, {window.high:.3f}s] "
                    f"(nominal {window.nominal:.3f}s, seen via {source})"
                )
                if gap < window.low:
                    verdict = "early"
                    self.fail("NR-BACKOFF-LOWER", where)
                elif gap > window.high:
                    verdict = "late"
                    self.fail("NR-BACKOFF-UPPER", where)
            self.timeline.append(
                TimelineRow(
                    channel=channel,
                    attempt=attempt.number,
                    at=times[index] - self.observed.created,
                    source=source,
                    outcome=attempt.outcome,
                    gap=gap,
                    window=(window.low, window.high) if window else None,
                    nominal=window.nominal if window else None,
                    verdict=verdict,
                )
            )

    def truthful(self, channel: str, mine: list[ObservedAttempt]) -> None:
        external = self.observed.external.get(channel, [])
        if channel in self.observed.fully_observed:
            if len(external) != len(mine):
                self.fail(
                    "NR-STATUS-TRUTHFUL",
                    f"status records {len(mine)} attempts on channel {channel!r}; "
                    f"{len(external)} were observed at the {external[0].source if external else 'sink'}",
                )
            else:
                for attempt, event in zip(mine, external, strict=True):
                    if abs(attempt.time - event.time) > self.tol.agreement + self.precision:
                        self.fail(
                            "NR-STATUS-TRUTHFUL",
                            f"channel {channel!r} attempt {attempt.number} is recorded at a time "
                            f"{attempt.time - event.time:+.3f}s from when it was observed",
                        )
                    if (attempt.outcome == oracle.SUCCESS) != event.succeeded:
                        self.fail(
                            "NR-STATUS-TRUTHFUL",
                            f"channel {channel!r} attempt {attempt.number} is recorded as {attempt.outcome} "
                            f"but was answered {event.detail}",
                        )
        elif channel in self.observed.success_observed:
            recorded = sum(a.outcome == oracle.SUCCESS for a in mine)
            seen = sum(e.succeeded for e in external)
            if recorded != seen:
                self.fail(
                    "NR-STATUS-TRUTHFUL",
                    f"status records {recorded} successful deliveries on channel {channel!r}; "
                    f"{seen} were observed",
                )
        for attempt in mine:
            write = self.observed.first_write_with((channel, attempt.number))
            if write and attempt.time > write.received + self.tol.epsilon + self.precision:
                self.fail(
                    "NR-STATUS-TRUTHFUL",
                    f"channel {channel!r} attempt {attempt.number} is dated "
                    f"{attempt.time - write.received:.3f}s after the status write that reported it arrived",
                )

    def counters(self) -> None:
        total = self.observed.total_attempts
        if total is not None and total != len(self.observed.attempts):
            self.fail(
                "NR-STATUS-COUNTERS",
                f"totalAttempts is {total} but status lists {len(self.observed.attempts)} attempts",
            )

    def quiet(self) -> None:
        terminal = self.observed.terminal_at
        if terminal is None:
            return
        # A conforming controller attempts before it writes the terminal phase, and the sink
        # and file times come from clocks the suite reads itself; console lines pass through a
        # pipe first, so they get the measurement allowance.
        late = [
            e
            for events in self.observed.external.values()
            for e in events
            if e.time > terminal + (self.tol.epsilon if e.source == CONSOLE else 0.0)
        ]
        for event in late:
            self.fail(
                "NR-QUIET-AFTER-TERMINAL",
                f"channel {event.channel!r} was attempted {event.time - terminal:.3f}s after the terminal "
                f"phase was written (seen via {event.source})",
            )
        terminal_write = next(w for w in self.observed.writes if w.received == terminal)
        later = [
            w for w in self.observed.writes if w.received > terminal and w.attempts - terminal_write.attempts
        ]
        for write in later:
            added = sorted(write.attempts - terminal_write.attempts)
            self.fail(
                "NR-QUIET-AFTER-TERMINAL",
                f"status recorded attempts {added} {write.received - terminal:.3f}s after the terminal phase",
            )

    def timestamps(self) -> None:
        if self.precision >= 1.0:
            return
        coarse = [a for a in self.observed.attempts if not _FRACTION.search(a.raw_time)]
        if coarse:
            self.fail(
                "NR-TIMESTAMP-PRECISION",
                f"attempt timestamps such as {coarse[0].raw_time!r} lack the sub-second precision "
                f"the binding declares",
            )

    def batched(self) -> None:
        ordered = sorted(self.observed.attempts, key=lambda a: a.time)
        rounds: list[list[ObservedAttempt]] = []
        for attempt in ordered:
            if rounds and attempt.time - rounds[-1][-1].time <= self.tol.round_spread:
                rounds[-1].append(attempt)
            else:
                rounds.append([attempt])
        for members in rounds:
            writes = {
                w.resource_version
                for a in members
                if (w := self.observed.first_write_with((a.channel, a.number))) is not None
            }
            if len(writes) > 1:
                names = ", ".join(f"{a.channel}#{a.number}" for a in members)
                self.fail(
                    "NR-BATCHED-WRITES",
                    f"the delivery round at +{members[0].time - self.observed.created:.3f}s ({names}) "
                    f"was recorded in {len(writes)} status writes instead of one",
                )


def evaluate(
    scenario: Scenario,
    observed: Observed,
    tolerances: Tolerances,
    precision: float = 1e-6,
    features: tuple[str, ...] = ("core",),
) -> Verdict:
    return _Evaluation(scenario, observed, tolerances, precision, features).run()
