"""The assertion engine: compare what was observed with what the oracle expects.

Pure functions over data, so every rule is unit-tested without a cluster. Each
violation names the requirement it breaks.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass
from typing import Any

from conformance.binding.binding import SUITE_PHASES, ObservedAttempt
from conformance.contract.requirements import REQUIREMENTS
from conformance.observers.observation import CONSOLE, STATUS, Observed
from conformance.scenarios import oracle
from conformance.scenarios.model import ChannelSpec
from conformance.scenarios.plan import Plan

_FRACTION = re.compile(r"T\d\d:\d\d:\d\d\.\d+")
ORDERABLE_PRECISION = 1e-3
"""Timestamps this fine or finer tell any two attempts of a channel apart."""


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
        row = asdict(self)
        for key in ("at", "gap", "nominal"):
            row[key] = round(row[key], 6) if row[key] is not None else None
        row["window"] = [round(x, 6) for x in self.window] if self.window else None
        return row


@dataclass
class Verdict:
    violations: list[Violation]
    timeline: list[TimelineRow]

    @property
    def passed(self) -> bool:
        return not self.violations

    def requirements(self) -> list[str]:
        return sorted({v.requirement for v in self.violations})


class _Evaluation:
    def __init__(self, plan: Plan, observed: Observed) -> None:
        self.scenario = plan.scenario
        self.expectation = plan.expectation
        self.observed = observed
        self.tol = plan.tolerances
        self.precision = plan.precision
        self.features = plan.features
        self.deleting = plan.scenario.actions.delete_after is not None
        self.violations: list[Violation] = []
        self.timeline: list[TimelineRow] = []

    def fail(self, requirement: str, message: str) -> None:
        self.violations.append(Violation(requirement, message))

    def run(self) -> Verdict:
        known = {c.name for c in self.scenario.channels}
        strangers = sorted({a.channel for a in self.observed.attempts} - known)
        if strangers:
            self.fail(
                "NR-STATUS-TRUTHFUL", f"status records attempts on channels it does not have: {strangers}"
            )
            self.observed.attempts = [a for a in self.observed.attempts if a.channel in known]
        if not self.deleting:
            self.phase()
        for channel in self.scenario.channels:
            mine = [a for a in self.observed.attempts if a.channel == channel.name]
            self.attempts(channel, mine)
            self.gaps(channel, mine)
            self.overlap(channel)
            if not self.deleting:
                self.truthful(channel.name, mine)
        if self.deleting:
            self.quiet_after_delete()
        else:
            self.counters()
            self.conditions()
            self.completion()
            self.quiet()
        self.timestamps()
        self.isolation()
        if "batched-status" in self.features:
            self.batched()
        if "idempotency-key" in self.features:
            self.idempotency()
        self.scenario_level()
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

    def attempts(self, channel: ChannelSpec, mine: list[ObservedAttempt]) -> None:
        name = channel.name
        expected = self.expectation.outcomes[name]
        numbers = [a.number for a in mine]
        if numbers != list(range(1, len(mine) + 1)):
            self.fail("NR-ATTEMPT-ORDER", f"channel {name!r} attempts are numbered {numbers}, not 1..n")
        times = [a.time for a in mine]
        # Two attempts may share a timestamp only when the binding's precision cannot tell them apart.
        orderable = self.precision <= ORDERABLE_PRECISION
        if any(
            later < earlier or (later == earlier and orderable)
            for earlier, later in itertools.pairwise(times)
        ):
            order = "strictly increase" if orderable else "increase"
            self.fail("NR-ATTEMPT-ORDER", f"channel {name!r} attempt timestamps do not {order}")
        first_success = next((i for i, a in enumerate(mine) if a.outcome == oracle.SUCCESS), None)
        if first_success is not None and first_success + 1 < len(mine):
            again = mine[first_success + 1]
            self.fail(
                "NR-NO-REDELIVERY",
                f"channel {name!r} succeeded at attempt {mine[first_success].number} and was attempted "
                f"again (attempt {again.number}, {again.time - mine[first_success].time:.3f}s later)",
            )
        elif expected[-1] == oracle.PERMANENT and len(mine) > len(expected):
            self.fail(
                "NR-PERMANENT-FAILURE",
                f"channel {name!r} got an answer that cannot succeed at attempt {len(expected)} "
                f"and was retried {len(mine) - len(expected)} times",
            )
        elif len(mine) > len(expected) or (len(mine) < len(expected) and not self.deleting):
            self.fail(
                "NR-ATTEMPT-COUNT",
                f"channel {name!r} was attempted {len(mine)} times; expected exactly {len(expected)}",
            )
        seen = [a.outcome for a in mine]
        wanted = [oracle.SUCCESS if o == oracle.SUCCESS else oracle.FAILURE for o in expected]
        if seen[: len(wanted)] != wanted[: len(seen)]:
            self.fail("NR-ATTEMPT-ORDER", f"channel {name!r} outcomes were {seen}; expected {wanted}")

    def _times(self, channel: str, mine: list[ObservedAttempt]) -> tuple[list[float], str, float]:
        """The attempt times the suite trusts most: seen outside when every attempt is, else status."""
        external = self.observed.external.get(channel, [])
        if channel in self.observed.fully_observed and len(external) >= len(mine) and external:
            return [e.time for e in external], external[0].source, 0.0
        return [a.time for a in mine], STATUS, self.precision

    def gaps(self, channel: ChannelSpec, mine: list[ObservedAttempt]) -> None:
        times, source, precision = self._times(channel.name, mine)
        outcomes = [a.outcome for a in mine] + ["-"] * (len(times) - len(mine))
        for index in range(len(times)):
            gap = window = None
            verdict = "ok"
            if index:
                gap = times[index] - times[index - 1]
                window = oracle.window(
                    self.scenario.retry_policy,
                    index,
                    self.tol,
                    precision,
                    retry_after=oracle.retry_after(channel, index),
                    busy=oracle.busy(channel, index) if source != STATUS else 0.0,
                )
                where = (
                    f"channel {channel.name!r} attempt {index + 1} came {gap:.3f}s after attempt {index}; "
                    f"the contract allows [{window.low:.3f}s, {window.high:.3f}s] "
                    f"(nominal {window.nominal:.3f}s, seen via {source})"
                )
                if gap < window.low:
                    verdict = "early"
                    self.fail("NR-RETRY-AFTER" if window.retry_after else "NR-BACKOFF-LOWER", where)
                elif gap > window.high:
                    verdict = "late"
                    self.fail("NR-BACKOFF-CAP" if window.capped else "NR-BACKOFF-UPPER", where)
            self.timeline.append(
                TimelineRow(
                    channel=channel.name,
                    attempt=index + 1,
                    at=times[index] - self.observed.created,
                    source=source,
                    outcome=outcomes[index],
                    gap=gap,
                    window=(window.low, window.high) if window else None,
                    nominal=window.nominal if window else None,
                    verdict=verdict,
                )
            )

    def overlap(self, channel: ChannelSpec) -> None:
        if channel.name not in self.observed.fully_observed:
            return
        events = self.observed.external.get(channel.name, [])
        for index, (earlier, later) in enumerate(itertools.pairwise(events), start=1):
            ended = earlier.time + oracle.busy(channel, index)
            if later.time < ended - self.tol.epsilon:
                self.fail(
                    "NR-NO-OVERLAP",
                    f"channel {channel.name!r} attempt {index + 1} started {ended - later.time:.3f}s before "
                    f"attempt {index} ended",
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
        if "totalAttempts" in self.observed.exposed and total != len(self.observed.attempts):
            self.fail(
                "NR-STATUS-COUNTERS",
                f"totalAttempts is {total} but status lists {len(self.observed.attempts)} attempts",
            )

    def conditions(self) -> None:
        observed = self.observed
        if observed.final_phase not in SUITE_PHASES:
            return
        wanted = "True" if observed.final_phase == "Sent" else "False"
        if "conditions" in observed.exposed and observed.ready != wanted:
            self.fail(
                "NR-STATUS-CONDITIONS",
                f"the phase is {observed.final_phase} but the Ready condition is {observed.ready}",
            )
        if "observedGeneration" in observed.exposed and observed.observed_generation != observed.generation:
            self.fail(
                "NR-STATUS-CONDITIONS",
                f"observedGeneration is {observed.observed_generation}; metadata.generation is "
                f"{observed.generation}",
            )

    def completion(self) -> None:
        observed = self.observed
        if observed.final_phase not in SUITE_PHASES or "completionTime" not in observed.exposed:
            return
        if observed.completion_time is None:
            self.fail(
                "NR-COMPLETION-TIME", f"the phase is {observed.final_phase} but completionTime is unset"
            )
            return
        last = max((a.time for a in observed.attempts), default=observed.created)
        if observed.completion_time < last - self.precision - self.tol.epsilon:
            self.fail(
                "NR-COMPLETION-TIME",
                f"completionTime is {last - observed.completion_time:.3f}s before the last attempt",
            )

    def quiet(self) -> None:
        terminal = self.observed.terminal_at
        if terminal is None:
            return
        # A conforming controller attempts before it writes the terminal phase, and the sink
        # and file times come from clocks the suite reads itself. Console lines are stamped
        # after a pipe read, which may lag the write; an extra console line is caught by
        # NR-STATUS-TRUTHFUL's count instead.
        late = [
            e
            for events in self.observed.external.values()
            for e in events
            if e.source != CONSOLE and e.time > terminal
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

    def quiet_after_delete(self) -> None:
        deleted = self.observed.deleted_at
        if deleted is None:
            self.fail(
                "NR-QUIET-AFTER-DELETE", "the object was never deleted: the attempt to wait for never came"
            )
            return
        for events in self.observed.external.values():
            for event in events:
                if event.time > deleted + self.tol.epsilon:
                    self.fail(
                        "NR-QUIET-AFTER-DELETE",
                        f"channel {event.channel!r} was attempted {event.time - deleted:.3f}s after the "
                        f"notification was deleted (seen via {event.source})",
                    )

    def isolation(self) -> None:
        for name, latency in self.observed.companion_latency.items():
            if latency is None:
                self.fail("NR-ISOLATION", f"the companion notification {name!r} was never attempted")
            elif latency > self.tol.slack:
                self.fail(
                    "NR-ISOLATION",
                    f"the companion notification {name!r} was first attempted {latency:.3f}s after it was "
                    f"created; the allowance is {self.tol.slack:.3f}s",
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
        """The first round is the one whose members are certain: every channel is due at creation.

        Later rounds depend on when each channel's own backoff ends, which an implementation may
        measure per channel, so the suite does not guess their membership.
        """
        first = [a for a in self.observed.attempts if a.number == 1]
        writes = {
            w.resource_version
            for a in first
            if (w := self.observed.first_write_with((a.channel, a.number))) is not None
        }
        if len(writes) > 1:
            names = ", ".join(f"{a.channel}#{a.number}" for a in first)
            self.fail(
                "NR-BATCHED-WRITES",
                f"the first delivery round ({names}) was recorded in {len(writes)} status writes, not one",
            )

    def idempotency(self) -> None:
        keys: dict[str, str] = {}
        for channel in self.scenario.channels:
            if channel.name not in self.observed.fully_observed:
                continue
            seen = [e.key for e in self.observed.external.get(channel.name, [])]
            if not seen:
                continue
            if any(not key for key in seen):
                self.fail(
                    "NR-IDEMPOTENCY-KEY", f"a request on channel {channel.name!r} had no Idempotency-Key"
                )
            elif len(set(seen)) > 1:
                self.fail(
                    "NR-IDEMPOTENCY-KEY",
                    f"channel {channel.name!r} used {len(set(seen))} idempotency keys across its attempts",
                )
            else:
                keys[channel.name] = str(seen[0])
        if len(set(keys.values())) < len(keys):
            self.fail("NR-IDEMPOTENCY-KEY", "two channels of one notification share an idempotency key")

    def scenario_level(self) -> None:
        if not self.violations:
            return
        first = self.violations[0]
        for requirement in self.scenario.requirements:
            if REQUIREMENTS[requirement].scenario_level:
                self.fail(requirement, f"the scenario failed while the suite {self._activity()}: {first}")

    def _activity(self) -> str:
        if self.observed.touches:
            return f"touched the object {self.observed.touches} times"
        if self.observed.restarted_at is not None:
            return "restarted the controller"
        return "ran"


def evaluate(plan: Plan, observed: Observed) -> Verdict:
    return _Evaluation(plan, observed).run()
