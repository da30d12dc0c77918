"""A FUSE filesystem, mounted over a failing file channel's directory, that refuses every write
and stamps each refused request.

Run as a process of its own (``python -m conformance.observers.refusing_fs``), so that its stamps
never wait on the suite's threads. It uses pyfuse3's low-level API: each handler is one request
exactly as the kernel handed it over, and the stamp (``time.time()``) is the handler's first
statement. Every refused request is one JSON line in the log (see ``refusals.Refusal``); which of
them mark a delivery attempt is decided by ``refusals.attempts``.

The directory is empty and stays so: lookups find nothing, listings are empty, and creating,
linking, renaming or changing anything fails with the scenario's errno (EROFS, or EACCES). There
is no ``default_permissions``: the kernel hands every request to the filesystem, root's included.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import signal
import stat
import sys
import time
from typing import IO, NoReturn

import pyfuse3
import trio

from conformance.observers.refusals import ERRNOS, MOUNTED

PRIORITY = -10
"""The filesystem's nice value where it may raise it: it sleeps until a request comes, and then
must run at once, or its stamp waits for the CPU (there is no kernel stamp on a FUSE request)."""
WATCH_PARENT_SECONDS = 0.5
"""How often the filesystem checks that the suite that started it is still there."""


class RefusingFs(pyfuse3.Operations):
    """An empty directory whose every change is refused with ``error`` and written to ``log``."""

    def __init__(self, error: int, log: IO[str], owner: os.stat_result) -> None:
        super().__init__()
        self.error = error
        self.log = log
        self.owner = owner

    def refuse(self, at: float, op: str, name: bytes, ctx: pyfuse3.RequestContext | None) -> NoReturn:
        """Log the refused request (stamped ``at``, on the handler's entry) and refuse it."""
        record = {
            "time": at,
            "op": op,
            "name": os.fsdecode(name),
            "pid": ctx.pid if ctx else 0,
            "errno": errno.errorcode[self.error],
        }
        self.log.write(json.dumps(record) + "\n")
        raise pyfuse3.FUSEError(self.error)

    def root(self) -> pyfuse3.EntryAttributes:
        attributes = pyfuse3.EntryAttributes()
        attributes.st_ino = pyfuse3.ROOT_INODE
        attributes.st_mode = stat.S_IFDIR | 0o555
        attributes.st_nlink = 2
        attributes.st_uid, attributes.st_gid = self.owner.st_uid, self.owner.st_gid
        attributes.st_blksize = 4096
        for field in ("st_atime_ns", "st_mtime_ns", "st_ctime_ns"):
            setattr(attributes, field, getattr(self.owner, field))
        attributes.entry_timeout = attributes.attr_timeout = 0
        return attributes

    async def getattr(self, inode: pyfuse3.InodeT, ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        if inode != pyfuse3.ROOT_INODE:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return self.root()

    async def lookup(
        self, parent_inode: pyfuse3.InodeT, name: pyfuse3.FileNameT, ctx: pyfuse3.RequestContext
    ) -> pyfuse3.EntryAttributes:
        if name == b"." or (name == b".." and parent_inode == pyfuse3.ROOT_INODE):
            return self.root()
        raise pyfuse3.FUSEError(errno.ENOENT)

    async def opendir(self, inode: pyfuse3.InodeT, ctx: pyfuse3.RequestContext) -> pyfuse3.FileHandleT:
        if inode != pyfuse3.ROOT_INODE:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return pyfuse3.FileHandleT(0)

    async def readdir(self, fh: pyfuse3.FileHandleT, start_id: int, token: pyfuse3.ReaddirToken) -> None:
        return None

    async def releasedir(self, fh: pyfuse3.FileHandleT) -> None:
        return None

    async def statfs(self, ctx: pyfuse3.RequestContext) -> pyfuse3.StatvfsData:
        data = pyfuse3.StatvfsData()
        data.f_bsize = data.f_frsize = 4096
        data.f_namemax = 255
        return data

    async def access(self, inode: pyfuse3.InodeT, mode: pyfuse3.ModeT, ctx: pyfuse3.RequestContext) -> bool:
        if mode & os.W_OK:
            self.refuse(time.time(), "access", b"", ctx)
        return True

    async def create(
        self,
        parent_inode: pyfuse3.InodeT,
        name: pyfuse3.FileNameT,
        mode: pyfuse3.ModeT,
        flags: pyfuse3.FlagT,
        ctx: pyfuse3.RequestContext,
    ) -> tuple[pyfuse3.FileInfo, pyfuse3.EntryAttributes]:
        self.refuse(time.time(), "create", name, ctx)

    async def mknod(
        self,
        parent_inode: pyfuse3.InodeT,
        name: pyfuse3.FileNameT,
        mode: pyfuse3.ModeT,
        rdev: int,
        ctx: pyfuse3.RequestContext,
    ) -> pyfuse3.EntryAttributes:
        self.refuse(time.time(), "mknod", name, ctx)

    async def mkdir(
        self,
        parent_inode: pyfuse3.InodeT,
        name: pyfuse3.FileNameT,
        mode: pyfuse3.ModeT,
        ctx: pyfuse3.RequestContext,
    ) -> pyfuse3.EntryAttributes:
        self.refuse(time.time(), "mkdir", name, ctx)

    async def symlink(
        self,
        parent_inode: pyfuse3.InodeT,
        name: pyfuse3.FileNameT,
        target: pyfuse3.FileNameT,
        ctx: pyfuse3.RequestContext,
    ) -> pyfuse3.EntryAttributes:
        self.refuse(time.time(), "symlink", name, ctx)

    async def link(
        self,
        inode: pyfuse3.InodeT,
        new_parent_inode: pyfuse3.InodeT,
        new_name: pyfuse3.FileNameT,
        ctx: pyfuse3.RequestContext,
    ) -> pyfuse3.EntryAttributes:
        self.refuse(time.time(), "link", new_name, ctx)

    async def rename(
        self,
        parent_inode_old: pyfuse3.InodeT,
        name_old: pyfuse3.FileNameT,
        parent_inode_new: pyfuse3.InodeT,
        name_new: pyfuse3.FileNameT,
        flags: pyfuse3.FlagT,
        ctx: pyfuse3.RequestContext,
    ) -> None:
        self.refuse(time.time(), "rename", name_new, ctx)

    async def setattr(
        self,
        inode: pyfuse3.InodeT,
        attr: pyfuse3.EntryAttributes,
        fields: pyfuse3.SetattrFields,
        fh: pyfuse3.FileHandleT | None,
        ctx: pyfuse3.RequestContext,
    ) -> pyfuse3.EntryAttributes:
        self.refuse(time.time(), "setattr", b"", ctx)

    async def setxattr(
        self, inode: pyfuse3.InodeT, name: pyfuse3.XAttrNameT, value: bytes, ctx: pyfuse3.RequestContext
    ) -> None:
        self.refuse(time.time(), "setxattr", name, ctx)

    async def removexattr(
        self, inode: pyfuse3.InodeT, name: pyfuse3.XAttrNameT, ctx: pyfuse3.RequestContext
    ) -> None:
        self.refuse(time.time(), "removexattr", name, ctx)

    async def getxattr(
        self, inode: pyfuse3.InodeT, name: pyfuse3.XAttrNameT, ctx: pyfuse3.RequestContext
    ) -> bytes:
        raise pyfuse3.FUSEError(pyfuse3.ENOATTR)

    async def listxattr(self, inode: pyfuse3.InodeT, ctx: pyfuse3.RequestContext) -> list[bytes]:
        return []


async def _serve(parent: int) -> None:
    """Serve until unmounted, a signal, or the death of the process that started the filesystem."""
    async with trio.open_nursery() as nursery:

        async def stop_on_signal() -> None:
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
                async for _ in signals:
                    pyfuse3.terminate()
                    return

        async def stop_when_orphaned() -> None:
            while os.getppid() == parent:
                await trio.sleep(WATCH_PARENT_SECONDS)
            pyfuse3.terminate()

        nursery.start_soon(stop_on_signal)
        nursery.start_soon(stop_when_orphaned)
        print(MOUNTED, flush=True)  # from the running loop, which serves requests from here on
        await pyfuse3.main()
        nursery.cancel_scope.cancel()


def raise_priority() -> None:
    """Where the suite may: a real-time policy, so that a request runs the filesystem before any
    ordinary process (the controller, the API server); else the process's nice value, and its
    autogroup's. With autogroups (``/proc/sys/kernel/sched_autogroup_enabled``) the scheduler
    first shares the processors between sessions, and the filesystem runs in a session of its
    own, so only the latter puts it before a busy controller. The filesystem only ever answers
    requests, so a real-time policy cannot starve the machine."""
    with contextlib.suppress(PermissionError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(os.sched_get_priority_min(os.SCHED_FIFO)))
        return
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, PRIORITY)
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as autogroup:
        autogroup.write(str(PRIORITY))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mountpoint")
    parser.add_argument("--errno", choices=sorted(ERRNOS), default="EROFS")
    parser.add_argument("--log", required=True, help="a JSON line per refused request is appended here")
    parser.add_argument("--parent", type=int, default=os.getppid(), help="stop when this process is gone")
    args = parser.parse_args(argv)
    raise_priority()
    try:
        owner = os.stat(args.mountpoint)
    except OSError as err:
        print(f"Cannot mount a FUSE filesystem on {args.mountpoint}: {err.strerror}.", file=sys.stderr)
        return 1
    if not stat.S_ISDIR(owner.st_mode):
        print(f"Cannot mount a FUSE filesystem on {args.mountpoint}: it is not a directory.", file=sys.stderr)
        return 1
    with open(args.log, "a", buffering=1) as log:
        operations = RefusingFs(ERRNOS[args.errno], log, owner)
        options = {"fsname=nc-refusing", "subtype=nc-refusing"}
        if os.geteuid() == 0:
            options.add("allow_other")  # the controller may run as another user
        try:
            pyfuse3.init(operations, args.mountpoint, options)
        except RuntimeError as err:
            print(f"Cannot mount a FUSE filesystem on {args.mountpoint}: {err}.", file=sys.stderr)
            return 1
        try:
            trio.run(_serve, args.parent)
        finally:
            pyfuse3.close(unmount=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
