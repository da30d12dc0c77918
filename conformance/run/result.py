"""What running one scenario produced: the verdict and everything observed on the way.

The reports (``conformance.reports``) turn it into the run record and the failure text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.checks.verdict import Verdict
from conformance.observers.observation import Observed
from conformance.scenarios.model import Scenario


@dataclass
class ScenarioResult:
    scenario: Scenario
    namespace: str
    verdict: Verdict
    observed: Observed
    readonly_mechanisms: dict[str, str] = field(default_factory=dict)
    diagnostics: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
