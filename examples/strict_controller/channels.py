"""Delivering a Broadcast to one target: a line on stdout, or a file in a directory.

Every failure is retryable: the console cannot refuse, and a file-system error
(a read-only directory, permission denied, a name taken by a directory) is
something an operator can fix while the retry policy bounds the cost.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
import threading
from typing import Any

from examples.strict_controller import api

STDOUT = threading.RLock()
"""Held for every line written to stdout, log lines included, so that lines never interleave."""

_temporaries = itertools.count(1)


class DeliveryError(Exception):
    """The attempt failed; the message goes into the attempt's ``error``."""


def message(broadcast: api.Broadcast, target: str, number: int) -> dict[str, Any]:
    spec = broadcast["spec"]
    return {
        "broadcast": api.key_of(broadcast),
        "target": target,
        "attempt": number,
        "subject": spec["subject"],
        "body": spec.get("body", ""),
    }


def file_name(broadcast: api.Broadcast, number: int) -> str:
    """One final file per attempt: ``<namespace>.<name>.<attempt>.json``."""
    meta = broadcast["metadata"]
    return f"{meta['namespace']}.{meta['name']}.{number}.json"


def temporary_name(final: str, pid: int, sequence: int) -> str:
    """Visible beside the final file until it is renamed: ``<final>.<pid>.<n>.tmp``."""
    return f"{final}.{pid}.{sequence}.tmp"


def deliver(broadcast: api.Broadcast, target: dict[str, Any], number: int) -> None:
    """Raise DeliveryError when the attempt fails."""
    payload = json.dumps(message(broadcast, target["type"], number))
    if target["type"] == api.CONSOLE:
        try:
            with STDOUT:
                sys.stdout.write(payload + "\n")
                sys.stdout.flush()
        except OSError as err:
            raise DeliveryError(f"cannot write to stdout: {err.strerror or err}") from err
    elif target["type"] == api.FILE:
        write_atomically(target["directory"], file_name(broadcast, number), payload)
    else:
        raise DeliveryError(f"the target type {target['type']!r} is not supported")


def write_atomically(directory: str, final: str, text: str) -> None:
    """Write a temporary file in ``directory``, fsync it, then rename it to ``final``."""
    temporary = os.path.join(directory, temporary_name(final, os.getpid(), next(_temporaries)))
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as err:
        raise DeliveryError(f"cannot create a file in {directory}: {err.strerror or err}") from err
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temporary, os.path.join(directory, final))
    except OSError as err:
        with contextlib.suppress(OSError):  # already gone: nothing is left behind
            os.unlink(temporary)
        raise DeliveryError(f"cannot write {final} in {directory}: {err.strerror or err}") from err
