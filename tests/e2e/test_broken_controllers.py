"""The suite fails every deliberately broken controller, naming the requirement it breaks."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest

from clusters.local.controlplane import LocalControlPlane
from conformance.contract.requirements import REQUIREMENTS
from conformance.reports import document, html_page
from tests import browser
from tests.broken_controllers.defects import DEFECTS
from tests.broken_controllers.variants import VARIANTS
from tests.e2e.conftest import REPO, broken, on, run_suite

# defect -> (the scenario to run, requirements the suite must name)
CAUGHT_BY: dict[str, tuple[str, set[str]]] = {
    "per-channel-writes": ("readonly-file", {"NR-BACKOFF-LOWER", "NR-BATCHED-WRITES"}),
    "no-time-guard": ("readonly-file", {"NR-BACKOFF-LOWER"}),
    "guard-on-first-retry-only": ("readonly-file", {"NR-BACKOFF-LOWER"}),
    "guarded-per-channel-writes": ("readonly-file", {"NR-BATCHED-WRITES"}),
    "redeliver-succeeded": ("mixed-recovers", {"NR-NO-REDELIVERY"}),
    "one-attempt-too-many": ("mixed-one-always-fails", {"NR-ATTEMPT-COUNT"}),
    "ignores-max-backoff": ("readonly-file", {"NR-BACKOFF-CAP"}),
    "slow-requeue": ("readonly-file", {"NR-BACKOFF-UPPER"}),
    "overlapping-attempts": ("answer-slower-than-timeout", {"NR-NO-OVERLAP"}),
    "delivers-after-delete": ("deleted-during-backoff", {"NR-QUIET-AFTER-DELETE"}),
    "ready-never-true": ("webhook-delivers", {"NR-STATUS-CONDITIONS"}),
    "no-completion-time": ("readonly-file", {"NR-COMPLETION-TIME"}),
    "predicate-instead-of-guard": ("touched-during-backoff", {"NR-SPURIOUS-RECONCILE", "NR-BACKOFF-LOWER"}),
    "ignores-retry-after": ("retry-after-on-429", {"NR-RETRY-AFTER"}),
    "retries-permanent-failures": ("permanent-404", {"NR-PERMANENT-FAILURE"}),
    "key-per-attempt": ("idempotency-key-per-channel", {"NR-IDEMPOTENCY-KEY"}),
    "in-memory-schedule": ("restarted-during-backoff", {"NR-RESTART-SAFE", "NR-BACKOFF-LOWER"}),
    "serial-deliveries": ("hanging-webhook-does-not-delay-others", {"NR-ISOLATION"}),
    "wrong-terminal-phase": ("readonly-file", {"NR-PHASE-TERMINAL"}),
    "miscounts-attempts": ("readonly-file", {"NR-STATUS-COUNTERS"}),
    "whole-second-timestamps": ("readonly-file", {"NR-TIMESTAMP-PRECISION"}),
    "postdates-attempts": ("mixed-recovers", {"NR-STATUS-TRUTHFUL"}),
    "numbers-across-channels": ("readonly-file", {"NR-ATTEMPT-ORDER"}),
    "retries-after-terminal": ("mixed-one-always-fails", {"NR-QUIET-AFTER-TERMINAL"}),
    "late-terminal-phase": ("readonly-file", {"NR-PHASE-TIMELY"}),
    "whole-second-early-retries": ("readonly-file", {"NR-BACKOFF-LOWER"}),
    "wide-jitter": ("jitter-sixty-gaps", {"NR-BACKOFF-LOWER"}),
    "leaks-token": ("webhook-bearer-token", {"NR-SECRET-HIDDEN"}),
    "sends-no-token": ("webhook-bearer-token", {"NR-CREDENTIALS"}),
    "posts-twice": ("webhook-delivers", {"NR-NO-REDELIVERY"}),
    "early-file-retries": ("readonly-file", {"NR-BACKOFF-LOWER"}),
    "backoff-from-restart": ("restarted-late-in-backoff", {"NR-RESTART-SAFE", "NR-BACKOFF-UPPER"}),
    "retry-after-in-memory": ("restarted-during-retry-after", {"NR-RESTART-SAFE", "NR-RETRY-AFTER"}),
    "retry-after-seconds-only": ("retry-after-as-http-date", {"NR-RETRY-AFTER"}),
    "connection-errors-are-permanent": (
        "closed-connection-is-retryable",
        {"NR-ATTEMPT-COUNT", "NR-PHASE-TERMINAL"},
    ),
    "only-ok-succeeds": ("webhook-204-delivers", {"NR-ATTEMPT-COUNT", "NR-PHASE-TERMINAL"}),
}
REFERENCE_BINDING = REPO / "fixtures" / "bindings" / "reference"


def whole_second_binding(tmp_path: Path) -> list[str]:
    """The reference binding, declaring one-second timestamps."""
    binding = tmp_path / "whole-second-binding"
    binding.mkdir()
    shutil.copy(REFERENCE_BINDING / "notification.yaml.j2", binding)
    text = (REFERENCE_BINDING / "binding.yaml").read_text()
    text = text.replace("timestampPrecision: 1us", "timestampPrecision: 1s")
    text = text.replace("../../crds/", f"{REPO / 'fixtures' / 'crds'}/")
    (binding / "binding.yaml").write_text(text)
    return [f"--nc-binding={binding}"]


OPTIONS: dict[str, Callable[[Path], list[str]]] = {"whole-second-early-retries": whole_second_binding}
"""Defects judged with suite options of their own."""


def alone(scenario: str) -> str:
    """A -k expression for the scenario without its whole-second form (``seconds.yaml``), which
    a defect's own binding options may need instead."""
    return f"{scenario} and not {scenario}-in-seconds"


