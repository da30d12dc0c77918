"""The run's own Docker engine: started where none answers, and gone afterwards, also when the
run is interrupted: no dockerd, no folder, no mount, the iptables chains and FORWARD policy as
they were."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clusters.kind import engine
from tests.e2e.conftest import REPO, engine_turn


def network_state() -> tuple[dict[str, set[str]], str | None]:
    chains = {table: set(names) & engine._chains(table) for table, names in engine.DOCKER_CHAINS.items()}
    return chains, engine._policy("filter", "FORWARD")


def dockerd_running(socket: str) -> bool:
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return any(line.startswith("dockerd ") and socket in line for line in listing.splitlines())


@pytest.fixture
def no_engine_answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the client at a socket nobody serves, as on a machine without an engine."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    if engine.answers():
        pytest.fail("an engine answers at a socket that does not exist")
    with engine_turn():
        yield


def test_an_own_engine_answers_and_leaves_nothing_behind(no_engine_answers: None) -> None:
    before = network_state()
    own = engine.OwnEngine()
    try:
        own.start()
        assert engine.answers(own.env)
        assert dockerd_running(str(own.socket))
        runtimes = subprocess.run(
            ["docker", "info", "--format", "{{.DefaultRuntime}}"], env=own.env, capture_output=True, text=True
        ).stdout.strip()
        assert runtimes == "capfilter"
    finally:
        own.stop()
    assert not dockerd_running(str(own.socket))
    assert not own.folder.exists()
    assert not [
        line for line in Path("/proc/self/mounts").read_text().splitlines() if str(own.folder) in line
    ]
    assert network_state() == before


def test_an_interrupted_run_stops_its_command_and_its_engine(no_engine_answers: None) -> None:
    """SIGTERM (as CI sends on a timeout) reaches the command first, then the engine goes. The run
    starts with SIGINT ignored, as a background job of a shell without job control does: the
    command is interrupted all the same."""
    before = network_state()
    script = (
        'docker version --format "{{.Server.Version}}" >/dev/null && echo "up $DOCKER_HOST" && exec sleep 300'
    )
    run = subprocess.Popen(
        [sys.executable, "-m", "clusters.kind.engine", "run", "--", "sh", "-c", script],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, DOCKER_HOST="unix:///nonexistent/docker.sock"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert run.stdout is not None
        line = run.stdout.readline()
        assert line.startswith("up unix://"), line
        socket = line.split("unix://", 1)[1].strip()
        assert dockerd_running(socket)
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=90) == 130
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert not dockerd_running(socket)
    assert not Path(socket).parent.exists()
    assert network_state() == before


def test_a_killed_run_takes_its_engine_and_its_command_with_it(no_engine_answers: None) -> None:
    """SIGKILL leaves the run no time to stop anything: the engine and the command are told to stop
    when it dies, so the next run finds the data root free."""
    before = network_state()
    after_run = engine.OwnEngine()  # made now, so that it undoes what the killed run's engine left
    script = 'echo "up $DOCKER_HOST $$" && exec sleep 300'
    run = subprocess.Popen(
        [sys.executable, "-m", "clusters.kind.engine", "run", "--", "sh", "-c", script],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert run.stdout is not None
    line = run.stdout.readline()
    assert line.startswith("up unix://"), line
    socket, command = line.split("unix://", 1)[1].split()
    run.kill()
    run.wait()
    deadline = time.monotonic() + engine.STOP_TIMEOUT + 10
    while (dockerd_running(socket) or Path(f"/proc/{command}").exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not dockerd_running(socket)
    assert not Path(f"/proc/{command}").exists()
    try:
        after_run.start()  # the data root is free for the next run
    finally:
        after_run.stop()
        subprocess.run(["rm", "-rf", "--one-file-system", str(Path(socket).parent)], check=False)
    assert network_state() == before
