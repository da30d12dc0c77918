from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import setuptools

from conformance import cli
from conformance.reports import document, html_page
from tests.unit.report_data import sample

REPO = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> tuple[list[str], list[str]]:
    args, extra = cli.parser().parse_known_args(list(argv))
    return cli.pytest_args(args, extra), extra


def test_run_has_sensible_defaults() -> None:
    argv, _ = parse("run")
    assert argv == [
        str(cli.SUITE),
        "-n",
        "0",
        "--junitxml=reports/junit.xml",
        "--nc-report-dir=reports",
    ]


def test_run_passes_options_and_unknown_arguments_to_pytest() -> None:
    argv, extra = parse(
        "run",
        "--controller-cmd",
        "./manager --kubeconfig {kubeconfig}",
        "--binding",
        "b/",
        "-n",
        "2",
        "--report-dir",
        "out",
        "--slack",
        "1s",
        "-k",
        "backoff",
        "-x",
    )
    assert extra == ["-k", "backoff", "-x"]
    assert argv[:4] == [str(cli.SUITE), "-n", "2", "--junitxml=out/junit.xml"]
    assert "--nc-controller-cmd=./manager --kubeconfig {kubeconfig}" in argv
    assert "--nc-binding=b/" in argv and "--nc-slack=1s" in argv and "--nc-certify" not in argv
    assert argv[-3:] == ["-k", "backoff", "-x"]


def test_launch_modes_reach_pytest() -> None:
    argv, _ = parse(
        "run",
        "--cluster",
        "kind",
        "--controller-cmd",
        "",
        "--controller-pod-selector",
        "ops/app=notifier",
        "--controller-rbac",
        "deploy",
        "--controller-user",
        "nobody",
        "--sink-address",
        "10.0.0.1",
    )
    assert argv[5:] == [
        "--nc-controller-cmd=",
        "--nc-cluster=kind",
        "--nc-controller-user=nobody",
        "--nc-controller-rbac=deploy",
        "--nc-controller-pod-selector=ops/app=notifier",
        "--nc-sink-address=10.0.0.1",
    ]


def test_pytest_options_are_not_taken_for_abbreviations() -> None:
    _, extra = parse("run", "--co")
    assert extra == ["--co"]


def test_certify_requires_the_implementation_and_adds_certification_mode(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse("certify")
    assert exited.value.code == 2
    assert "the following arguments are required: --implementation" in capsys.readouterr().err
    argv, _ = parse("certify", "--implementation", "impl.yaml", "--implementation-version", "abc123")
    assert argv[-3:] == [
        "--nc-implementation=impl.yaml",
        "--nc-implementation-version=abc123",
        "--nc-certify",
    ]


def test_certify_has_no_way_to_loosen_tolerances() -> None:
    _, extra = parse("certify", "--implementation", "i.yaml", "--slack", "5s")
    assert extra == ["--slack", "5s"], "passed to pytest, which does not know it and stops"


def test_cluster_delegates_to_the_cluster_command() -> None:
    args = cli.parser().parse_args(["cluster", "up", "--detach", "--kubeconfig", "k"])
    assert cli.cluster_args(args) == ["up", "--kubeconfig", "k", "--detach"]
    assert cli.cluster_args(cli.parser().parse_args(["cluster", "down", "--name", "x"])) == [
        "down",
        "--name",
        "x",
    ]


@pytest.mark.parametrize(
    ("argv", "texts"),
    [
        (
            [],
            ["commands:", "run ", "certify ", "cluster ", "report ", "examples:", "conformance-report.html"],
        ),
        (["run"], ["--controller-cmd CMD", "passed to pytest", "-k readonly-file", "Exit status"]),
        (["certify"], ["refuses", "--reruns", "loosened tolerances", "organization: Example Corp"]),
        (["cluster"], ["{up,down}", "--detach"]),
        (["report"], ["--check", "examples:"]),
    ],
)
def test_help_reads_like_documentation(
    argv: list[str], texts: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([*argv, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for text in texts:
        assert text in out, out


def test_report_checks_and_renders_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = document.write(sample(), tmp_path)
    assert cli.main(["report", str(path), "--check"]) == 0
    assert not (tmp_path / html_page.FILENAME).exists()
    assert cli.main(["report", str(path)]) == 0
    assert 'id="timeline-readonly-file"' in (tmp_path / html_page.FILENAME).read_text()
    assert "a valid conformance report, result failure" in capsys.readouterr().out


def test_report_refuses_an_invalid_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("kind: ConformanceReport\n")
    assert cli.main(["report", str(path)]) == 1
    assert "error: The conformance report is invalid at the top level" in capsys.readouterr().err


def test_unknown_arguments_outside_run_are_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["report", "r.yaml", "-k", "x"])
    assert "unrecognized arguments: -k x" in capsys.readouterr().err


def test_the_wheel_carries_the_suite_and_what_it_runs_only() -> None:
    """No top-level ``examples`` or ``tests`` package in site-packages."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = setuptools.find_packages(str(REPO), include=include)
    assert {p.split(".")[0] for p in packages} == {
        "conformance",
        "reference_controller",
        "clusters",
        "fixtures",
    }


def test_fixtures_hold_data_only() -> None:
    """The suite's servers live in the suite; fixtures/ is CRDs, scenarios and bindings."""
    modules = sorted(str(p.relative_to(REPO)) for p in (REPO / "fixtures").rglob("*.py"))
    assert modules == ["fixtures/__init__.py"]
