"""The observers of one scenario's channels, one per channel type: a new channel type
is a new observer here, and the run does not change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from conformance.observers.console import ConsoleLog, ConsoleObserver
from conformance.observers.file_channels import FileChannels
from conformance.observers.observer import Observer
from conformance.observers.readonly import ControllerUser
from conformance.observers.sink.observer import SinkObserver
from conformance.observers.sink.recording import SinkClient
from conformance.scenarios.model import RetryPolicy


@dataclass(frozen=True)
class Scope:
    """Where one scenario runs, and the run's shared parts its observers use."""

    namespace: str
    workdir: Path
    """The scenario's own folder; file channels get directories below it."""
    sink: SinkClient
    console: ConsoleLog | None
    """The controller's stdout, when the suite launched the controller."""
    user: ControllerUser | None
    """The unprivileged user the controller runs as, if any."""
    subject: str = ""
    body: str = ""
    """The notification's subject and body, which its console delivery lines hold."""
    tokens: Mapping[str, str] = field(default_factory=dict)
    """Webhook channel -> the bearer token its requests must carry (its Secret's value)."""
    policy: RetryPolicy | None = None
    """The scenario's retry policy: how close together its attempts may come."""


def channel_observers(scope: Scope) -> list[Observer]:
    return [
        SinkObserver(scope.sink, scope.namespace, scope.tokens),
        FileChannels(scope.workdir, scope.user, scope.policy),
        ConsoleObserver(scope.console, scope.subject, scope.body),
    ]
