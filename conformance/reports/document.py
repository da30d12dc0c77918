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
from conformance.contract.requirements import FEATURES, REQUIREMENTS
from conformance.environment.context import RunContext

NOT_CLAIMED = "not claimed"
API_VERSION = "conformance.notifications.conformance.dev/v1alpha1"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "conformance-report.schema.json"
FILENAME = "conformance-report.yaml"
SCENARIO_TEST = "test_scenario"


class ReportError(ValueError):
    """A report that does not match its schema; the message names the first wrong field."""


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
) -> dict[str, Any]:
    """``results``: per-scenario summaries; ``tests``: each test's outcome, skip reason and features.

    ``invocation`` is ``{"dir": ..., "args": [...]}``, the pytest command line the run had.
    """
    outcomes = [t["outcome"] for t in tests.values()]
    counts: dict[str, Any] = {kind: outcomes.count(kind) for kind in ("passed", "failed", "skipped")}
    by_profile = profiles(tests)
    claimed = (binding or {}).get("features")
    if claimed is not None:  # also the unclaimed features that no test selects (checks inside core tests)
        by_profile.update({f: NOT_CLAIMED for f in FEATURES if f not in claimed})
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
    return {
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
            if t["outcome"] == "failed"
        ],
        "skipped": [
            {"test": nodeid, "reason": t.get("reason", "")}
            for nodeid, t in tests.items()
            if t["outcome"] == "skipped"
        ],
        "tests": {nodeid: t["outcome"] for nodeid, t in tests.items()},
        "scenarios": scenarios,
    }


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
    if mode["certification"]:
        lines.append("mode: certification")
    else:
        lines += [f"not a certification: {deviation}" for deviation in mode["deviations"]]
    for scenario in report["scenarios"]:
        if scenario["passed"]:
            continue
        gaps = [row["gap"] for row in scenario["timeline"] if row["gap"] is not None]
        shortest = f", shortest gap {min(gaps):.3f}s" if gaps else ""
        lines.append(f"  FAIL {scenario['scenario']}: {len(scenario['timeline'])} attempts{shortest}")
        lines += [f"       [{v['requirement']}] {v['message']}" for v in scenario["violations"]]
    return lines
