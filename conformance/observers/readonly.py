"""Make a directory read-only even for root.

Root ignores permission bits, so mode 0555 alone does not make a file channel fail
when the controller runs as root. First choice, wherever FUSE is available: the suite's
refusing filesystem (``refusing_mount``), which answers every write with the scenario's
errno, root's included, and stamps each attempt as it arrives, so the channel's gaps are
judged on the suite's clock. Without FUSE: a read-only tmpfs mount gives EROFS to everyone,
exactly what a pod's ``readOnly: true`` volume gives; ``chattr +i`` stops root too.
Without the privilege for either, a non-root user's 0555 directory suffices, and so it
does when the suite runs the controller as an unprivileged user (``--nc-controller-user``).
These fallbacks see no attempt; the channel is then judged from status.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Protocol

from conformance.observers.refusals import Refusal
from conformance.observers.refusing_mount import RefusingMount

FUSE = "FUSE filesystem"


class ControllerUser(Protocol):
    """The unprivileged user the controller runs as (``conformance.environment.launch``)."""

    def can_write(self, directory: Path) -> bool: ...

    def give(self, directory: Path) -> None: ...


class ReadOnlyError(RuntimeError):
    """No way to make a directory read-only for the controller was available."""


def _blocked(directory: Path) -> bool:
    probe = directory / f".probe-{uuid.uuid4().hex}"
    try:
        probe.touch()
    except OSError:
        return True
    probe.unlink()
    return False


def _run(*argv: str) -> bool:
    if shutil.which(argv[0]) is None:
        return False
    return subprocess.run(argv, capture_output=True).returncode == 0


class ReadOnlyDirectory:
    """An existing directory made read-only until ``release()``; ``mechanism`` says how."""

    def __init__(self, directory: Path, user: ControllerUser | None = None, error: str = "EROFS") -> None:
        """``user``: the unprivileged user the controller runs as, for whom mode 0555 suffices;
        ``error``: what the refusing filesystem answers (``EROFS`` or ``EACCES``)."""
        self.directory = directory
        self.mechanism = ""
        self.fuse = RefusingMount(directory, error)
        self.since = 0.0
        """Refusals from this moment on are the controller's: the suite's own probe came before."""

        def blocked() -> bool:
            return not user.can_write(directory) if user else _blocked(directory)

        fallbacks = (
            [("read-only tmpfs mount", self._mount), ("chattr +i", self._immutable)]
            if os.geteuid() == 0 and user is None
            else [("mode 0555", self._chmod)]
        )
        for name, apply in [(f"{FUSE} ({error})", self.fuse.mount), *fallbacks]:
            if apply() and blocked():
                self.mechanism = name
                self.since = time.time()
                return
            self.release()
        raise ReadOnlyError(
            f"Cannot make {directory} read-only for the controller: as root this needs permission "
            "to mount a tmpfs or to run chattr +i; run the suite as a non-root user instead."
        )

    def _mount(self) -> bool:
        return _run("mount", "-t", "tmpfs", "-o", "ro,size=64k,mode=0555", "tmpfs", str(self.directory))

    def _immutable(self) -> bool:
        return _run("chattr", "+i", str(self.directory))

    def _chmod(self) -> bool:
        self.directory.chmod(0o555)
        return True

    @property
    def sees_attempts(self) -> bool:
        return self.mechanism.startswith(FUSE)

    def refusals(self) -> list[Refusal]:
        """What the refusing filesystem refused the controller so far (nothing with a fallback)."""
        return [r for r in self.fuse.refusals() if r.time >= self.since] if self.sees_attempts else []

    def release(self) -> None:
        self.fuse.release()
        if self.mechanism == "read-only tmpfs mount" or os.path.ismount(self.directory):
            _run("umount", str(self.directory))
        if os.geteuid() == 0:
            _run("chattr", "-i", str(self.directory))
        if self.directory.exists():
            self.directory.chmod(0o755)
