"""Names of the NotificationRequest API and the shape of its status."""

from __future__ import annotations

from typing import Any

GROUP = "notifications.conformance.dev"
VERSION = "v1alpha1"
PLURAL = "notificationrequests"

PENDING, RETRYING = "Pending", "Retrying"
SENT, PARTIALLY_SENT, FAILED = "Sent", "PartiallySent", "Failed"
TERMINAL_PHASES = frozenset({SENT, PARTIALLY_SENT, FAILED})

SUCCESS, FAILURE = "Success", "Failure"

Object = dict[str, Any]


def key_of(obj: Object) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}"
