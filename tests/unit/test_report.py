from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.reports import document
from tests.unit.report_data import CONTEXT, FAILED_SCENARIO, INVOCATION, sample


def entry(outcome: str, *features: str, reason: str = "") -> dict[str, Any]:
    return {"outcome": outcome, "features": list(features or ["core"]), "reason": reason}


def test_failure_names_the_requirement(tmp_path: Path) -> None:
    tests = {"t[readonly-file]": {**entry("failed"), "scenario": "readonly-file"}, "t[b]": entry("passed")}
    built = document.build(CONTEXT, [FAILED_SCENARIO], tests, 0.0, 1.0, {})
    assert built["result"] == "failure"
    assert built["profiles"]["core"] == "failure"
    assert [r["id"] for r in built["failedRequirements"]] == ["NR-BACKOFF-LOWER"]
    assert built["failed"] == [
        {
            "test": "t[readonly-file]",
            "scenario": "readonly-file",
            "requirements": ["NR-BACKOFF-LOWER"],
            "message": "",
        }
    ]
    assert built["statistics"] == {"passed": 1, "failed": 1, "skipped": 0, "total": 2, "durationSeconds": 1.0}
    path = document.write(built, tmp_path)
    assert yaml.safe_load(path.read_text())["environment"]["kubernetesVersion"] == "v1.36.3"
    lines = document.summary_lines(built)
    assert "FAIL readonly-file: 4 attempts, shortest gap 0.007s" in lines[2]
    assert "[NR-BACKOFF-LOWER]" in lines[3]


def test_a_skipped_core_test_makes_the_result_partial() -> None:
    built = document.build(
        CONTEXT, [], {"a": entry("passed"), "b": entry("skipped", reason="no")}, 0.0, 1.0, {}
    )
    assert (built["result"], built["profiles"]["core"]) == ("partial", "partial")
    assert built["skipped"] == [{"test": "b", "reason": "no"}]


def test_unclaimed_extended_features_do_not_make_core_partial() -> None:
    tests = {
        "a": entry("passed"),
        "b": entry("skipped", "retry-after", reason="binding x does not claim retry-after"),
        "c": entry("passed", "permanent-failures"),
    }
    built = document.build(CONTEXT, [], tests, 0.0, 1.0, {})
    assert built["result"] == "success"
    assert built["profiles"] == {
        "core": "success",
        "retry-after": "not claimed",
        "permanent-failures": "success",
    }


def test_every_feature_the_binding_does_not_claim_is_listed_as_not_claimed() -> None:
    tests = {"a": entry("passed"), "b": entry("passed", "idempotency-key")}
    declared = {"path": "b", "features": ["core", "idempotency-key"]}
    built = document.build(CONTEXT, [], tests, 0.0, 1.0, {}, binding=declared)
    assert built["result"] == "success"
    assert built["profiles"] == {
        "core": "success",
        "idempotency-key": "success",
        "batched-status": "not claimed",
        "retry-after": "not claimed",
        "permanent-failures": "not claimed",
        "credentials": "not claimed",
    }


def test_nothing_run_is_no_success() -> None:
    assert document.build(CONTEXT, [], {}, 0.0, 1.0, {})["result"] == "failure"


def test_reproduce_runs_one_scenario_with_the_runs_own_options() -> None:
    command = document.reproduce_command(
        {
            **INVOCATION,
            "args": [*INVOCATION["args"], "--junitxml=r/junit.xml", "--nc-slack=1s", "-m", "slow"],
        },
        "readonly-file",
    )
    assert command == (
        "cd /src && python -m pytest conformance/suite --nc-slack=1s -k 'test_scenario[readonly-file]'"
    )
    assert document.reproduce_command(None, "x") is None


def test_written_report_is_valid_and_loads_again(tmp_path: Path) -> None:
    path = document.write(sample(), tmp_path)
    loaded = document.load(path)
    assert loaded["implementation"]["version"] == "v1.2.0"
    assert loaded["scenarios"][0]["reproduce"].endswith("-k 'test_scenario[readonly-file]'")


def _drop(data: dict[str, Any], *path: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    del data[path[-1]]


def _set(value: Any, *path: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda r: _drop(r, "implementation"), "the top level: 'implementation' is a required property"),
        (_set("maybe", "result"), "result: 'maybe' is not one of"),
        (_set("partly", "profiles", "core"), "profiles/core: 'partly' is not one of"),
        (_set(-1, "statistics", "failed"), "statistics/failed: -1 is less than the minimum of 0"),
        (_set("BACKOFF", "failedRequirements", 0, "id"), "failedRequirements/0/id: 'BACKOFF' does not match"),
        (_set([0.95], "scenarios", 0, "timeline", 2, "window"), "scenarios/0/timeline/2/window"),
        (_set("soon", "scenarios", 0, "timeline", 2, "verdict"), "scenarios/0/timeline/2/verdict"),
        (_set(1, "implementation", "version"), "implementation/version: 1 is not of type 'string'"),
        (
            _set({"certification": True, "deviations": ["-k x"], "reruns": 0}, "mode"),
            "mode/deviations: ['-k x'] is expected to be empty",
        ),
        (_set({"certification": True, "deviations": [], "reruns": 2}, "mode"), "mode/reruns: 0 was expected"),
    ],
)
def test_schema_rejects_a_broken_report(change: Any, where: str, tmp_path: Path) -> None:
    broken = sample()
    change(broken)
    with pytest.raises(document.ReportError, match="The conformance report is invalid at ") as raised:
        document.write(broken, tmp_path)
    assert where in str(raised.value)
    assert not (tmp_path / document.FILENAME).exists()


def test_load_refuses_what_is_not_a_report(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("- a list\n")
    with pytest.raises(document.ReportError, match="does not hold a conformance report"):
        document.load(path)
    with pytest.raises(document.ReportError, match="Cannot read the conformance report"):
        document.load(tmp_path / "missing.yaml")
