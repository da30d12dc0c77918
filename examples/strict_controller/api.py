"""Names and spellings of the Broadcast API, and its millisecond timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

GROUP, VERSION, PLURAL = "broadcast.example.org", "v1", "broadcasts"

CONSOLE, FILE = "console", "file"

PENDING, DELIVERING, WAITING = "Pending", "Delivering", "Waiting"
"""Nothing attempted; retrying with no target delivered yet; retrying with some target delivered."""
DELIVERED, PARTIAL, FAILED = "Delivered", "Partial", "Failed"
PROGRESSING = frozenset({PENDING, DELIVERING, WAITING})
TERMINAL = frozenset({DELIVERED, PARTIAL, FAILED})

SUCCEEDED = "Succeeded"
"""An attempt's outcome when it delivered; ``FAILED`` when it did not."""

PRECISION = 0.001
"""Status times are truncated to the millisecond, so one may hide up to this much."""

MAX_ERROR = 1024
"""The CRD's maxLength for an attempt's error."""

Broadcast = dict[str, Any]


def key_of(broadcast: Broadcast) -> str:
    meta = broadcast["metadata"]
    return f"{meta['namespace']}/{meta['name']}"


def timestamp(moment: float) -> str:
    """RFC 3339 in UTC, truncated to the millisecond: ``2026-01-01T00:00:00.123Z``."""
    stamp = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
