"""Webhook channels, seen through the recording sink: each channel gets a sink path of
its own, scripted with the answers the scenario gives it, and every request to it,
failed or not, is an event."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from conformance.observers.observation import SINK, ExternalEvent
from conformance.observers.observer import Coverage, Seen
from conformance.observers.sink.recording import SinkClient
from conformance.scenarios import oracle
from conformance.scenarios.model import SECRET_PRESENT, ChannelSpec

TYPE = "webhook"


def sink_log(records: list[dict[str, Any]]) -> str:
    """The requests a sink path received, one line each, for a failed scenario's diagnostics."""
    return (
        "\n".join(
            f"{r['time']:.6f} {r['method']} -> {r['status']} "
            f"Idempotency-Key={r['headers'].get('Idempotency-Key', '-')}"
            for r in records
        )
        or "(no requests)"
    )


class SinkPaths:
    """A scenario's paths on the sink, one per name (a channel, a companion notification)."""

    def __init__(self, sink: SinkClient, namespace: str) -> None:
        self.sink = sink
        self._namespace = namespace
        self.names: list[str] = []

    def add(self, name: str) -> str:
        """The path for ``name``, kept for diagnostics and clean-up."""
        self.names.append(name)
        return self.path(name)

    def path(self, name: str) -> str:
        return f"{self._namespace}/{name}"

    def records(self, name: str) -> list[dict[str, Any]]:
        return self.sink.records(self.path(name))

    def diagnostics(self) -> dict[str, str]:
        return {f"sink log for {name}": sink_log(self.records(name)) for name in self.names}

    def release(self, keep: bool) -> None:
        """Forget the paths, unless a failed scenario is kept for inspection."""
        if keep:
            return
        for name in self.names:
            with contextlib.suppress(OSError):
                self.sink.forget(self.path(name))


class SinkObserver:
    """The ``Observer`` of a scenario's webhook channels."""

    def __init__(self, sink: SinkClient, namespace: str, tokens: Mapping[str, str]) -> None:
        """``tokens``: channel -> the bearer token its requests must carry, read at ``provision``."""
        self._paths = SinkPaths(sink, namespace)
        self._tokens = tokens
        self._channels: dict[str, ChannelSpec] = {}
        self._seen: Seen | None = None

    def provision(self, channel: ChannelSpec) -> dict[str, Any]:
        if channel.type != TYPE:
            return {}
        path = self._paths.add(channel.name)
        steps = [step.as_sink_script() for step in channel.responses]
        url = self._paths.sink.script(path, steps, self._tokens.get(channel.name))
        self._channels[channel.name] = channel
        return {"url": url, "timeout": f"{channel.timeout:g}s"}

    def start(self) -> None:
        """The sink records from the moment a path is scripted."""

    def stop(self) -> Seen:
        if self._seen is None:
            events: list[ExternalEvent] = []
            for name, channel in self._channels.items():
                for index, record in enumerate(self._paths.records(name), start=1):
                    delay = oracle.sink_step(channel, index).delay
                    succeeded = 200 <= record["status"] < 300 and delay < channel.timeout
                    detail = f"HTTP {record['status']}" + (f" after {delay:g}s" if delay else "")
                    if record.get("hungUp"):
                        detail = "closed the connection without an answer"
                    headers = {k.lower(): v for k, v in record["headers"].items()}
                    key = headers.get("idempotency-key")
                    events.append(
                        ExternalEvent(
                            name,
                            record["time"],
                            SINK,
                            succeeded,
                            detail,
                            key,
                            ended=record.get("ended"),
                            authorized=record.get("authorized"),
                        )
                    )
            self._seen = Seen(events=tuple(events))
        return self._seen

    def covers(self) -> dict[str, Coverage]:
        """Every attempt reaches the sink, except those of a webhook without its Secret, which
        must send nothing: what such a channel sends anyway is seen like a delivery."""
        return {
            name: Coverage.EVERY_ATTEMPT if channel.secret in (None, SECRET_PRESENT) else Coverage.SUCCESSES
            for name, channel in self._channels.items()
        }

    def diagnostics(self) -> dict[str, str]:
        return self._paths.diagnostics()

    def release(self, keep: bool) -> None:
        self._paths.release(keep)
