"""The machine-readable conformance report and the short summary printed after a run.

The report is the one record of a run: the HTML page is rendered from it, and it is
validated against ``schemas/conformance-report.schema.json`` whenever it is written.
"""

from __future__ import annotations

import datetime
import json
import shlex
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from conformance import __version__
from conformance.contract.requirements import REQUIREMENTS
from conformance.environment.context import RunContext
from conformance.reports import profiles

API_VERSION = "conformance.notifications.conformance.dev/v1alpha1"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "conformance-report.schema.json"
FILENAME = "conformance-report.yaml"
SCENARIO_TEST = "test_scenario"


class ReportError(ValueError):
    """A report that does not match its schema; the message names the first wrong field."""


def reproduce_command(invocation: dict[str, Any] | None, scenario: str) -> str | None:
    """The command that runs one scenario again with the run's own options."""
    if not invocation:
        return None
    args, skip = [], False
    for arg in invocation["args"]:
        if skip:
            skip = False
            continue
        if arg in ("-k", "-m", "-n", "--numprocesses", "--junitxml", "--junit-xml"):
            skip = True
            continue
        if arg == "--nc-certify" or arg.startswith(
            ("-k", "-m", "-n", "--numprocesses=", "--junitxml=", "--junit-xml=")
        ):
            continue  # one scenario again is no certification
        args.append(arg)
    python = invocation.get("python", "python")
    command = shlex.join([python, "-m", "pytest", *args, "-k", f"{SCENARIO_TEST}[{scenario}]"])
    return f"cd {shlex.quote(invocation['dir'])} && {command}"


def build(
    context: RunContext | None,
    results: list[dict[str, Any]],
    tests: dict[str, dict[str, Any]],
    started: float,
    finished: float,
    details: dict[str, Any],
    *,
    implementation: dict[str, Any] | None = None,
    mode: dict[str, Any] | None = None,
    binding: dict[str, Any] | None = None,
    invocation: dict[str, Any] | None = None,
    refused: str | None = None,
) -> dict[str, Any]:
    """``results``: per-scenario summaries; ``tests``: each test's outcome, skip reason, features and
    requirements, and whether the scenario was not applicable or refused (a binding error).

    ``invocation`` is ``{"dir": ..., "args": [...]}``, the pytest command line the run had;
    ``refused`` says why a run never started.
    """
    outcomes = [t["outcome"] for t in tests.values()]
    counts: dict[str, Any] = {kind: outcomes.count(kind) for kind in ("passed", "failed", "skipped")}
    refusals = sum(bool(t.get("bindingError")) for t in tests.values())
    if refusals:
        counts |= {"failed": counts["failed"] - refusals, "bindingErrors": refusals}
    by_profile = profiles.profiles(tests, results, (binding or {}).get("features"))
    if counts["failed"] or not counts["passed"]:
        overall = "failure"
    elif by_profile["core"] != "success":
        overall = "partial"
    else:
        overall = "success"
    violated = {r["scenario"]: sorted({v["requirement"] for v in r["violations"]}) for r in results}
    failed_requirements = sorted({rid for ids in violated.values() for rid in ids})
    scenarios = []
    for result in results:
        command = reproduce_command(invocation, result["scenario"])
        scenarios.append({**result, **({"reproduce": command} if command else {})})
    built = {
        "apiVersion": API_VERSION,
        "kind": "ConformanceReport",
        "suite": {"name": "notification-conformance", "version": __version__},
        "implementation": implementation or {},
        "date": datetime.datetime.fromtimestamp(finished, datetime.UTC).isoformat(timespec="seconds"),
        "mode": mode or {"certification": False, "deviations": [], "reruns": 0},
        "environment": {
            "kubernetesVersion": context.kubernetes_version if context else None,
            "cluster": context.cluster_provider if context else None,
            "controller": context.controller if context else None,
            **details,
        },
        "binding": binding or {"path": context.binding if context else None},
        "tolerances": asdict(context.tolerances) if context else None,
        "result": overall,
        "profiles": by_profile,
        "statistics": {**counts, "total": len(outcomes), "durationSeconds": round(finished - started, 3)},
        "failedRequirements": [
            {"id": rid, "text": REQUIREMENTS[rid].text if rid in REQUIREMENTS else ""}
            for rid in failed_requirements
        ],
        "failed": [
            {
                "test": nodeid,
                "scenario": t.get("scenario"),
                "requirements": violated.get(t.get("scenario") or "", []),
                "message": t.get("message", ""),
            }
            for nodeid, t in tests.items()
            if t["outcome"] == "failed" and not t.get("bindingError")
        ],
        "bindingErrors": [
            {"test": nodeid, "scenario": t.get("scenario"), "message": t.get("message", "")}
            for nodeid, t in tests.items()
            if t.get("bindingError")
        ],
        "skipped": [
            {"test": nodeid, "reason": t.get("reason", "")}
            for nodeid, t in tests.items()
            if t["outcome"] == "skipped"
        ],
        "tests": {nodeid: t["outcome"] for nodeid, t in tests.items()},
        "scenarios": scenarios,
        "coverage": profiles.coverage(tests),
    }
    return {**built, "refused": refused} if refused else built


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


