"""Helpers for end-to-end tests: a real local control plane, and the suite run as users run it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from clusters.local.controlplane import LocalControlPlane
from clusters.processes import own_session
from conformance.observers.sink.recording import RecordingSink, SinkClient

REPO = Path(__file__).resolve().parents[2]


@dataclass
class SuiteRun:
    returncode: int
    output: str
    report: dict[str, Any] | None

    def failed_requirements(self) -> set[str]:
        assert self.report is not None, self.output
        return {r["id"] for r in self.report["failedRequirements"]}


def suite_command(report_dir: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "conformance/suite",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",  # the suite has no property tests; the plugin's import is most of a second
        f"--nc-report-dir={report_dir}",
        *args,
    ]


def run_suite(
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    full: bool = False,
    beside_full: bool = False,
) -> SuiteRun:
    """Run the suite in a child pytest, with its temporary files under ``tmp_path``.

    ``full``: a run of (nearly) every scenario, which loads about one of this machine's two cores
    while its scenarios start; such runs take turns, no other suite run starts while one runs
    (but those ``beside_full``, which wait out long windows and load little), and they run at a
    higher priority than the other tests' processes (FULL_RUN_NICE), in a session and so a
    scheduling group of their own (``own_session``), so that their timing is judged on a machine
    that keeps up, as a user's run is."""
    report_dir = tmp_path / "report"
    environment = {**os.environ, "TMPDIR": str(tmp_path), **(env or {})}
    runs = contextlib.nullcontext() if beside_full else suite_runs(alone=full)
    with runs:
        completed = subprocess.run(
            suite_command(report_dir, *args),
            cwd=REPO,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            start_new_session=full,
            preexec_fn=_ahead if full else None,
        )
    report_path = report_dir / "conformance-report.yaml"
    report = yaml.safe_load(report_path.read_text()) if report_path.exists() else None
    return SuiteRun(completed.returncode, completed.stdout + completed.stderr, report)


FULL_RUN_NICE = -10
"""The nice value of a full run and everything it starts (control plane, controller, sink)."""


def _ahead() -> None:
    with contextlib.suppress(PermissionError):
        os.nice(FULL_RUN_NICE)
    own_session(signal.SIGTERM)()  # the group's share follows the nice; the run stops with its test


def broken(defect: str) -> str:
    """A broken (or conforming) variant of the reference, scoped as the reference is by default."""
    return (
        f"--nc-controller-cmd={{python}} -m tests.broken_controllers {defect} --kubeconfig {{kubeconfig}} "
        "--namespace {namespace} --file-root {workdir} --metrics-bind-address 0"
    )


def on(plane: LocalControlPlane) -> list[str]:
    """Suite options for a run on ``plane``, shared with other runs: each run's controller watches
    only its own run's namespaces (``{namespace}``), so runs on one control plane do not meet."""
    return ["--nc-cluster=existing", f"--nc-kubeconfig={plane.kubeconfig_path}"]


@pytest.fixture
def sink() -> Iterator[SinkClient]:
    """A recording sink of the test's own, answering from the scripts the test sets."""
    server = RecordingSink().start()
    yield SinkClient(server.url)
    server.stop()


@contextlib.contextmanager
def turn(what: str, shared: bool = False) -> Iterator[None]:
    """One test at a time, among the parallel pytest-xdist workers, for ``what``; or, ``shared``,
    any number of them, but none while one holds it alone."""
    lock = Path(tempfile.gettempdir()) / f"nc-tests-{what}.lock"
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)  # blocks while another holds it
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def suite_runs(alone: bool) -> Iterator[None]:
    """Suite runs side by side, or one ``alone``: a run that waits to be alone stops new ones from
    starting (it passes the gate first), so it waits only for those already running."""
    if alone:
        with turn("suite-gate"), turn("suite-runs"):
            yield
        return
    with turn("suite-gate", shared=True):
        pass
    with turn("suite-runs", shared=True):
        yield


def engine_turn() -> contextlib.AbstractContextManager[None]:
    """A Docker engine of the test's own: its data root takes one run (``clusters.kind.engine``)."""
    return turn("docker-engine")


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalControlPlane]:
    plane = LocalControlPlane()
    plane.start()
    yield plane
    plane.stop()


@pytest.fixture(scope="session")
def api_client(local_cluster: LocalControlPlane) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(str(local_cluster.kubeconfig_path))
    yield api
    api.close()


@pytest.fixture(scope="session")
def notification_crds(api_client: client.ApiClient) -> client.ApiClient:
    """The local control plane with the reference binding's CRDs installed."""
    from conformance.binding.binding import Binding
    from conformance.environment.run_environment import install_crds

    install_crds(api_client, Binding.load(REPO / "fixtures" / "bindings" / "reference"))
    return api_client
