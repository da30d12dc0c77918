"""A child in a session of its own keeps the CPU priority of the process that started it."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from clusters.processes import ManagedProcess

AUTOGROUPS = Path("/proc/self/autogroup").exists()

# The parent, at the nice it is given, starts a managed child (as ``user``, if given) and prints
# the nice of the child's scheduling group once it has started; ``nice`` alone would leave it at 0.
PARENT = """
import os, sys
from pathlib import Path
from clusters.processes import ManagedProcess
nice, user, log = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
os.nice(nice - os.nice(0))
child = ManagedProcess("child", ["sleep", "30"], log, user=int(user) if user else None)
try:
    print(Path(f"/proc/{child.pid}/autogroup").read_text().split()[-1])
finally:
    child.stop()
"""


def group_nice_of_child(tmp_path: Path, nice: int, user: int | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PARENT, str(nice), str(user or ""), str(tmp_path / "child.log")],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return done.stdout.strip()


@pytest.mark.skipif(not AUTOGROUPS, reason="this kernel schedules without autogroups")
def test_a_managed_child_gets_the_nice_of_its_parent_in_its_own_scheduling_group(tmp_path: Path) -> None:
    assert group_nice_of_child(tmp_path, 7) == "7"  # raising a nice needs no privilege


@pytest.mark.skipif(not AUTOGROUPS, reason="this kernel schedules without autogroups")
@pytest.mark.skipif(os.geteuid() != 0, reason="only root can lower a nice and start a child as another user")
def test_a_child_that_runs_unprivileged_still_gets_a_raised_priority(tmp_path: Path) -> None:
    assert group_nice_of_child(tmp_path, -5, user=pwd.getpwnam("nobody").pw_uid) == "-5"


def test_a_managed_child_runs_in_a_session_of_its_own(tmp_path: Path) -> None:
    child = ManagedProcess("child", [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "log")
    try:
        assert os.getsid(child.pid) == child.pid != os.getsid(0)
    finally:
        child.stop()
    assert not child.running()
