"""When the controller under test exits, the first test to notice says so with its log's real path and
last lines; the others say it in one line."""

from __future__ import annotations

from pathlib import Path

from conformance.reports.outcome import controller_exited


def test_the_first_notice_gives_the_real_log_path_and_its_last_lines_the_rest_one_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "controller.log").write_text("".join(f"line {n}\n" for n in range(1, 31)))
    log = Path("/srv/reports/strict/controller.log")
    first = controller_exited(tmp_path, log, lines=3)
    assert first == (
        "The controller under test has exited; its log is /srv/reports/strict/controller.log, which ends:\n"
        "  line 28\n  line 29\n  line 30"
    )
    assert controller_exited(tmp_path, log) == (
        "The controller under test has exited; its log is /srv/reports/strict/controller.log."
    )


def test_a_controller_that_wrote_nothing_is_said_so(tmp_path: Path) -> None:
    assert controller_exited(tmp_path, tmp_path / "report" / "controller.log").endswith("(it wrote nothing)")
