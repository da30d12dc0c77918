"""The strict example certified through its binding's limits, and its broken variant failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, run_suite

STRICT = REPO / "fixtures" / "bindings" / "strict"
CONTROLLER = "{python} -m examples.strict_controller --kubeconfig {kubeconfig}"


@pytest.mark.timeout(1500)
@pytest.mark.long
def test_the_strict_controller_is_certified_as_its_api_is(tmp_path: Path) -> None:
    run = run_suite(
        tmp_path,
        f"--nc-binding={STRICT}",
        f"--nc-controller-cmd={CONTROLLER}",
        f"--nc-implementation={REPO / 'examples' / 'strict_controller' / 'implementation.yaml'}",
        "--nc-implementation-version=test",
        "--nc-certify",
        timeout=1500,
        beside_full=True,
    )
    assert run.report is not None, run.output
    assert run.report["mode"]["certification"] is True
    assert run.report["result"] in ("success", "partial"), run.output
    assert run.report["profiles"]["core"] in ("success", "partial")
    assert run.report["bindingErrors"] == [] and run.report["failed"] == [], run.output
    coverage = run.report["coverage"]
    assert coverage["applicable"] >= 15 and coverage["passed"] == coverage["applicable"]
    assert set(coverage["unprovedRequirements"]) <= {"NR-NO-OVERLAP", "NR-ISOLATION"}
    not_applicable = [s["reason"] for s in run.report["skipped"] if "not applicable" in s["reason"]]
    assert len(not_applicable) == coverage["notApplicable"] > 0
    assert all(r.startswith("not applicable to binding strict: channel ") for r in not_applicable)
    scenarios = {s["scenario"]: s for s in run.report["scenarios"]}
    assert (scenarios["readonly-file"]["timeFactor"], scenarios["readonly-file"]["slow"]) == (30, True)
    assert scenarios["readonly-file-in-seconds"]["timeFactor"] == 1


def test_the_broken_strict_variant_fails_with_nr_backoff_lower(tmp_path: Path) -> None:
    run = run_suite(
        tmp_path,
        f"--nc-binding={STRICT}",
        f"--nc-controller-cmd={CONTROLLER} --defect guard-in-one-phase",
        "-k",
        "file-fails-alone",
    )
    assert run.returncode == 1, run.output
    assert "NR-BACKOFF-LOWER" in run.failed_requirements(), run.output
