"""The suite passes the reference controller, on a real control plane, judged by the report."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import run_suite


def test_reference_controller_passes_every_scenario(tmp_path: Path) -> None:
    run = run_suite(tmp_path)
    assert run.returncode == 0, run.output
    assert run.report is not None
    assert run.report["result"] == "success"
    scenarios = {s["scenario"]: s for s in run.report["scenarios"]}
    assert {"readonly-file", "mixed-recovers", "mixed-one-always-fails"} <= set(scenarios)
    assert all(s["passed"] for s in scenarios.values())
    readonly = scenarios["readonly-file"]
    archive = [row for row in readonly["timeline"] if row["channel"] == "archive"]
    assert [row["attempt"] for row in archive] == [1, 2, 3, 4]
    assert all(row["window"][0] <= row["gap"] <= row["window"][1] for row in archive[1:])
    assert [row["channel"] for row in readonly["timeline"]].count("console") == 1
    assert readonly["readOnlyMechanisms"]["archive"]
    flaky = [row for row in scenarios["mixed-recovers"]["timeline"] if row["channel"] == "flaky"]
    assert [row["source"] for row in flaky] == ["sink"] * 3
    assert "conformance result: success" in run.output
