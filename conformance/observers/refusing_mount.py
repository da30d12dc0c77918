"""Mount the refusing filesystem (``refusing_fs``) over a directory, and take it away again.

The filesystem runs as a process of its own, in a session of its own, so that a Ctrl-C reaches
the suite, whose clean-up unmounts it; should the suite die without clean-up, the filesystem sees
it and unmounts itself. Unmounting tries ``fusermount3 -u`` a few times (a controller may hold the
directory open for a moment), then detaches lazily (``-z``), then ``umount -l``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from clusters.processes import own_session
from conformance.observers.refusals import MOUNTED, Refusal, read_log

MOUNT_TIMEOUT = 10.0
UNMOUNT_TRIES = 10
UNMOUNT_RETRY_SECONDS = 0.1
EXIT_TIMEOUT = 5.0


def mounted(path: Path) -> bool:
    """Whether something is mounted on ``path``, also when its filesystem no longer answers."""
    target = os.fsencode(os.path.realpath(path))
    try:
        table = Path("/proc/self/mountinfo").read_bytes()
    except OSError:
        return os.path.ismount(path)
    # mount points are the fifth field, with space, tab, newline and backslash octal-escaped
    escaped = (
        target.replace(b"\\", b"\\134")
        .replace(b" ", b"\\040")
        .replace(b"\t", b"\\011")
        .replace(b"\n", b"\\012")
    )
    return any(line.split(b" ")[4:5] == [escaped] for line in table.splitlines())


def available() -> str | None:
    """Why no refusing filesystem can be mounted here, or None when one can."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not installed (Debian's fuse3)"
    if importlib.util.find_spec("pyfuse3") is None:
        return "pyfuse3 is not installed (the fuse extra)"
    return None


class RefusingMount:
    """The refusing filesystem over ``directory``, answering ``error`` (``EROFS`` or ``EACCES``)."""

    def __init__(self, directory: Path, error: str = "EROFS") -> None:
        self.directory = directory
        self.error = error
        self.problem: str | None = None
        """Why mounting failed, in one sentence."""
        self._scratch = Path(tempfile.mkdtemp(prefix="nc-refusals-"))
        self.log = self._scratch / "refusals.jsonl"
        self._process: subprocess.Popen[bytes] | None = None

    def mount(self) -> bool:
        """Mount and wait until the filesystem serves; False (and ``problem``) when it cannot."""
        self.problem = available()
        if self.problem is not None:
            return False
        argv = [sys.executable, "-m", "conformance.observers.refusing_fs", str(self.directory)]
        argv += ["--errno", self.error, "--log", str(self.log), "--parent", str(os.getpid())]
        self._process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=own_session(death_signal=None),
        )
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], MOUNT_TIMEOUT)
        line = self._process.stdout.readline().decode().strip() if ready else ""
        if line == MOUNTED and mounted(self.directory):
            # a round trip through the filesystem's loop (getattr of its root, never cached), so
            # that the first attempt is not stamped late while the process is still starting
            with contextlib.suppress(OSError):
                os.stat(self.directory)
                return True
        errors = self.release()
        self.problem = errors or f"the FUSE filesystem did not mount on {self.directory}"
        return False

    def refusals(self) -> list[Refusal]:
        return read_log(self.log)

    def release(self) -> str:
        """Unmount, stop the process and remove the log; safe to call more than once.

        Returns the filesystem's last line of error output, if it failed."""
        for _ in range(UNMOUNT_TRIES):
            if not mounted(self.directory):
                break
            if subprocess.run(["fusermount3", "-u", str(self.directory)], capture_output=True).returncode:
                time.sleep(UNMOUNT_RETRY_SECONDS)
        if mounted(self.directory):
            subprocess.run(["fusermount3", "-u", "-z", str(self.directory)], capture_output=True)
        if mounted(self.directory) and shutil.which("umount"):
            subprocess.run(["umount", "-l", str(self.directory)], capture_output=True)
        shutil.rmtree(self._scratch, ignore_errors=True)
        process, self._process = self._process, None
        if process is None:
            return ""
        try:
            _, errors = process.communicate(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            _, errors = process.communicate()
        lines = errors.decode(errors="replace").strip().splitlines()
        return lines[-1] if process.returncode and lines else ""
