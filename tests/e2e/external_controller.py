"""``python -m tests.e2e.external_controller PIDFILE LOG -- COMMAND...``: (re)start a controller
that the suite did not launch, as an operator's restart script would: kill the one whose
process group is in PIDFILE, if any, start COMMAND in a new session, and record it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from clusters.processes import own_session


def stop(pidfile: Path) -> None:
    """Kill the recorded controller's process group and wait until it is gone."""
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    pidfile.unlink()


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent (it is nobody's child once its starter exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    pidfile, log = Path(argv[0]), Path(argv[1])
    stop(pidfile)
    with log.open("ab") as output:
        process = subprocess.Popen(
            argv[3:],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=own_session(death_signal=None),  # outlives this script, as a deployment's would
        )
    pidfile.write_text(str(process.pid))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
