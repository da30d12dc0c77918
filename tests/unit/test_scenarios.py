from __future__ import annotations

from pathlib import Path

import pytest

from conformance.scenarios.load import load, load_file
from conformance.scenarios.model import ScenarioError

SHIPPED = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios"

GOOD = """
{% for n in [1, 2] %}
- name: fails-{{ n }}
  requirements: [NR-ATTEMPT-COUNT]
  retryPolicy: {maxAttempts: 4, initialBackoff: 1s, backoffMultiplier: 2, maxBackoff: 2s}
  channels:
    - {name: hook, type: webhook, webhook: {respond: [{status: 503, times: {{ n }}}, {status: 200}]}}
  expect: {phase: Sent}
{% endfor %}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenarios.yaml"
    path.write_text(text)
    return path


def test_shipped_scenarios_load() -> None:
    names = [s.name for s in load([SHIPPED])]
    assert {"readonly-file", "mixed-recovers", "mixed-one-always-fails"} <= set(names)


def test_an_unwritable_directory_refuses_with_eacces_when_the_scenario_says_so(tmp_path: Path) -> None:
    text = GOOD.replace("type: webhook", "type: file, file: {writable: false, error: EACCES}")
    [denied, _] = load_file(write(tmp_path, text.replace("phase: Sent", "phase: Failed")))
    assert (denied.channels[0].writable, denied.channels[0].error) == (False, "EACCES")
    assert [c.error for c in load_file(write(tmp_path, GOOD))[0].channels] == ["EROFS"]


def test_jinja_expands_a_matrix(tmp_path: Path) -> None:
    scenarios = load_file(write(tmp_path, GOOD))
    assert [s.name for s in scenarios] == ["fails-1", "fails-2"]
    assert scenarios[1].channels[0].responses[0].times == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {name: x}", "missing channels, expect, requirements, retryPolicy"),
        (
            GOOD.replace("NR-ATTEMPT-COUNT", "NR-MADE-UP"),
            "requirement 'NR-MADE-UP' is not in the specification",
        ),
        (
            GOOD.replace("requirements:", "features: [teleport]\n  requirements:"),
            "feature 'teleport' is unknown",
        ),
        (GOOD.replace("requirements:", "flags: [fast]\n  requirements:"), "flag 'fast' is unknown"),
        (
            GOOD.replace("requirements:", "actions: {explode: 1s}\n  requirements:"),
            "unknown action 'explode'",
        ),
        (
            GOOD.replace("requirements:", "actions: {deleteAfter: {channel: hook}}\n  requirements:"),
            "a scenario that deletes the object expects {deleted: true}",
        ),
        (
            GOOD.replace("requirements:", "actions: {deleteAfter: {channel: nope}}\n  requirements:"),
            "actions.deleteAfter names no channel of this scenario: 'nope'",
        ),
        (GOOD.replace("phase: Sent", "phase: Failed"), "channels as described end Sent"),
        (GOOD.replace("type: webhook", "type: pager"), "type 'pager'"),
        (
            GOOD.replace("status: 503,", "status: 503, retryAfter: '2', retryAfterAs: fortnight,"),
            "channel 'hook': retryAfterAs 'fortnight' needs retryAfter and one of delay-seconds, http-date",
        ),
        (
            GOOD.replace("status: 503,", "hangUp: true, status: 503,"),
            "channel 'hook': a step that hangs up answers nothing, so it takes no status",
        ),
        (
            GOOD.replace("status: 503,", "status: 503, retryAfterAs: http-date,"),
            "retryAfterAs 'http-date' needs retryAfter",
        ),
        (GOOD.replace("name: hook", "name: Hook_1"), "DNS label"),
        (GOOD.replace("initialBackoff: 1s", "initialBackoff: 1"), "needs a unit"),
        (
            GOOD.replace("type: webhook", "type: file, file: {writable: false, error: ENOSPC}"),
            "channel 'hook': file.error 'ENOSPC' needs writable: false and one of EROFS, EACCES",
        ),
        (GOOD.replace("type: webhook", "type: file, file: {error: EACCES}"), "needs writable: false"),
        ("{{ undefined_thing }}", "undefined"),
        ("name: not-a-list", "expected a list"),
    ],
)
def test_invalid_scenarios_name_file_and_problem(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_file(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_duplicate_names_across_files_are_refused(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    (tmp_path / "again.yaml").write_text(GOOD)
    with pytest.raises(ScenarioError, match="used twice"):
        load([tmp_path])


def test_a_restart_may_wait_into_the_backoff_window(tmp_path: Path) -> None:
    restart = "flags: [disruptive]\n  actions: {restartAfter: {channel: hook, attempt: 1, delay: 1500ms}}\n  "
    [late, _] = load_file(write(tmp_path, GOOD.replace("requirements:", restart + "requirements:")))
    assert (late.actions.restart_after, late.actions.restart_delay) == (("hook", 1), 1.5)
    [soon, _] = load_file(write(tmp_path, GOOD))
    assert soon.actions.restart_delay == 0.0


def test_a_retry_after_step_keeps_its_form(tmp_path: Path) -> None:
    dated = GOOD.replace("status: 503,", "status: 503, retryAfter: '2', retryAfterAs: http-date,")
    [scenario, _] = load_file(write(tmp_path, dated))
    step = scenario.channels[0].responses[0]
    assert (step.retry_after, step.retry_after_as) == ("2", "http-date")
    assert step.as_sink_script()["retryAfterAs"] == "http-date"
