"""The API server's refusal of a rendered object, as one sentence that names the binding."""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException

from conformance.binding.binding import Binding


def refusal(binding: Binding, err: ApiException) -> str:
    """One sentence for an object the API server would not take: its first problem, and how many more."""
    try:
        body = json.loads(err.body or "")
        causes = (body.get("details") or {}).get("causes") or []
        first = causes[0] if causes else {}
        reason = f"{first['field']}: {first['message']}" if "field" in first else str(body["message"])
        if len(causes) > 1:
            reason += f" (and {len(causes) - 1} more problems)"
    except (TypeError, ValueError, KeyError):
        reason = f"HTTP {err.status} {err.reason}"
    return (
        f"Binding {binding.name}'s template {binding.template.name} renders a {binding.kind} "
        f"that the API server refuses: {reason.rstrip('.')}."
    )
