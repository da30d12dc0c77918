"""Which requests refused by a failing file channel's filesystem are delivery attempts.

One attempt may reach the filesystem as several requests: a lookup of the name, the create of a
temporary file, perhaps a second create when a writer falls back to the final name, a mkdir. The
rule:

- Only a refused request that would put something into the directory marks an attempt:
  ``create`` (an ``open`` with ``O_CREAT``), ``mknod``, ``mkdir``, ``symlink``, ``link`` and
  ``rename``. Lookups, ``stat``, listings and an ``access(W_OK)`` probe are looking, not
  attempting, and so are changes to the directory's own metadata (``setattr``, ``setxattr``).
- An attempt is a run of marking requests each less than ``within`` seconds after the one before
  it; it is stamped with the first. A controller makes no overlapping attempts on one channel
  (NR-NO-OVERLAP), and its retries come a backoff apart, far longer than ``within``.

Pure functions over data, unit-tested without a mount.
"""

from __future__ import annotations

import errno
import json
from dataclasses import dataclass
from pathlib import Path

MOUNTED = "mounted"
"""The line the filesystem prints once it is mounted."""

ERRNOS = {"EROFS": errno.EROFS, "EACCES": errno.EACCES}
"""What a failing directory answers: a read-only file system, or permission denied."""

MARKS_ATTEMPT = frozenset({"create", "mknod", "mkdir", "symlink", "link", "rename"})

SAME_ATTEMPT_SECONDS = 0.1
"""Marking requests this close together are one attempt (unless the backoff is shorter; see
``grouping_horizon``)."""


@dataclass(frozen=True)
class Refusal:
    """One request the filesystem refused, stamped when the filesystem received it."""

    time: float
    op: str
    name: str
    pid: int
    errno: str

    @property
    def marks_attempt(self) -> bool:
        return self.op in MARKS_ATTEMPT

    def describe(self) -> str:
        target = f" {self.name}" if self.name else ""
        return f"{self.errno} on {self.op}{target} (thread {self.pid})"


def read_log(path: Path) -> list[Refusal]:
    """The refusals a filesystem logged, one JSON object a line; a line cut short by a kill is skipped."""
    refusals = []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        try:
            data = json.loads(line)
            refusals.append(
                Refusal(
                    float(data["time"]), str(data["op"]), str(data["name"]), int(data["pid"]), data["errno"]
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return refusals


def grouping_horizon(shortest_backoff: float) -> float:
    """``within`` for a retry policy: never more than a quarter of its shortest backoff."""
    return min(SAME_ATTEMPT_SECONDS, shortest_backoff / 4)


def attempts(refusals: list[Refusal], within: float = SAME_ATTEMPT_SECONDS) -> list[list[Refusal]]:
    """The attempts among ``refusals``: each a list of its marking requests, the first stamping it."""
    grouped: list[list[Refusal]] = []
    for refusal in sorted((r for r in refusals if r.marks_attempt), key=lambda r: r.time):
        if grouped and refusal.time - grouped[-1][-1].time < within:
            grouped[-1].append(refusal)
        else:
            grouped.append([refusal])
    return grouped
