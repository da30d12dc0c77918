"""The suite certifies the reference controller, on a real control plane, judged by its reports."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from conformance.reports import document, html_page
from tests import browser
from tests.e2e.conftest import REPO, run_suite


def test_reference_controller_passes_every_scenario(tmp_path: Path) -> None:
    """Also with pytest-xdist workers (``-n 2``): their tests receive the outcomes of the scenarios
    the main process ran."""
    junit = tmp_path / "junit.xml"
    run = run_suite(
        tmp_path,
        "-n",
        "2",
        "--nc-certify",
        f"--nc-implementation={REPO / 'reference_controller' / 'implementation.yaml'}",
        "--nc-implementation-version=test",
        f"--junitxml={junit}",
        full=True,
    )
    assert run.returncode == 0, run.output
    assert run.report is not None
    assert run.report["result"] == "success"
    document.validate(run.report)
    assert run.report["mode"] == {"certification": True, "deviations": [], "reruns": 0}
    assert run.report["implementation"]["project"] == "reference controller"
    assert run.report["profiles"]["core"] == "success"
    scenarios = {s["scenario"]: s for s in run.report["scenarios"]}
    assert {"readonly-file", "mixed-recovers", "mixed-one-always-fails"} <= set(scenarios)
    assert all(s["passed"] for s in scenarios.values())
    readonly = scenarios["readonly-file"]
    archive = [row for row in readonly["timeline"] if row["channel"] == "archive"]
    assert [row["attempt"] for row in archive] == [1, 2, 3, 4]
    assert all(row["window"][0] <= row["gap"] <= row["window"][1] for row in archive[1:])
    assert [row["channel"] for row in readonly["timeline"]].count("console") == 1
    assert readonly["readOnlyMechanisms"]["archive"]
    assert readonly["reproduce"].endswith("-k 'test_scenario[readonly-file]'")
    flaky = [row for row in scenarios["mixed-recovers"]["timeline"] if row["channel"] == "flaky"]
    assert [row["source"] for row in flaky] == ["sink"] * 3
    assert "conformance result: success" in run.output
    assert "mode: certification" in run.output

    suites = ElementTree.parse(junit).getroot()
    cases = list(suites.iter("testcase"))
    assert len(cases) == run.report["statistics"]["total"]
    assert not [c for c in cases if c.find("failure") is not None or c.find("error") is not None]

    page = tmp_path / "report" / html_page.FILENAME
    image = browser.screenshot(page, tmp_path / "report.png", 1100, 2000)
    assert image.size == (1100, 2000) and browser.is_picture(image)
    drawn = browser.elements(browser.dump_dom(page))
    timelines = {e.attrs.get("data-scenario") for e in drawn if e.tag == "svg" and "timeline" in e.classes}
    assert timelines == set(scenarios)
    assert not [e for e in drawn if "violation" in e.classes]
