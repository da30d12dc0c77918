"""The Secrets a scenario's webhooks name (``secretRef``), made by the suite as the scenario
asks, and where their tokens show up afterwards (they must show nowhere: NR-SECRET-HIDDEN)."""

from __future__ import annotations

import contextlib
import json
import secrets
from typing import Any

from kubernetes.client.exceptions import ApiException

from conformance.kube import CoreApi
from conformance.scenarios.model import SECRET_MISSING, SECRET_PRESENT, ChannelSpec

KEY = "token"


class Credentials:
    def __init__(self, core: CoreApi, namespace: str) -> None:
        self._core = core
        self._namespace = namespace
        self.tokens: dict[str, str] = {}
        """Channel -> the token made for it (also when its Secret lacks it or does not exist)."""
        self.expected: dict[str, str] = {}
        """Channel -> the token its requests must carry: those whose Secret holds it."""

    def provide(self, channel: ChannelSpec) -> dict[str, Any]:
        """Make the Secret a webhook's secretRef names (as the scenario wants it); the template
        values for the channel."""
        if channel.secret is None:
            return {}
        name = f"{channel.name}-token"
        token = self.tokens[channel.name] = secrets.token_urlsafe(24)
        if channel.secret != SECRET_MISSING:
            key = KEY if channel.secret == SECRET_PRESENT else "unrelated"
            self._core.create_secret(self._namespace, name, {key: token})
        if channel.secret == SECRET_PRESENT:
            self.expected[channel.name] = token
        return {"secretRef": {"name": name, "key": KEY}}

    def leaks(self, obj: dict[str, Any] | None, output: list[str]) -> dict[str, tuple[str, ...]]:
        """Channel -> where its token shows: the object's status, the namespace's Events, the
        controller's ``output`` lines."""
        if not self.tokens:
            return {}
        places = {"status": json.dumps((obj or {}).get("status") or {})}
        with contextlib.suppress(ApiException):
            events = self._core.events(self._namespace)
            places["Events"] = "\n".join(f"{e.get('reason')} {e.get('message')}" for e in events)
        places["the controller's output"] = "\n".join(output)
        found = {
            channel: tuple(place for place, text in places.items() if token in text)
            for channel, token in self.tokens.items()
        }
        return {channel: where for channel, where in found.items() if where}
