"""A binding that declares its API's limits, on the reference controller: scenarios scaled to fit,
attempts named by channel type, what cannot be expressed not applicable, a refusal the binding's error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import REPO, run_suite
from tests.e2e.test_misconfiguration import assert_one_sentence

REFERENCE = REPO / "fixtures" / "bindings" / "reference"
LIMITS: dict[str, Any] = {
    "granularity": "1s",
    "retryPolicy": {
        "maxAttempts": {"min": 1, "max": 10},
        "initialBackoff": {"min": "2s", "max": "1h"},
        "maxBackoff": {"min": "60s", "max": "1h"},
        "backoffMultiplier": {"min": 1, "max": 10, "integer": True},
    },
    "channelTypes": ["console", "file"],
    "channelIdentity": "type",
}


def limited_binding(tmp_path: Path, limits: dict[str, Any], template_edit: tuple[str, str]) -> Path:
    """The reference binding with ``limits``, its CRD given by absolute path, its template edited."""
    copy = tmp_path / "limited"
    copy.mkdir()
    data = yaml.safe_load((REFERENCE / "binding.yaml").read_text())
    data |= {
        "name": "limited",
        "limits": limits,
        "crds": [str(REPO / "fixtures" / "crds" / "notificationrequests.yaml")],
    }
    (copy / "binding.yaml").write_text(yaml.safe_dump(data))
    template = (REFERENCE / "notification.yaml.j2").read_text()
    assert template.count(template_edit[0]) == 1
    (copy / "notification.yaml.j2").write_text(template.replace(*template_edit))
    return copy


@pytest.mark.long
def test_scenarios_are_scaled_named_by_type_or_not_applicable(tmp_path: Path) -> None:
    # The API's channels are named by their type, so its attempt records name channels by type too.
    binding = limited_binding(tmp_path, LIMITS, ("- name: {{ channel.name }}", "- name: {{ channel.type }}"))
    run = run_suite(
        tmp_path,
        f"--nc-binding={binding}",
        "-k",
        "readonly-file-in-seconds or console-delivers or webhook-delivers "
        "or (mixed-recovers and not seconds)",
    )
    assert run.returncode == 0, run.output
    assert run.report is not None
    scenarios = {s["scenario"]: s for s in run.report["scenarios"]}
    assert set(scenarios) == {"readonly-file-in-seconds", "console-delivers"}
    readonly = scenarios["readonly-file-in-seconds"]
    assert readonly["passed"], readonly["violations"]
    assert (readonly["timeFactor"], readonly["slow"]) == (2, False)
    archive = [row for row in readonly["timeline"] if row["channel"] == "archive"]
    assert [row["nominal"] for row in archive] == [None, 2.0, 4.0, 8.0]
    assert all(row["gap"] >= row["nominal"] - 0.05 for row in archive[1:])
    assert scenarios["console-delivers"]["timeFactor"] == 2  # its initialBackoff is 1s
    assert sorted(s["reason"] for s in run.report["skipped"]) == [
        "not applicable to binding limited: channel 'healthy' is a webhook channel, which the API lacks "
        "(limits.channelTypes: console, file)",
        "not applicable to binding limited: channel 'only' is a webhook channel, which the API lacks "
        "(limits.channelTypes: console, file)",
    ]
    assert run.report["profiles"]["core"] == "partial"
    assert run.report["result"] == "partial"
    assert run.report["coverage"]["notApplicable"] == 2
    assert run.report["binding"]["limits"]["channelIdentity"] == "type"


def test_a_scenario_the_api_server_refuses_is_the_bindings_error_in_one_sentence(tmp_path: Path) -> None:
    # Three times the scenario's maxAttempts: the samples' 3 pass (9), a scenario's 5 does not (15 > 10).
    binding = limited_binding(
        tmp_path, {}, ("maxAttempts: {{ retry.maxAttempts }}", "maxAttempts: {{ retry.maxAttempts * 3 }}")
    )
    run = run_suite(tmp_path, f"--nc-binding={binding}", "-k", "long-schedule-in-seconds or console-delivers")
    assert run.returncode == 1, run.output
    assert run.report is not None
    sentence = (
        "Binding limited's limits declare scenario 'long-schedule-in-seconds' expressible, but the API "
        "server refuses the NotificationRequest its template renders for it: spec.retryPolicy.maxAttempts: "
        "Invalid value: 15: spec.retryPolicy.maxAttempts in body should be less than or equal to 10."
    )
    assert [e["message"] for e in run.report["bindingErrors"]] == [sentence]
    assert run.report["failed"] == [] and run.report["statistics"]["failed"] == 0
    assert run.report["statistics"]["bindingErrors"] == 1
    assert (run.report["profiles"]["core"], run.report["result"]) == ("partial", "partial")
    assert "HTTP response headers" not in run.output and "Traceback" not in run.output, run.output
    assert run.output.count(sentence) >= 1


def test_declared_limits_the_api_server_refuses_stop_the_run_and_the_report_says_why(tmp_path: Path) -> None:
    limits: dict[str, Any] = {"retryPolicy": {"maxAttempts": {"min": 1, "max": 20}}}
    binding = limited_binding(tmp_path, limits, ("kind: {{ kind }}", "kind: {{ kind }}"))
    run = run_suite(tmp_path, f"--nc-binding={binding}")
    assert run.returncode == 4, run.output
    sentence = (
        "Binding limited's template notification.yaml.j2 renders a NotificationRequest that the API server "
        "refuses: spec.retryPolicy.maxAttempts: Invalid value: 20: spec.retryPolicy.maxAttempts in body "
        "should be less than or equal to 10."
    )
    assert_one_sentence(run.output, sentence)
    assert run.report is not None, "a refused run writes its report too"
    assert (run.report["result"], run.report["refused"]) == ("failure", sentence)
    assert (tmp_path / "report" / "conformance-report.html").exists()
