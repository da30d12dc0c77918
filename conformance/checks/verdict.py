"""The assertion engine: measure the attempt times, judge every rule of the table
(``conformance.checks.rules``), attribute violations to the suite's actions, and lay out the
timeline. Pure functions over data, so every rule is unit-tested without a cluster."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.checks import timeline
from conformance.checks.blame import blame
from conformance.checks.judgement import judge
from conformance.checks.rules import RULES
from conformance.checks.timeline import TimelineRow
from conformance.checks.violations import Violation
from conformance.observers.observation import Observed
from conformance.scenarios.plan import Plan


@dataclass(frozen=True)
class Verdict:
    violations: list[Violation]
    timeline: list[TimelineRow]

    @property
    def passed(self) -> bool:
        return not self.violations

    def requirements(self) -> list[str]:
        return sorted({v.requirement for v in self.violations})


def evaluate(plan: Plan, observed: Observed) -> Verdict:
    judgement = judge(plan, observed)
    found = [violation for rule in RULES if rule.applies(judgement) for violation in rule.run(judgement)]
    found += blame(judgement, found)
    return Verdict(found, timeline.build(judgement))
