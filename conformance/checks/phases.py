"""Rules on how a notification ends: the right terminal phase, written on time, and nothing
attempted afterwards (or after deletion)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from conformance.binding.binding import SUITE_PHASES
from conformance.checks.judgement import Judgement
from conformance.checks.violations import Violation
from conformance.observers.observation import CONSOLE, ExternalEvent, StatusWrite


def _made(j: Judgement) -> str:
    """The attempts status records, in words: '5 attempts (console 1, archive 4)'."""
    per_channel = [f"{c.name} {len(j.mine(c.name))}" for c in j.scenario.channels]
    return f"{len(j.attempts)} attempts ({', '.join(per_channel)})"


def _owed(j: Judgement) -> str:
    per_channel = [f"{c.name} {j.expectation.count(c.name)}" for c in j.scenario.channels]
    return f"{sum(j.expectation.count(c.name) for c in j.scenario.channels)} ({', '.join(per_channel)})"


def terminal(j: Judgement) -> Iterator[Violation]:
    final, expected = j.observed.final_phase, j.expectation.phase
    if final not in SUITE_PHASES:
        deadline = j.deadline
        yield Violation(
            "NR-PHASE-TERMINAL",
            f"the notification did not reach a terminal phase within {deadline:.3f}s of its creation "
            f"(last phase: {final}) after {_made(j)}; expected {expected} after {_owed(j)}",
            moment=deadline,
        )
    elif final != expected:
        yield Violation(
            "NR-PHASE-TERMINAL", f"the notification ended {final} after {_made(j)}; expected {expected}"
        )


def _attempted(write: StatusWrite, channel: str) -> int:
    return max((number for name, number in write.attempts if name == channel), default=0)


def timely(j: Judgement) -> Iterator[Violation]:
    """Once status records every attempt the channels owe, the terminal phase is due: in that
    write, or within the latency allowance after it."""
    writes = j.observed.writes
    owed = {c.name: j.expectation.count(c.name) for c in j.scenario.channels}
    complete = next((w for w in writes if all(_attempted(w, c) >= n for c, n in owed.items())), None)
    ended = next((w for w in writes if w.phase in SUITE_PHASES), None)
    if complete is None or ended is None or ended.received < complete.received:
        return  # attempts missing or phase never terminal: NR-ATTEMPT-COUNT and NR-PHASE-TERMINAL say so
    if ended.attempts - complete.attempts:
        return  # attempts beyond those owed came first: NR-ATTEMPT-COUNT (or the like) says so
    delay = ended.received - complete.received
    if delay <= j.tolerances.slack:
        return
    pending = [w for w in writes if complete.received <= w.received < ended.received]
    said = ", ".join(sorted({str(w.phase) for w in pending}))
    yield Violation(
        "NR-PHASE-TIMELY",
        f"status recorded every attempt owed, {_owed(j)}, {j.after_creation(complete.received):.3f}s after "
        f"creation in a write that said {complete.phase}, but the terminal phase {ended.phase} came "
        f"{delay:.3f}s later; the allowance is {j.tolerances.slack:.3f}s (meanwhile "
        f"{len(pending)} writes said {said}, though no channel was owed an attempt)",
        moment=j.after_creation(ended.received),
    )


def quiet(j: Judgement) -> Iterator[Violation]:
    terminal_at = j.observed.terminal_at
    if terminal_at is None:
        return
    # A conforming controller attempts before it writes the terminal phase, and the sink
    # and file times come from clocks the suite reads itself. Console lines are stamped
    # after a pipe read, which may lag the write; an extra console line is caught by
    # NR-NO-REDELIVERY's count instead.
    seen = (e for events in j.observed.external.values() for e in events if e.source != CONSOLE)
    yield from _attempted_after(
        j, seen, terminal_at, "NR-QUIET-AFTER-TERMINAL", "the terminal phase was written"
    )
    terminal_write = next(w for w in j.observed.writes if w.received == terminal_at)
    for write in j.observed.writes:
        added = sorted(write.attempts - terminal_write.attempts)
        if write.received > terminal_at and added:
            yield Violation(
                "NR-QUIET-AFTER-TERMINAL",
                f"status recorded attempts {added} {write.received - terminal_at:.3f}s after the "
                "terminal phase",
                added[0][0],
                added[0][1],
                j.after_creation(write.received),
            )


def quiet_after_delete(j: Judgement) -> Iterator[Violation]:
    deleted = j.observed.deleted_at
    if deleted is None:
        yield Violation(
            "NR-QUIET-AFTER-DELETE", "the object was never deleted: the attempt to wait for never came"
        )
        return
    seen = (
        e
        for events in j.observed.external.values()
        for e in events
        if e.time > deleted + j.tolerances.epsilon
    )
    yield from _attempted_after(j, seen, deleted, "NR-QUIET-AFTER-DELETE", "the notification was deleted")


def _attempted_after(
    j: Judgement, seen: Iterable[ExternalEvent], since: float, requirement: str, what: str
) -> Iterator[Violation]:
    for event in seen:
        if event.time > since:
            yield Violation(
                requirement,
                f"channel {event.channel!r} was attempted {event.time - since:.3f}s after {what} "
                f"(seen via {event.source})",
                event.channel,
                moment=j.after_creation(event.time),
            )


def completion(j: Judgement) -> Iterator[Violation]:
    observed = j.observed
    if observed.final_phase not in SUITE_PHASES or "completionTime" not in observed.exposed:
        return
    if observed.completion_time is None:
        yield Violation(
            "NR-COMPLETION-TIME", f"the phase is {observed.final_phase} but completionTime is unset"
        )
        return
    last = max((a.time for a in j.attempts), default=observed.created)
    if observed.completion_time < last - j.precision - j.tolerances.epsilon:
        yield Violation(
            "NR-COMPLETION-TIME",
            f"completionTime is {last - observed.completion_time:.3f}s before the last attempt",
        )