def test_every_defect_has_an_expectation() -> None:
    assert set(CAUGHT_BY) == set(DEFECTS)


def test_every_requirement_has_a_broken_controller_the_suite_fails_for_it() -> None:
    caught = set().union(*(requirements for _, requirements in CAUGHT_BY.values()))
    assert sorted(set(REQUIREMENTS) - caught) == []


@pytest.mark.parametrize("defect", sorted(CAUGHT_BY))
def test_suite_fails_broken_controller(defect: str, tmp_path: Path, local_cluster: LocalControlPlane) -> None:
    scenario, requirements = CAUGHT_BY[defect]
    options = OPTIONS[defect](tmp_path) if defect in OPTIONS else []
    selection = scenario if defect in OPTIONS else alone(scenario)
    run = run_suite(tmp_path, broken(defect), "-k", selection, *options, *on(local_cluster))
    assert run.returncode == 1, run.output
    assert run.report is not None and run.report["result"] == "failure"
    assert requirements <= run.failed_requirements(), run.output


def test_a_cap_bug_while_touching_is_not_blamed_on_touching(
    tmp_path: Path, local_cluster: LocalControlPlane
) -> None:
    run = run_suite(
        tmp_path, broken("ignores-max-backoff"), "-k", "touched-during-backoff", *on(local_cluster)
    )
    assert run.returncode == 1, run.output
    assert "NR-BACKOFF-CAP" in run.failed_requirements(), run.output
    assert "NR-SPURIOUS-RECONCILE" not in run.failed_requirements(), run.output


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_suite_passes_conforming_variant(
    variant: str, tmp_path: Path, local_cluster: LocalControlPlane
) -> None:
    selection = "console-delivers or touched-during-backoff or mixed-recovers"
    run = run_suite(tmp_path, broken(variant), "-k", selection, *on(local_cluster))
    assert run.returncode == 0, run.output
    assert run.report is not None and run.report["result"] == "success", run.output


def test_seed_bug_failure_names_channel_attempt_gap_and_window(tmp_path: Path) -> None:
    """Every report of the seed bug says failure and where: YAML, JUnit, and the HTML timeline."""
    junit = tmp_path / "junit.xml"
    selection = "readonly-file and not seconds"
    run = run_suite(tmp_path, broken("per-channel-writes"), "-k", selection, f"--junitxml={junit}")
    assert run.report is not None
    document.validate(run.report)
    assert run.report["result"] == "failure"
    assert run.report["mode"]["certification"] is False
    assert f"tests are selected by name (-k '{selection}')" in run.report["mode"]["deviations"]
    [failed] = run.report["failed"]
    assert failed["scenario"] == "readonly-file"
    assert {"NR-BACKOFF-LOWER", "NR-BATCHED-WRITES"} <= set(failed["requirements"])
    [case] = ElementTree.parse(junit).getroot().iter("testcase")
    assert "NR-BACKOFF-LOWER" in ElementTree.tostring(case, "unicode")

    page = tmp_path / "report" / html_page.FILENAME
    assert browser.is_picture(browser.screenshot(page, tmp_path / "report.png", 1100, 1400))
    early = browser.early_marks_before_their_window(browser.dump_dom(page), "timeline-readonly-file")
    assert early, "the early attempts are drawn as violations"
    assert all(forbidden <= mark < window for mark, forbidden, window in early), early
    [scenario] = run.report["scenarios"]
    lower = [v["message"] for v in scenario["violations"] if v["requirement"] == "NR-BACKOFF-LOWER"]
    assert lower, run.output
    assert lower[0].startswith("channel 'archive' attempt 2 came ")
    assert (
        "after attempt 1; the contract allows [0.950s, 1.750s] (nominal 1.000s, seen via status)" in lower[0]
    )
    assert "[NR-BACKOFF-LOWER] channel 'archive' attempt 2 came" in run.output
