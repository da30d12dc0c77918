"""A child in a session of its own keeps the CPU priority of the process that started it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clusters.processes import ManagedProcess

AUTOGROUPS = Path("/proc/self/autogroup").exists()

# Started at nice 7 (raising a nice needs no privilege), the parent starts a managed child that
# prints its scheduling group; ``nice`` alone would leave that group at 0.
PARENT = """
import os, sys, time
from pathlib import Path
from clusters.processes import ManagedProcess
os.nice(7 - os.nice(0))
log = Path(sys.argv[1])
child = ManagedProcess("child", [sys.executable, "-c", "print(open('/proc/self/autogroup').read())"], log)
child.popen.wait()
child.stop()
print(log.read_text().split()[-1])
"""


@pytest.mark.skipif(not AUTOGROUPS, reason="this kernel schedules without autogroups")
def test_a_managed_child_gets_the_nice_of_its_parent_in_its_own_scheduling_group(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PARENT, str(tmp_path / "child.log")],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout.split() == ["7"], done.stdout + done.stderr


def test_a_managed_child_runs_in_a_session_of_its_own(tmp_path: Path) -> None:
    child = ManagedProcess("child", [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "log")
    try:
        assert os.getsid(child.pid) == child.pid != os.getsid(0)
    finally:
        child.stop()
    assert not child.running()
