"""Durations as people write them ("90s", "250ms", "1m30s"), parsed by the suite itself."""

from __future__ import annotations

import re

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_TOKEN = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)")


def parse(text: str | float | int) -> float:
    """Seconds in ``text``; bare numbers are refused so that units are never guessed."""
    if isinstance(text, int | float):
        raise ValueError(f"duration {text!r} needs a unit, for example '{text}s'")
    text = text.strip()
    tokens = _TOKEN.findall(text)
    if not tokens or "".join(number + unit for number, unit in tokens) != text:
        raise ValueError(f"{text!r} is not a duration such as '500ms', '2s' or '1m30s'")
    return sum(float(number) * _UNITS[unit] for number, unit in tokens)
