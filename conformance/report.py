"""The machine-readable conformance report and the short summary printed after a run."""

from __future__ import annotations

import datetime
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from conformance import __version__
from conformance.context import RunContext
from conformance.requirements import REQUIREMENTS


def build(
    context: RunContext | None,
    results: list[dict[str, Any]],
    outcomes: dict[str, str],
    started: float,
    finished: float,
    details: dict[str, Any],
) -> dict[str, Any]:
    """``results`` are per-scenario summaries; ``outcomes`` maps every test to passed/failed/skipped."""
    failed_requirements = sorted({v["requirement"] for r in results for v in r["violations"]})
    counts = {
        kind: sum(1 for o in outcomes.values() if o == kind) for kind in ("passed", "failed", "skipped")
    }
    result = "success" if counts["failed"] == 0 and counts["passed"] > 0 else "failure"
    if result == "success" and counts["skipped"]:
        result = "partial"
    return {
        "apiVersion": "conformance.notifications.conformance.dev/v1alpha1",
        "kind": "ConformanceReport",
        "suite": {"name": "notification-conformance", "version": __version__},
        "date": datetime.datetime.fromtimestamp(finished, datetime.UTC).isoformat(timespec="seconds"),
        "durationSeconds": round(finished - started, 3),
        "environment": {
            "kubernetesVersion": context.kubernetes_version if context else None,
            "cluster": context.cluster_provider if context else None,
            "controller": context.controller if context else None,
            "binding": context.binding if context else None,
            **details,
        },
        "tolerances": asdict(context.tolerances) if context else None,
        "result": result,
        "statistics": counts,
        "failedRequirements": [
            {"id": rid, "text": REQUIREMENTS[rid].text if rid in REQUIREMENTS else ""}
            for rid in failed_requirements
        ],
        "tests": outcomes,
        "scenarios": results,
    }


def write(report: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "conformance-report.yaml"
    path.write_text(yaml.safe_dump(report, sort_keys=False, width=120))
    return path


def summary_lines(report: dict[str, Any]) -> list[str]:
    stats = report["statistics"]
    lines = [
        f"conformance result: {report['result']} "
        f"({stats['passed']} passed, {stats['failed']} failed, {stats['skipped']} skipped) "
        f"on Kubernetes {report['environment']['kubernetesVersion']}"
    ]
    for scenario in report["scenarios"]:
        mark = "PASS" if scenario["passed"] else "FAIL"
        gaps = [row["gap"] for row in scenario["timeline"] if row["gap"] is not None]
        shortest = f", shortest gap {min(gaps):.3f}s" if gaps else ""
        lines.append(f"  {mark} {scenario['scenario']}: {len(scenario['timeline'])} attempts{shortest}")
        lines += [f"       [{v['requirement']}] {v['message']}" for v in scenario["violations"]]
    return lines
