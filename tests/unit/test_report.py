from __future__ import annotations

from pathlib import Path

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
    controller_pid=None,
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


def test_failure_names_the_requirement(tmp_path: Path) -> None:
    built = report.build(
        CONTEXT, [FAILED_SCENARIO], {"t[readonly-file]": "failed", "t[b]": "passed"}, 0.0, 1.0, {}
    )
    assert built["result"] == "failure"
    assert [r["id"] for r in built["failedRequirements"]] == ["NR-BACKOFF-LOWER"]
    assert built["statistics"] == {"passed": 1, "failed": 1, "skipped": 0}
    path = report.write(built, tmp_path)
    assert yaml.safe_load(path.read_text())["environment"]["kubernetesVersion"] == "v1.36.3"
    lines = report.summary_lines(built)
    assert "FAIL readonly-file: 2 attempts, shortest gap 0.007s" in lines[1]
    assert "[NR-BACKOFF-LOWER]" in lines[2]


def test_skips_make_a_success_partial() -> None:
    built = report.build(CONTEXT, [], {"a": "passed", "b": "skipped"}, 0.0, 1.0, {})
    assert built["result"] == "partial"


def test_nothing_run_is_no_success() -> None:
    assert report.build(CONTEXT, [], {}, 0.0, 1.0, {})["result"] == "failure"
