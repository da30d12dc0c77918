"""A misconfigured run ends with one plain sentence and leaves nothing running."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

from conformance.scenarios.load import load
from tests.e2e.conftest import REPO, run_suite

IMPLEMENTATION = f"--nc-implementation={REPO / 'reference_controller' / 'implementation.yaml'}"
UNSEEDED_CORE = sum(
    "core" in s.features and Path(s.source).name != "seed.yaml"
    for s in load([REPO / "fixtures" / "scenarios"])
)
"""The core scenarios a run of seed.yaml alone leaves out."""


def assert_one_sentence(output: str, sentence: str) -> None:
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1, output
    assert sentence in errors[0], output


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (
            ["--nc-cluster=existing", "--nc-kubeconfig=/nonexistent/kubeconfig"],
            "ERROR: Cannot use kubeconfig /nonexistent/kubeconfig",
        ),
        (["--nc-cluster=moon"], "ERROR: Unknown cluster provider 'moon'; use one of local, existing, kind."),
        (
            ["--nc-controller-cmd=no-such-controller --kubeconfig {kubeconfig}"],
            "ERROR: The command ['no-such-controller'] of --nc-controller-cmd was not found.",
        ),
        (["--nc-controller-cmd={python} -m reference_controller {nope}"], "it may use {kubeconfig}"),
        (
            ["--nc-binding=/nonexistent/binding"],
            "ERROR: Binding /nonexistent/binding does not exist; give a folder that holds binding.yaml.",
        ),
        (["--nc-slack=3"], "ERROR: --nc-slack: '3' is not a duration such as '500ms', '2s' or '1m30s'."),
    ],
)
def test_misconfiguration_is_one_sentence(tmp_path: Path, args: list[str], sentence: str) -> None:
    junit = tmp_path / "junit.xml"
    run = run_suite(tmp_path, *args, f"--junitxml={junit}")
    assert run.returncode == 4, run.output
    assert_one_sentence(run.output, sentence)
    assert not list(tmp_path.glob("nc-*")), "the run's temporary folders must be removed"
    [error] = ElementTree.parse(junit).getroot().iter("error")
    assert sentence.removeprefix("ERROR: ") in error.get("message", ""), "CI sees why the run did not start"


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (
            [IMPLEMENTATION, "--nc-implementation-version=v1", "-k", "backoff", "--nc-slack=2s"],
            "ERROR: Certification mode refuses this run: tests are selected by name (-k 'backoff'); "
            "upper bounds are loosened: slack 2000ms is above the certified 750ms.",
        ),
        (
            [IMPLEMENTATION, "--nc-implementation-version=v1", "--nc-epsilon=100ms", "-x"],
            "ERROR: Certification mode refuses this run: the run stops after 1 failures (-x/--maxfail); "
            "lower bounds are loosened: epsilon 100ms is above the certified 50ms.",
        ),
        (
            [IMPLEMENTATION, "--nc-implementation-version=v1", "--nc-scenarios=fixtures/scenarios/seed.yaml"],
            f"ERROR: Certification mode refuses this run: {UNSEEDED_CORE} core scenarios were not run: "
            "all-types-deliver, answer-slower-than-timeout",
        ),
        (
            [IMPLEMENTATION],
            "ERROR: Certification needs the implementation's version: give them in --nc-implementation FILE",
        ),
    ],
)
def test_certification_refuses_with_one_sentence(tmp_path: Path, args: list[str], sentence: str) -> None:
    run = run_suite(tmp_path, "--nc-certify", *args)
    assert run.returncode == 4, run.output
    assert_one_sentence(run.output, sentence)
    assert run.report is not None, "a refused run writes its report, saying why"
    assert run.report["refused"].startswith(sentence.removeprefix("ERROR: "))
    assert (run.report["result"], run.report["mode"]["certification"]) == ("failure", False)


def test_invalid_scenario_file_is_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- name: x\n  channels: []\n")
    run = run_suite(tmp_path, f"--nc-scenarios={bad}")
    assert run.returncode == 4, run.output
    assert_one_sentence(run.output, f"ERROR: {bad}: scenario x: missing expect, requirements, retryPolicy")
