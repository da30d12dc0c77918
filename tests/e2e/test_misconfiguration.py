"""A misconfigured run ends with one plain sentence and leaves nothing running."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import run_suite


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
            "ERROR: The controller command ['no-such-controller'] was not found.",
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
    run = run_suite(tmp_path, *args)
    assert run.returncode == 4, run.output
    assert_one_sentence(run.output, sentence)
    assert not list(tmp_path.glob("nc-*")), "the run's temporary folders must be removed"


def test_invalid_scenario_file_is_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- name: x\n  channels: []\n")
    run = run_suite(tmp_path, f"--nc-scenarios={bad}")
    assert run.returncode == 4, run.output
    assert_one_sentence(run.output, f"ERROR: {bad}: scenario x: missing expect, requirements, retryPolicy")
