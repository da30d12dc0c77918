"""Every rule of the assertion engine in one table: the check, the requirements it may name,
the feature that must be claimed for it to run, and the scenarios it applies to."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from conformance.checks import attempts, phases, status, timing, webhooks
from conformance.checks.judgement import Judgement
from conformance.checks.violations import Violation

ALWAYS, FINISHING, DELETING = "always", "finishing", "deleting"
"""Scenarios a rule applies to: all, those left to finish, those that delete the object."""


@dataclass(frozen=True)
class Rule:
    check: Callable[[Judgement], Iterable[Violation]]
    requirements: tuple[str, ...]
    feature: str = "core"
    scenarios: str = ALWAYS

    def applies(self, j: Judgement) -> bool:
        if self.feature != "core" and self.feature not in j.features:
            return False
        return self.scenarios == ALWAYS or (self.scenarios == DELETING) == j.deleting

    def run(self, j: Judgement) -> Iterator[Violation]:
        for violation in self.check(j):
            if violation.requirement not in self.requirements:
                raise AssertionError(f"{self.check.__name__} names {violation.requirement}, not in its row")
            yield violation


RULES = (
    Rule(attempts.strangers, ("NR-STATUS-TRUTHFUL",)),
    Rule(phases.terminal, ("NR-PHASE-TERMINAL",), scenarios=FINISHING),
    Rule(phases.timely, ("NR-PHASE-TIMELY",), scenarios=FINISHING),
    Rule(
        attempts.attempts,
        ("NR-ATTEMPT-ORDER", "NR-NO-REDELIVERY", "NR-PERMANENT-FAILURE", "NR-ATTEMPT-COUNT"),
    ),
    Rule(timing.gaps, ("NR-BACKOFF-LOWER", "NR-BACKOFF-UPPER", "NR-BACKOFF-CAP", "NR-RETRY-AFTER")),
    Rule(timing.overlap, ("NR-NO-OVERLAP",)),
    Rule(status.truthful, ("NR-STATUS-TRUTHFUL",), scenarios=FINISHING),
    Rule(status.delivered_again, ("NR-NO-REDELIVERY",)),
    Rule(phases.quiet_after_delete, ("NR-QUIET-AFTER-DELETE",), scenarios=DELETING),
    Rule(status.counters, ("NR-STATUS-COUNTERS",), scenarios=FINISHING),
    Rule(status.conditions, ("NR-STATUS-CONDITIONS",), scenarios=FINISHING),
    Rule(phases.completion, ("NR-COMPLETION-TIME",), scenarios=FINISHING),
    Rule(phases.quiet, ("NR-QUIET-AFTER-TERMINAL",), scenarios=FINISHING),
    Rule(status.timestamps, ("NR-TIMESTAMP-PRECISION",)),
    Rule(timing.isolation, ("NR-ISOLATION",)),
    Rule(status.batched, ("NR-BATCHED-WRITES",), feature="batched-status"),
    Rule(webhooks.idempotency, ("NR-IDEMPOTENCY-KEY",), feature="idempotency-key"),
    Rule(webhooks.credentials, ("NR-CREDENTIALS",), feature="credentials"),
    Rule(webhooks.secret_hidden, ("NR-SECRET-HIDDEN",), feature="credentials"),
)


def named() -> dict[str, list[Rule]]:
    """Requirement ID -> the rules that may name it."""
    table: dict[str, list[Rule]] = {}
    for rule in RULES:
        for requirement in rule.requirements:
            table.setdefault(requirement, []).append(rule)
    return table
