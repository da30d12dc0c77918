"""Another API through its binding: the Alert controller certified; a wrong binding is one sentence."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, run_suite
from tests.e2e.test_misconfiguration import assert_one_sentence

ALERTING = REPO / "fixtures" / "bindings" / "alerting"
ALERT_CONTROLLER = "--nc-controller-cmd={python} -m examples.alert_controller --kubeconfig {kubeconfig}"


@pytest.mark.long
def test_the_alert_controller_is_certified_through_its_binding(tmp_path: Path) -> None:
    run = run_suite(
        tmp_path,
        f"--nc-binding={ALERTING}",
        ALERT_CONTROLLER,
        f"--nc-implementation={REPO / 'examples' / 'alert_controller' / 'implementation.yaml'}",
        "--nc-implementation-version=test",
        "--nc-certify",
        full=True,
    )
    assert run.returncode == 0, run.output
    assert run.report is not None
    assert run.report["result"] == "success", run.output
    assert run.report["mode"]["certification"] is True
    assert run.report["implementation"]["project"] == "alert controller (example)"
    assert run.report["binding"]["timestampPrecisionSeconds"] == 1.0
    profiles = run.report["profiles"]
    assert profiles["core"] == "success"
    assert profiles["idempotency-key"] == "success"
    assert (
        profiles["retry-after"]
        == profiles["permanent-failures"]
        == profiles["batched-status"]
        == "not claimed"
    )
    reasons = {s["reason"] for s in run.report["skipped"]}
    assert reasons == {
        "binding alerting does not claim retry-after",
        "binding alerting does not claim permanent-failures",
        "binding alerting does not claim credentials",
    }
    scenarios = {s["scenario"]: s for s in run.report["scenarios"]}
    assert all(s["passed"] for s in scenarios.values())
    # Judged with the binding's declarations (10% jitter) on the suite's own clock: the refusing
    # filesystem stamps every failing file attempt, so whole-second status times widen nothing.
    readonly = scenarios["readonly-file"]
    assert readonly["readOnlyMechanisms"]["archive"].startswith("FUSE"), readonly["readOnlyMechanisms"]
    archive = [r for r in readonly["timeline"] if r["channel"] == "archive"]
    assert [r["source"] for r in archive] == ["fuse"] * 4
    assert archive[1]["window"] == pytest.approx([1.0 * 0.9 - 0.05, 1.0 * 1.1 + 0.75])
    assert any(r["gap"] != int(r["gap"]) for r in archive[1:]), "fuse stamps are finer than seconds"
    flaky = [r for r in scenarios["mixed-recovers"]["timeline"] if r["channel"] == "flaky"]
    assert [r["source"] for r in flaky] == ["sink"] * 3
    assert flaky[1]["window"] == pytest.approx([1.0 * 0.9 - 0.05, 1.0 * 1.1 + 0.75])


def broken_binding(tmp_path: Path, binding: Callable[[str], str], template: Callable[[str], str]) -> Path:
    copy = tmp_path / "alerting"
    shutil.copytree(ALERTING, copy)
    for name, edit in (("binding.yaml", binding), ("alert.yaml.j2", template)):
        (copy / name).write_text(edit((copy / name).read_text()))
    return copy


def same(text: str) -> str:
    return text


@pytest.mark.parametrize(
    ("binding", "template", "sentence"),
    [
        (lambda t: t.replace("plural: alerts\n", ""), same, "lacks the field 'plural'."),
        (
            lambda t: t.replace("idempotency-key]", "batching]"),
            same,
            "claims the unknown feature 'batching'; use some of core, batched-status,",
        ),
        (
            same,
            lambda t: t.replace("kind: {{ kinds[channel.type] }}", "kind: {{ channel.type }}"),
            "Binding alerting's template alert.yaml.j2 renders a Alert that the API server refuses: "
            'spec.receivers[0].kind: Unsupported value: "console": supported values: "stdout", "file", '
            '"http" (and 2 more problems).',
        ),
        (
            same,
            lambda t: t + "  receivers: [\n",
            "Binding alerting's template alert.yaml.j2 does not render YAML: ",
        ),
    ],
    ids=["missing-field", "unknown-feature", "refused-object", "not-yaml"],
)
def test_a_wrong_binding_stops_the_run_with_one_sentence(
    tmp_path: Path, binding: Callable[[str], str], template: Callable[[str], str], sentence: str
) -> None:
    copy = broken_binding(tmp_path, binding, template)
    run = run_suite(tmp_path, f"--nc-binding={copy}", ALERT_CONTROLLER)
    assert run.returncode == 4, run.output
    assert_one_sentence(run.output, sentence)
    assert not list(tmp_path.glob("nc-*")), "the run's temporary folders must be removed"


def test_a_status_path_that_resolves_to_nothing_fails_the_scenario_in_one_sentence(tmp_path: Path) -> None:
    copy = broken_binding(
        tmp_path, lambda t: t.replace("attempts: status.history", "attempts: status.tries"), same
    )
    run = run_suite(tmp_path, f"--nc-binding={copy}", ALERT_CONTROLLER, "-k", "console-delivers")
    assert run.returncode == 1, run.output
    assert "Traceback" not in run.output and "INTERNALERROR" not in run.output, run.output
    sentence = (
        "Binding alerting: the object reached the phase 'Delivered', but its attempts path "
        "status.tries resolves to nothing."
    )
    assert sentence in run.output.splitlines(), run.output
    assert "FAILED conformance/suite/test_scenarios.py::test_scenario[console-delivers]" in run.output
