"""Failing file channels on the reference controller: every attempt seen by the refusing
filesystem, and its stamps within the suite's measurement error of the controller's own."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from conformance.contract.tolerances import Tolerances
from conformance.observers.refusing_mount import available
from conformance.scenarios.load import load
from tests.e2e.conftest import REPO, run_suite
from tests.e2e.fuse_agreement_plugin import ENV

pytestmark = pytest.mark.skipif(available() is not None, reason=f"no FUSE here: {available()}")

READ_ONLY = sorted(
    s.name
    for s in load([REPO / "fixtures" / "scenarios"])
    if any(c.type == "file" and not c.writable for c in s.channels)
)


def test_every_failing_file_attempt_is_stamped_by_the_suite_within_its_measurement_error(
    tmp_path: Path,
) -> None:
    pairs = tmp_path / "agreement.jsonl"
    run = run_suite(
        tmp_path,
        "-p",
        "tests.e2e.fuse_agreement_plugin",
        "-k",
        " or ".join(READ_ONLY),
        env={ENV: str(pairs)},
        full=True,  # a measurement of the suite's error, on a machine that keeps up
    )
    assert run.report is not None, run.output
    assert {s["scenario"] for s in run.report["scenarios"]} == set(READ_ONLY)
    for scenario in run.report["scenarios"]:
        failing = set(scenario["readOnlyMechanisms"])
        assert failing and all(m.startswith("FUSE") for m in scenario["readOnlyMechanisms"].values())
        rows = [row for row in scenario["timeline"] if row["channel"] in failing]
        assert rows and {row["source"] for row in rows} == {"fuse"}, scenario["scenario"]
    seen = [json.loads(line) for line in pairs.read_text().splitlines()]
    assert {record["scenario"] for record in seen} == set(READ_ONLY)
    errors = sorted(abs(record["fuse"] - record["status"]) * 1000 for record in seen)
    cuts = statistics.quantiles(errors, n=100, method="inclusive")
    print(f"|fuse - status| over {len(errors)} attempts (ms):", end=" ")
    print(f"p50 {cuts[49]:.2f}, p99 {cuts[98]:.2f}, max {errors[-1]:.2f}")
    assert errors[-1] < Tolerances().epsilon * 1000
