"""A conformance report as a run writes it: one passed scenario and one with an early attempt."""

from __future__ import annotations

import copy
from typing import Any

from conformance.environment.context import RunContext
from conformance.reports import document

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


def row(
    channel: str, attempt: int, at: float, gap: float | None = None, window: Any = None, **kw: Any
) -> Any:
    return {
        "channel": channel,
        "attempt": attempt,
        "at": at,
        "source": kw.get("source", "status"),
        "outcome": kw.get("outcome", "failure"),
        "gap": gap,
        "window": window,
        "nominal": kw.get("nominal"),
        "verdict": kw.get("verdict", "ok"),
    }


EARLY = (
    "channel 'archive' attempt 2 came 0.007s after attempt 1; the contract allows [0.950s, 1.750s] "
    "(nominal 1.000s, seen via status)"
)
FAILED_SCENARIO = {
    "scenario": "readonly-file",
    "namespace": "nc-readonly-file-abc",
    "passed": False,
    "durationSeconds": 3.0,
    "violations": [
        {
            "requirement": "NR-BACKOFF-LOWER",
            "message": EARLY,
            "channel": "archive",
            "attempt": 2,
            "moment": 0.017,
        }
    ],
    "timeline": [
        row("console", 1, 0.002, outcome="success"),
        row("archive", 1, 0.010),
        row("archive", 2, 0.017, 0.007, [0.95, 1.75], nominal=1.0, verdict="early"),
        row("archive", 3, 2.0, 1.983, [1.95, 2.75], nominal=2.0),
    ],
    "moments": {"terminal": 2.05},
    "readOnlyMechanisms": {"archive": "tmpfs"},
}
PASSED_SCENARIO = {
    "scenario": "mixed-recovers",
    "namespace": "nc-mixed-recovers-def",
    "passed": True,
    "durationSeconds": 4.0,
    "violations": [],
    "timeline": [
        row("flaky", 1, 0.01, source="sink"),
        row("flaky", 2, 1.02, 1.01, [0.95, 1.75], source="sink", nominal=1.0, outcome="success"),
    ],
    "readOnlyMechanisms": {},
}
TESTS = {
    "conformance/suite/test_scenarios.py::test_scenario[readonly-file]": {
        "outcome": "failed",
        "features": ["core"],
        "scenario": "readonly-file",
        "message": "scenario 'readonly-file' violated the contract: [NR-BACKOFF-LOWER] ...",
    },
    "conformance/suite/test_scenarios.py::test_scenario[mixed-recovers]": {
        "outcome": "passed",
        "features": ["core"],
        "scenario": "mixed-recovers",
    },
    "conformance/suite/test_scenarios.py::test_scenario[retry-after-on-429]": {
        "outcome": "skipped",
        "features": ["retry-after"],
        "scenario": "retry-after-on-429",
        "reason": "binding x does not claim retry-after",
    },
}
IMPLEMENTATION = {
    "organization": "Example Corp",
    "project": "example-notifier",
    "url": "https://example.com/notifier",
    "version": "v1.2.0",
    "contact": "platform@example.com",
}
INVOCATION = {"dir": "/src", "python": "python", "args": ["conformance/suite", "-n", "8", "-k", "backoff"]}


def sample() -> dict[str, Any]:
    """A fresh copy, so a test may break it."""
    return copy.deepcopy(
        document.build(
            CONTEXT,
            [FAILED_SCENARIO, PASSED_SCENARIO],
            TESTS,
            0.0,
            12.5,
            {"clusterStartSeconds": 2.5},
            implementation=IMPLEMENTATION,
            mode={
                "certification": False,
                "deviations": ["tests are selected by name (-k 'backoff')"],
                "reruns": 0,
            },
            binding={"path": "fixtures/bindings/reference", "name": "reference"},
            invocation=INVOCATION,
        )
    )
