"""Ctrl-C or SIGTERM in the middle of a run stops every process and removes every folder and mount."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, suite_command

STARTED = '"msg": "controller started"'


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except (OSError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for_controller(tmp_path: Path, suite: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert suite.poll() is None, "the suite ended before it could be interrupted"
        for log in tmp_path.glob("nc-run-*/controller.log"):
            if STARTED in log.read_text(errors="replace"):
                time.sleep(0.5)  # let the scenarios create their namespaces, mounts and sink paths
                return
        time.sleep(0.1)
    pytest.fail("the controller did not start")


@pytest.mark.parametrize(("signum", "whole_group"), [(signal.SIGINT, True), (signal.SIGTERM, False)])
def test_interrupted_run_leaves_nothing_behind(tmp_path: Path, signum: int, whole_group: bool) -> None:
    suite = subprocess.Popen(
        suite_command(tmp_path / "report"),
        cwd=REPO,
        env=dict(os.environ, TMPDIR=str(tmp_path)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_controller(tmp_path, suite)
        if whole_group:
            os.killpg(suite.pid, signum)  # what Ctrl-C in a terminal does
        else:
            suite.send_signal(signum)
        suite.wait(60)
    finally:
        if suite.poll() is None:
            os.killpg(suite.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while processes_mentioning(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_mentioning(str(tmp_path)) == []
    mounts = Path("/proc/mounts").read_text()
    assert str(tmp_path) not in mounts
    assert not list(tmp_path.glob("nc-*")), "the run's temporary folders must be removed"
