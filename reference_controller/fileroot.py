"""Writes of the file channel, confined below one root directory.

A notification names its directory, so a writer that trusts it can be steered anywhere the
controller may write. Every directory below the root is opened one component at a time with
``O_NOFOLLOW``, so neither ``..`` nor a symbolic link (planted as a directory or at the file's
name) leads out. The root itself is configuration and may be a link.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable

DEFAULT_FILE_ROOT = "/var/lib/notifications"

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Escape(Exception):
    """The directory leads outside the root: no retry can make the write safe."""


class FileRoot:
    def __init__(self, root: str) -> None:
        self.root = os.path.normpath(os.path.abspath(root))

    def relative_parts(self, directory: str) -> list[str]:
        """The components of ``directory`` below the root; raises Escape for anything else."""
        if "\0" in directory:
            raise Escape(f"file.directory {directory!r} contains a NUL character")
        if not os.path.isabs(directory):
            raise Escape(f"file.directory {directory!r} is not an absolute path")
        parts = [p for p in directory.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise Escape(f"file.directory {directory!r} contains '..'")
        root_parts = [p for p in self.root.split("/") if p]
        if parts[: len(root_parts)] != root_parts:
            raise Escape(f"file.directory {directory!r} is outside the file root {self.root}")
        return parts[len(root_parts) :]

    def write(
        self, directory: str, filename: str, data: bytes, on_create: Callable[[], object] = lambda: None
    ) -> None:
        """Write ``data`` to ``directory/filename`` atomically, below the root only; ``on_create`` is
        called just before the file is created, the moment a failing attempt went out.

        Raises Escape for a path that leaves the root (including through a link) and
        OSError for ordinary file-system failures, which an operator can fix.
        """
        if "/" in filename or filename in ("", ".", ".."):
            raise Escape(f"file name {filename!r} is not a plain name")
        parts = self.relative_parts(directory)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in parts:
                child = _open_below(fd, part, directory)
                os.close(fd)
                fd = child
            _write_in(fd, filename, data, directory, on_create)
        finally:
            os.close(fd)


def _open_below(parent: int, name: str, directory: str) -> int:
    """Open the directory ``name`` in ``parent`` without following a link."""
    try:
        return os.open(name, _DIRECTORY_FLAGS, dir_fd=parent)
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(parent, name):
            raise Escape(
                f"file.directory {directory!r}: {name!r} is a symbolic link, which file channels never follow"
            ) from err
        raise


def _write_in(fd: int, filename: str, data: bytes, directory: str, on_create: Callable[[], object]) -> None:
    if _is_link(fd, filename):
        raise Escape(f"{os.path.join(directory, filename)} is a symbolic link; refusing to write through it")
    temporary = f".delivery-{secrets.token_hex(8)}"
    on_create()
    handle = os.open(temporary, _CREATE_FLAGS, 0o644, dir_fd=fd)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view) :]
        finally:
            os.close(handle)
        os.replace(temporary, filename, src_dir_fd=fd, dst_dir_fd=fd)  # replaces a name, never follows it
    except BaseException:
        os.unlink(temporary, dir_fd=fd)
        raise


def _is_link(fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=fd).st_mode)
    except OSError:
        return False
