from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from conformance import report
from conformance.context import RunContext

CONTEXT = RunContext(
    kubeconfig="/k",
    kube_context="local",
    cluster_provider="local",
    kubernetes_version="v1.36.3",
    sink_url="http://127.0.0.1:1",
    binding="fixtures/bindings/reference",
    workdir="/tmp/x",
    console_log=None,
    controller="ctl",
    control_url="http://127.0.0.1:2",
)
FAILED_SCENARIO = {
    "scenario": "readonly-file",
    "passed": False,
    "violations": [
        {"requirement": "NR-BACKOFF-LOWER", "message": "channel 'archive' attempt 2 came 0.007s after"}
    ],
    "timeline": [
        {"channel": "archive", "attempt": 1, "gap": None},
        {"channel": "archive", "attempt": 2, "gap": 0.007},
    ],
}


def entry(outcome: str, *features: str, reason: str = "") -> dict[str, Any]:
    return {"outcome": outcome, "features": list(features or ["core"]), "reason": reason}


def test_failure_names_the_requirement(tmp_path: Path) -> None:
    tests = {"t[readonly-file]": entry("failed"), "t[b]": entry("passed")}
    built = report.build(CONTEXT, [FAILED_SCENARIO], tests, 0.0, 1.0, {})
    assert built["result"] == "failure"
    assert built["profiles"]["core"] == "failure"
    assert [r["id"] for r in built["failedRequirements"]] == ["NR-BACKOFF-LOWER"]
    assert built["statistics"] == {"passed": 1, "failed": 1, "skipped": 0}
    path = report.write(built, tmp_path)
    assert yaml.safe_load(path.read_text())["environment"]["kubernetesVersion"] == "v1.36.3"
    lines = report.summary_lines(built)
    assert "FAIL readonly-file: 2 attempts, shortest gap 0.007s" in lines[2]
    assert "[NR-BACKOFF-LOWER]" in lines[3]


def test_a_skipped_core_test_makes_the_result_partial() -> None:
    built = report.build(
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
    built = report.build(CONTEXT, [], tests, 0.0, 1.0, {})
    assert built["result"] == "success"
    assert built["profiles"] == {
        "core": "success",
        "retry-after": "not claimed",
        "permanent-failures": "success",
    }


def test_every_feature_the_binding_does_not_claim_is_listed_as_not_claimed() -> None:
    tests = {"a": entry("passed"), "b": entry("passed", "idempotency-key")}
    declared = {"bindingDeclares": {"features": ["core", "idempotency-key"]}}
    built = report.build(CONTEXT, [], tests, 0.0, 1.0, declared)
    assert built["result"] == "success"
    assert built["profiles"] == {
        "core": "success",
        "idempotency-key": "success",
        "batched-status": "not claimed",
        "retry-after": "not claimed",
        "permanent-failures": "not claimed",
    }


def test_nothing_run_is_no_success() -> None:
    assert report.build(CONTEXT, [], {}, 0.0, 1.0, {})["result"] == "failure"
