"""The HTML report, rendered from report data and looked at in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

from conformance.reports import html_page
from tests import browser
from tests.unit.report_data import row, sample


def test_early_attempt_is_drawn_inside_the_forbidden_stretch_before_its_window() -> None:
    data = sample()
    failed = next(s for s in data["scenarios"] if s["scenario"] == "readonly-file")
    picture = html_page.picture(failed)
    assert picture.id == "timeline-readonly-file"
    assert [lane.channel for lane in picture.lanes] == ["console", "archive"]
    archive = picture.lanes[1]
    first, early, ontime = archive.attempts
    assert early.verdict == "early" and early.violation.startswith(
        "[NR-BACKOFF-LOWER] channel 'archive' attempt 2"
    )
    forbidden, window = early.bands
    assert (forbidden.kind, window.kind) == ("forbidden", "window")
    assert (forbidden.start, forbidden.end) == (0.01, 0.96)  # from attempt 1 to 0.950s after it
    assert (window.start, window.end) == (0.96, 1.76)
    assert forbidden.x == first.x < early.x < window.x
    assert [b.kind for b in ontime.bands] == ["window"] and ontime.violation == ""
    assert window.x <= ontime.bands[0].x <= ontime.x <= ontime.bands[0].x + ontime.bands[0].width
    [terminal] = picture.moments
    assert (terminal.name, terminal.label) == ("terminal", "terminal phase at 2.050s")
    assert ontime.x < terminal.x < picture.right


def test_labels_of_moments_close_together_go_on_rows_below_one_another() -> None:
    data = sample()
    scenario = next(s for s in data["scenarios"] if s["scenario"] == "readonly-file")
    scenario["moments"] = {"restarted": 0.30, "resumed": 0.45, "terminal": 2.05}
    picture = html_page.picture(scenario)
    restarted, resumed, terminal = picture.moments
    assert (restarted.row, resumed.row, terminal.row) == (0, 1, 0)
    assert restarted.label_y == terminal.label_y < resumed.label_y < picture.height
    alone = html_page.picture(next(s for s in sample()["scenarios"] if s["scenario"] == "readonly-file"))
    assert picture.height == alone.height + html_page.LABEL_ROW


def test_page_is_self_contained_and_names_what_a_certifier_needs() -> None:
    page = html_page.render(sample())
    assert "<link" not in page and "<script" not in page and " src=" not in page
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', page))
    for text in ("example-notifier", "v1.2.0", "Example Corp", "platform@example.com", "v1.36.3"):
        assert text in page
    assert "not a certification" in page and "tests are selected by name" in page
    assert "binding x does not claim retry-after" in page
    assert "NR-BACKOFF-LOWER" in page
    assert "-k &#39;test_scenario[readonly-file]&#39;" in page
    assert page.index('id="scenario-readonly-file"') < page.index('id="scenario-mixed-recovers"'), (
        "failures come first"
    )


def test_chromium_renders_every_timeline_and_the_violation(tmp_path: Path) -> None:
    page = html_page.write(sample(), tmp_path)
    image = browser.screenshot(page, tmp_path / "report.png", 1100, 1400)
    assert image.size == (1100, 1400)
    assert browser.is_picture(image)
    dom = browser.dump_dom(page)
    svgs = {e.attrs.get("id") for e in browser.elements(dom) if e.tag == "svg"}
    assert {"timeline-readonly-file", "timeline-mixed-recovers"} <= svgs
    [(mark, forbidden, window)] = browser.early_marks_before_their_window(dom, "timeline-readonly-file")
    assert forbidden < mark < window
    assert browser.early_marks_before_their_window(dom, "timeline-mixed-recovers") == []


def test_a_blank_page_is_not_a_picture(tmp_path: Path) -> None:
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    assert not browser.is_picture(browser.screenshot(blank, tmp_path / "blank.png", 400, 300))


def test_attempts_after_deletion_are_drawn_as_violations() -> None:
    data = sample()
    deleted = {
        "scenario": "deleted-during-backoff",
        "passed": False,
        "violations": [
            {
                "requirement": "NR-QUIET-AFTER-DELETE",
                "message": "channel 'hook' was attempted 0.991s after the notification was deleted",
                "channel": "hook",
                "moment": 1.005,
            }
        ],
        "timeline": [
            row("hook", 1, 0.003, source="sink"),
            row("hook", 2, 1.005, 1.002, [0.95, 1.75], source="sink"),
        ],
        "moments": {"deleted": 0.014},
    }
    data["scenarios"].append(deleted)
    picture = html_page.picture(deleted)
    first, second = picture.lanes[0].attempts
    assert (first.verdict, second.verdict) == ("ok", "after deleted")
    assert second.violation.startswith("[NR-QUIET-AFTER-DELETE] channel 'hook' was attempted")
    assert [m.name for m in picture.moments] == ["deleted"]
    assert 'data-verdict="after deleted"' in html_page.render(data)


def test_a_gap_known_only_coarsely_says_how_far_it_is_known() -> None:
    scenario = {
        "scenario": "coarse",
        "passed": True,
        "violations": [],
        "timeline": [
            row("archive", 1, 0.0),
            {**row("archive", 2, 1.0, 1.0, [0.95, 1.75]), "gapRange": [0.49, 1.01]},
        ],
    }
    second = html_page.picture(scenario).lanes[0].attempts[1]
    assert "1.000s after attempt 1 (between 0.490s and 1.010s, as far as the timestamps tell)" in second.title
