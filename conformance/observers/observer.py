"""The one interface every observer implements, so the run drives them all alike.

An observer sees part of a scenario for itself, without trusting the controller: the
status watch every version of the object, the recording sink every request to a webhook
channel, the file observer every file written into a file channel's directory, the
console observer every console delivery line of the scenario's notification on the
controller's stdout (one that holds its subject and body).

The run (``conformance.run.runner``) offers each of the scenario's channels to every
observer (``provision``) before it creates the object, starts them, lets the object
settle, stops them, and hands what they saw to the checks; ``covers`` tells the checks
what the absence of an event means. Adding a channel type means adding an observer for
it to ``conformance.observers.channels``, not changing the run.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

from conformance.observers.observation import ExternalEvent, StatusWrite
from conformance.scenarios.model import ChannelSpec


class Coverage(enum.Enum):
    """How much of one channel's attempts an observer sees."""

    EVERY_ATTEMPT = "every attempt"
    """Failed attempts too: every request to a webhook reaches the sink."""
    WRITE_ATTEMPTS = "every attempt that tries to write"
    """A failing file channel behind the refusing filesystem: every attempt that reaches the
    directory. One that a controller records after a mere probe (access, stat) never does, so
    the channel counts as fully observed only when the filesystem saw no fewer attempts than
    status records; otherwise it is judged from status."""
    SUCCESSES = "successful deliveries"
    """Only what a delivery leaves behind: a file written, a console line printed."""


@dataclass(frozen=True)
class Seen:
    """What one observer saw during a scenario."""

    events: tuple[ExternalEvent, ...] = ()
    """Deliveries seen outside the controller, in the order they happened on each channel."""
    writes: tuple[StatusWrite, ...] = ()
    """Versions of the object, as the API server's watch delivered them."""
    mechanisms: dict[str, str] = field(default_factory=dict)
    """Channel -> how the observer made it fail as the scenario asks (e.g. a read-only mount)."""


class Observer(Protocol):
    """Provisions what a channel needs, starts, stops with what it saw, and says what it covers."""

    def provision(self, channel: ChannelSpec) -> dict[str, Any]:
        """Make what ``channel`` needs, if this observer sees channels of its type; the values
        the binding's template gets for the channel (none for other types)."""
        ...

    def start(self) -> None:
        """Begin watching; returns once nothing the controller does next can be missed."""
        ...

    def stop(self) -> Seen:
        """Stop watching and hand back what was seen; a second call hands back the same."""
        ...

    def covers(self) -> dict[str, Coverage]:
        """The channels this observer sees from outside the controller, and how much of each."""
        ...

    def diagnostics(self) -> dict[str, str]:
        """What helps a reader understand a failed scenario: title -> text."""
        ...

    def release(self, keep: bool) -> None:
        """Undo what ``provision`` made; with ``keep``, leave what a failed scenario is kept with."""
        ...
