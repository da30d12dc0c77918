"""One sentence for an object the API server would not take: its first distinct
problem (the field, the value the template rendered, the server's reason) and how
many more there are, never the exception, its headers or its body."""

from __future__ import annotations

import json
import re
from typing import Any

from kubernetes.client.exceptions import ApiException

from conformance.binding.binding import Binding, BindingError


class RefusedScenario(BindingError):
    """The API server refused a scenario the binding's limits declared expressible."""


_INDEX = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _rendered(manifest: dict[str, Any], path: str) -> Any:
    """The value at a field path such as ``spec.channels[0].type``, or None."""
    value: Any = manifest
    for name, index in _INDEX.findall(path):
        if name and isinstance(value, dict):
            value = value.get(name)
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return None
    return value


def problems(err: ApiException, manifest: dict[str, Any] | None = None) -> list[str]:
    """The server's distinct problems, each ``field: reason``, in its order."""
    try:
        body = json.loads(err.body or "")
    except (TypeError, ValueError):
        body = None
    if not isinstance(body, dict):
        return [f"HTTP {err.status} {err.reason}"]
    found: list[str] = []
    for cause in (body.get("details") or {}).get("causes") or []:
        message = str(cause.get("message", "")).strip().rstrip(".")
        where = str(cause.get("field") or "")
        value = _rendered(manifest, where) if manifest is not None and where else None
        if value is not None and "value:" not in message.lower():
            message = f"rendered as {json.dumps(value)}: {message}"
        text = f"{where}: {message}" if where else message
        if text and text not in found:
            found.append(text)
    return found or [str(body.get("message") or f"HTTP {err.status} {err.reason}").rstrip(".")]


def reason(err: ApiException, manifest: dict[str, Any] | None = None) -> str:
    """The first problem, and how many more: ``... (and 2 more problems)``."""
    found = problems(err, manifest)
    more = len(found) - 1
    return found[0] + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def refusal(binding: Binding, err: ApiException, manifest: dict[str, Any] | None = None) -> str:
    """The sample notification, rendered from the binding's declarations, was refused."""
    return (
        f"Binding {binding.name}'s template {binding.template.name} renders a {binding.kind} "
        f"that the API server refuses: {reason(err, manifest)}."
    )


def scenario_refusal(binding: Binding, scenario: str, err: ApiException, manifest: dict[str, Any]) -> str:
    """A scenario the binding's limits declared expressible was refused: the binding's error."""
    return (
        f"Binding {binding.name}'s limits declare scenario {scenario!r} expressible, but the API server "
        f"refuses the {binding.kind} its template renders for it: {reason(err, manifest)}."
    )
