"""Make a directory read-only even for root.

Root ignores permission bits, so mode 0555 alone does not make a file channel fail
when the controller runs as root. A read-only tmpfs mount gives EROFS to everyone,
exactly what a pod's ``readOnly: true`` volume gives; ``chattr +i`` stops root too.
Without the privilege for either, a non-root user's 0555 directory suffices, and so it
does when the suite runs the controller as an unprivileged user (``--nc-controller-user``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Protocol


class ControllerUser(Protocol):
    """The unprivileged user the controller runs as (``conformance.environment.launch``)."""

    def can_write(self, directory: Path) -> bool: ...


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

    def __init__(self, directory: Path, user: ControllerUser | None = None) -> None:
        """``user``: the unprivileged user the controller runs as, for whom mode 0555 suffices."""
        self.directory = directory
        self.mechanism = ""

        def blocked() -> bool:
            return not user.can_write(directory) if user else _blocked(directory)

        attempts = (
            [("read-only tmpfs mount", self._mount), ("chattr +i", self._immutable)]
            if os.geteuid() == 0 and user is None
            else [("mode 0555", self._chmod)]
        )
        for name, apply in attempts:
            if apply() and blocked():
                self.mechanism = name
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

    def release(self) -> None:
        if self.mechanism == "read-only tmpfs mount" or os.path.ismount(self.directory):
            _run("umount", str(self.directory))
        if os.geteuid() == 0:
            _run("chattr", "-i", str(self.directory))
        if self.directory.exists():
            self.directory.chmod(0o755)
