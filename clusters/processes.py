"""Child processes that never outlive the suite.

Each child runs in a session and process group of its own (with the CPU priority of
the process that started it), is stopped with SIGTERM then SIGKILL,
and on Linux also receives SIGKILL if the thread that started it dies, so even
a ``kill -9`` of the suite leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def parent_death_signal(sig: int = signal.SIGKILL) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets ``sig`` when the thread that started it ends, even by
    SIGKILL, so that nothing the suite starts outlives it."""

    def arrange() -> None:
        if _libc is not None:
            _libc.prctl(_PR_SET_PDEATHSIG, sig)

    return arrange


def _set_group_nice(autogroup: str, priority: bytes) -> None:
    with contextlib.suppress(OSError):  # no autogroups here, or a raise without CAP_SYS_NICE
        group = os.open(autogroup, os.O_WRONLY)
        try:
            os.write(group, priority)
        finally:
            os.close(group)


def _own_priority() -> bytes:
    return str(os.getpriority(os.PRIO_PROCESS, 0)).encode()


def own_session(death_signal: int | None = signal.SIGKILL) -> Callable[[], None]:
    """A ``preexec_fn`` for a child started in a session of its own (``start_new_session``).

    Linux gives a new session a scheduling group of its own (an autogroup) whose CPU share is
    that of nice 0, whatever the nice of the process that started it; the child's group gets
    this process's nice instead, so that a run started with ``nice`` keeps its priority in the
    control plane, controller and observers it starts. With ``death_signal``, the child also gets
    that signal when the thread that started it ends (``parent_death_signal``). A child that
    drops privileges (``user``) can no longer raise its group's priority: ``share_priority``."""
    priority = _own_priority()
    dies = parent_death_signal(death_signal) if death_signal is not None else None

    def arrange() -> None:
        if dies is not None:
            dies()
        _set_group_nice("/proc/self/autogroup", priority)

    return arrange


def share_priority(pid: int) -> None:
    """Give the scheduling group of child ``pid``, in a session of its own, this process's nice:
    what ``own_session`` does from inside the child, for a child that runs unprivileged."""
    _set_group_nice(f"/proc/{pid}/autogroup", _own_priority())


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def terminate_group(pid: int, grace: float = 5.0) -> None:
    """Stop the process group of a process that is not our child (a detached one)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


class ManagedProcess:
    """A child process whose output goes to a log file.

    With ``on_line``, stdout is also handed over line by line as it arrives (the
    suite timestamps console deliveries this way); stderr only goes to the log.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
        die_with_parent: bool = True,
        user: int | None = None,
        group: int | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._reader: threading.Thread | None = None
        stdout: int | IO[bytes] = subprocess.PIPE if on_line else self._log
        try:
            self.popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=self._log if on_line else subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=own_session(signal.SIGKILL if die_with_parent else None),
                user=user,
                group=group,
                extra_groups=[] if user is not None else None,
            )
        except OSError:
            self._log.close()
            raise
        if user is not None:
            share_priority(self.popen.pid)
        if on_line is not None:
            self._reader = threading.Thread(
                target=self._pump, args=(on_line,), name=f"{name}-output", daemon=True
            )
            self._reader.start()

    def _pump(self, on_line: Callable[[str], None]) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            self._log.write(raw)
            self._log.flush()
            on_line(raw.decode(errors="replace").rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self, grace: float = 5.0) -> None:
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        if self._reader is not None:
            self._reader.join(2)
        self._log.close()

    def tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
