"""One scenario's entry in the run record: the shape the YAML report stores per test."""

from __future__ import annotations

from typing import Any

from conformance.run.result import ScenarioResult


def summary(result: ScenarioResult) -> dict[str, Any]:
    return {
        "scenario": result.scenario.name,
        "namespace": result.namespace,
        "passed": result.verdict.passed,
        "durationSeconds": round(result.duration, 3),
        "violations": [v.as_dict() for v in result.verdict.violations],
        "timeline": [row.as_dict() for row in result.verdict.timeline],
        "moments": moments(result),
        "readOnlyMechanisms": result.readonly_mechanisms,
        "timeFactor": result.scenario.time_factor,
        "slow": "slow" in result.scenario.flags,
    }


def moments(result: ScenarioResult) -> dict[str, float]:
    """What the suite saw or did besides attempts, in seconds after creation."""
    observed = result.observed
    seen = {
        "terminal": observed.terminal_at,
        "deleted": observed.deleted_at,
        "restarted": observed.restarted_at,
        "resumed": observed.resumed_at,
    }
    return {name: round(at - observed.created, 6) for name, at in seen.items() if at is not None}