def validate(report: dict[str, Any]) -> None:
    """Raise ReportError naming the first place where ``report`` breaks the schema."""
    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(report))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "the top level"
        raise ReportError(f"The conformance report is invalid at {where}: {error.message}.")


def write(report: dict[str, Any], directory: Path) -> Path:
    validate(report)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILENAME
    path.write_text(yaml.safe_dump(report, sort_keys=False, width=120))
    return path


def load(path: Path) -> dict[str, Any]:
    """Read and validate a written report."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ReportError(f"Cannot read the conformance report {path}: {err}") from err
    if not isinstance(data, dict):
        raise ReportError(f"{path} does not hold a conformance report.")
    validate(data)
    return data


def summary_lines(report: dict[str, Any]) -> list[str]:
    stats = report["statistics"]
    profile_text = ", ".join(f"{name}: {result}" for name, result in report["profiles"].items())
    mode = report["mode"]
    lines = [
        f"conformance result: {report['result']} "
        f"({stats['passed']} passed, {stats['failed']} failed, {stats['skipped']} skipped) "
        f"on Kubernetes {report['environment']['kubernetesVersion']}",
        f"profiles: {profile_text}",
    ]
    longest = max((s["durationSeconds"] for s in report["scenarios"]), default=None)
    start = report["environment"].get("clusterStartSeconds")
    if longest is not None and start is not None:
        floor, took = start + longest, stats["durationSeconds"]
        lines.append(
            f"time: {took:.1f}s, {took / floor:.2f} times the floor of {floor:.1f}s "
            f"(control plane {start:.1f}s + longest scenario {longest:.1f}s)"
        )
    if mode["certification"]:
        lines.append("mode: certification")
    else:
        lines += [f"not a certification: {deviation}" for deviation in mode["deviations"]]
    coverage = report.get("coverage") or {}
    if coverage.get("notApplicable"):
        unproved = ", ".join(coverage["unprovedRequirements"]) or "none"
        lines.append(
            f"core tests: {coverage['applicable']} applicable, {coverage['notApplicable']} not applicable "
            f"under the binding's limits; core requirements no passed test proved: {unproved}"
        )
    for error in report.get("bindingErrors", []):
        lines.append(f"  BINDING ERROR {error['scenario'] or error['test']}: {error['message']}")
    for scenario in report["scenarios"]:
        if scenario["passed"]:
            continue
        gaps = [row["gap"] for row in scenario["timeline"] if row["gap"] is not None]
        shortest = f", shortest gap {min(gaps):.3f}s" if gaps else ""
        lines.append(f"  FAIL {scenario['scenario']}: {len(scenario['timeline'])} attempts{shortest}")
        lines += [f"       [{v['requirement']}] {v['message']}" for v in scenario["violations"]]
    return lines
