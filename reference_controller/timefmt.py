"""Durations and timestamps as the API spells them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in a Go-style duration such as ``1m30s`` or ``500ms``."""
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r}")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def format_time(epoch: float) -> str:
    """RFC 3339 in UTC with microseconds: one-second precision is too coarse to judge backoff."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
