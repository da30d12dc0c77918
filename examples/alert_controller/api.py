"""Names of the Alert API and its whole-second timestamps."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

GROUP, VERSION, PLURAL = "alerting.example.io", "v1beta1", "alerts"

BACKOFF, DELIVERED, DEGRADED, UNDELIVERABLE = "Backoff", "Delivered", "Degraded", "Undeliverable"
FINISHED = frozenset({DELIVERED, DEGRADED, UNDELIVERABLE})
OK, ERROR = "ok", "error"

Alert = dict[str, Any]


def key_of(alert: Alert) -> str:
    meta = alert["metadata"]
    return f"{meta['namespace']}/{meta['name']}"


def whole_seconds(moment: float) -> str:
    """The API stores times in whole seconds, truncated: ``2026-01-01T00:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
