"""The limits of the work item's strict API, as a binding writes them: whole seconds, bounded fields,
an integer multiplier, console and file channels only, attempts named by type."""

from __future__ import annotations

from typing import Any

STRICT_RETRY: dict[str, Any] = {
    "maxAttempts": {"min": 1, "max": 20},
    "initialBackoff": {"min": "1s", "max": "1h"},
    "maxBackoff": {"min": "60s", "max": "1h"},
    "backoffMultiplier": {"min": 1, "max": 10, "integer": True},
}
STRICT: dict[str, Any] = {
    "durations": "seconds",
    "retryPolicy": STRICT_RETRY,
    "channelTypes": ["console", "file"],
    "channelIdentity": "type",
}
