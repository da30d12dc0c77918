"""The machine-readable conformance report and the short summary printed after a run."""

from __future__ import annotations

import datetime
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from conformance import __version__
from conformance.context import RunContext
from conformance.requirements import FEATURES, REQUIREMENTS

NOT_CLAIMED = "not claimed"


def _result(outcomes: list[str], skips_are_partial: bool = True) -> str:
    if "failed" in outcomes:
        return "failure"
    if not outcomes or "passed" not in outcomes:
        return NOT_CLAIMED if outcomes and set(outcomes) == {"skipped"} else "failure"
    if "skipped" in outcomes and skips_are_partial:
        return "partial"
    return "success"


def profiles(tests: dict[str, dict[str, Any]]) -> dict[str, str]:
    """``core`` must pass whole (a skip makes it partial); each extended feature passes or is not claimed."""
    result = {
        "core": _result([t["outcome"] for t in tests.values() if t.get("features", ["core"]) == ["core"]])
    }
    if result["core"] == NOT_CLAIMED:
        result["core"] = "partial"
    for feature in FEATURES:
        if feature == "core":
            continue
        members = [t["outcome"] for t in tests.values() if feature in t.get("features", [])]
        if members:
            result[feature] = _result(members, skips_are_partial=False)
    return result


def build(
    context: RunContext | None,
    results: list[dict[str, Any]],
    tests: dict[str, dict[str, Any]],
    started: float,
    finished: float,
    details: dict[str, Any],
) -> dict[str, Any]:
    """``results``: per-scenario summaries; ``tests``: each test's outcome, skip reason and features."""
    failed_requirements = sorted({v["requirement"] for r in results for v in r["violations"]})
    outcomes = [t["outcome"] for t in tests.values()]
    counts = {kind: outcomes.count(kind) for kind in ("passed", "failed", "skipped")}
    by_profile = profiles(tests)
    claimed = (details.get("bindingDeclares") or {}).get("features")
    if claimed is not None:  # also the unclaimed features that no test selects (checks inside core tests)
        by_profile.update({f: NOT_CLAIMED for f in FEATURES if f not in claimed})
    if counts["failed"] or not counts["passed"]:
        overall = "failure"
    elif by_profile["core"] != "success":
        overall = "partial"
    else:
        overall = "success"
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
        "result": overall,
        "profiles": by_profile,
        "statistics": counts,
        "failedRequirements": [
            {"id": rid, "text": REQUIREMENTS[rid].text if rid in REQUIREMENTS else ""}
            for rid in failed_requirements
        ],
        "skipped": [
            {"test": nodeid, "reason": t.get("reason", "")}
            for nodeid, t in tests.items()
            if t["outcome"] == "skipped"
        ],
        "tests": {nodeid: t["outcome"] for nodeid, t in tests.items()},
        "scenarios": results,
    }


def write(report: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "conformance-report.yaml"
    path.write_text(yaml.safe_dump(report, sort_keys=False, width=120))
    return path


def summary_lines(report: dict[str, Any]) -> list[str]:
    stats = report["statistics"]
    profile_text = ", ".join(f"{name}: {result}" for name, result in report["profiles"].items())
    lines = [
        f"conformance result: {report['result']} "
        f"({stats['passed']} passed, {stats['failed']} failed, {stats['skipped']} skipped) "
        f"on Kubernetes {report['environment']['kubernetesVersion']}",
        f"profiles: {profile_text}",
    ]
    for scenario in report["scenarios"]:
        if scenario["passed"]:
            continue
        gaps = [row["gap"] for row in scenario["timeline"] if row["gap"] is not None]
        shortest = f", shortest gap {min(gaps):.3f}s" if gaps else ""
        lines.append(f"  FAIL {scenario['scenario']}: {len(scenario['timeline'])} attempts{shortest}")
        lines += [f"       [{v['requirement']}] {v['message']}" for v in scenario["violations"]]
    return lines
