"""Each profile's result, from the tests' outcomes (``docs/specification.md``, *Features
and profiles*): ``core`` must pass whole; a feature checked inside other tests (such as
``batched-status``) is judged from those checks; what the binding's limits cannot
express is not applicable, which never fails a profile and need not keep ``core``
from success while the rest still prove every core requirement."""

from __future__ import annotations

from typing import Any

from conformance.contract.requirements import FEATURES, REQUIREMENTS

NOT_CLAIMED = "not claimed"
MIN_CORE_SCENARIOS = 15
"""With scenarios not applicable, ``core`` succeeds only if at least this many passed."""
CORE_REQUIREMENTS = tuple(rid for rid, r in REQUIREMENTS.items() if r.feature == "core")


def _result(outcomes: list[str], skips_are_partial: bool = True) -> str:
    if "failed" in outcomes:
        return "failure"
    if not outcomes or "passed" not in outcomes:
        return NOT_CLAIMED if outcomes and set(outcomes) == {"skipped"} else "failure"
    if "skipped" in outcomes and skips_are_partial:
        return "partial"
    return "success"


def _core_tests(tests: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in tests.values() if t.get("features", ["core"]) == ["core"]]


def coverage(tests: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """How many core tests the binding's limits let run, and the core requirements no passed test proved."""
    core = _core_tests(tests)
    proved = {rid for t in core if t["outcome"] == "passed" for rid in t.get("requirements", [])}
    return {
        "applicable": sum(not t.get("notApplicable") for t in core),
        "notApplicable": sum(bool(t.get("notApplicable")) for t in core),
        "passed": sum(t["outcome"] == "passed" for t in core),
        "needed": MIN_CORE_SCENARIOS,
        "unprovedRequirements": [rid for rid in CORE_REQUIREMENTS if rid not in proved],
    }


def core_result(tests: dict[str, dict[str, Any]]) -> str:
    """A failure fails core; a binding error or another skip makes it partial; scenarios that are not
    applicable leave it a success only while at least MIN_CORE_SCENARIOS passed and proved every
    core requirement."""
    core = _core_tests(tests)
    judged = [t["outcome"] for t in core if not t.get("notApplicable") and not t.get("bindingError")]
    result = _result(judged)
    if result == NOT_CLAIMED or (result == "failure" and "failed" not in judged and core):
        return "partial"
    if result == "success" and any(t.get("bindingError") for t in core):
        return "partial"
    if result == "success" and any(t.get("notApplicable") for t in core):
        covered = coverage(tests)
        if covered["passed"] < MIN_CORE_SCENARIOS or covered["unprovedRequirements"]:
            return "partial"
    return result


def _checked_within(
    feature: str, tests: dict[str, dict[str, Any]], results: list[dict[str, Any]]
) -> str | None:
    """A feature without tests of its own, judged by its checks in the tests that list its requirements."""
    ids = {rid for rid, r in REQUIREMENTS.items() if r.feature == feature}
    verdicts = {r["scenario"]: {v["requirement"] for v in r["violations"]} for r in results}
    outcomes = []
    for test in tests.values():
        if not ids & set(test.get("requirements", [])):
            continue
        violated = verdicts.get(test.get("scenario") or "")
        if violated is None:
            outcomes.append("skipped")  # never judged: not applicable, skipped, or refused
        else:
            outcomes.append("failed" if ids & violated else "passed")
    return _result(outcomes, skips_are_partial=False) if outcomes else None


def profiles(
    tests: dict[str, dict[str, Any]], results: list[dict[str, Any]], claimed: list[str] | None
) -> dict[str, str]:
    """``core``, then every extended feature that has tests or is claimed."""
    found = {"core": core_result(tests)}
    for feature in FEATURES:
        if feature == "core":
            continue
        if claimed is not None and feature not in claimed:
            found[feature] = NOT_CLAIMED
            continue
        members = [t["outcome"] for t in tests.values() if feature in t.get("features", [])]
        result = (
            _result(members, skips_are_partial=False) if members else _checked_within(feature, tests, results)
        )
        if result is not None:
            found[feature] = result
    return found
