"""Which violations an action of the suite caused.

A touch (an annotation change) or a restart makes a scenario fail its action's requirement
(NR-SPURIOUS-RECONCILE, NR-RESTART-SAFE) only through violations that concern an attempt made
after the action began and that are of a kind the requirement forbids: an early attempt, an
extra attempt, a repeated delivery, and for a restart also a late next attempt. Every other
violation keeps its own requirement alone.
"""

from __future__ import annotations

from collections.abc import Iterator

from conformance.checks.judgement import Judgement
from conformance.checks.violations import Violation

EARLY_EXTRA_REPEATED = frozenset(
    {
        "NR-BACKOFF-LOWER",
        "NR-RETRY-AFTER",
        "NR-ATTEMPT-COUNT",
        "NR-PERMANENT-FAILURE",
        "NR-NO-REDELIVERY",
        "NR-QUIET-AFTER-TERMINAL",
    }
)
LATE = frozenset({"NR-BACKOFF-UPPER", "NR-BACKOFF-CAP"})
ACTION_REQUIREMENTS = ("NR-SPURIOUS-RECONCILE", "NR-RESTART-SAFE")


def blame(j: Judgement, violations: list[Violation]) -> Iterator[Violation]:
    observed = j.observed
    if observed.touched_at is not None:
        began = j.after_creation(observed.touched_at)
        activity = f"began touching the object (it did so {observed.touches} times)"
        for violation in violations:
            if violation.requirement in EARLY_EXTRA_REPEATED and _after(violation, began):
                yield _caused("NR-SPURIOUS-RECONCILE", activity, began, violation)
    if observed.restarted_at is not None:
        began = j.after_creation(observed.restarted_at)
        for violation in violations:
            kind = violation.requirement
            if _after(violation, began) and (
                kind in EARLY_EXTRA_REPEATED or (kind in LATE and _first_after(j, violation, began))
            ):
                yield _caused("NR-RESTART-SAFE", "restarted the controller", began, violation)


def _after(violation: Violation, began: float) -> bool:
    return violation.moment is not None and violation.moment >= began


def _first_after(j: Judgement, violation: Violation, began: float) -> bool:
    """The violation concerns a channel's next attempt after the restart: its previous one came before."""
    if violation.channel is None or violation.attempt is None or violation.attempt < 2:
        return False
    previous = j.times[violation.channel].intervals[violation.attempt - 2]
    return j.after_creation(previous.low) < began


def _caused(requirement: str, activity: str, began: float, violation: Violation) -> Violation:
    return Violation(
        requirement,
        f"after the suite {activity} at {began:.3f}s: {violation}",
        violation.channel,
        violation.attempt,
        violation.moment,
    )
