"""What the suite saw during one scenario, gathered from the API server's watch,
the sink, the controller's console output and the file system."""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.binding.binding import ObservedAttempt

SINK, CONSOLE, FILE, STATUS = "sink", "console", "file", "status"
FUSE = "fuse"
"""A failing file channel's attempt, refused and stamped by the suite's filesystem."""


@dataclass(frozen=True)
class StatusWrite:
    """One version of the object as the watch delivered it."""

    received: float
    resource_version: str
    phase: str | None
    attempts: frozenset[tuple[str, int]]


@dataclass(frozen=True)
class ExternalEvent:
    """A delivery seen outside the controller (a sink request, a console line, a file, a refused write)."""

    channel: str
    time: float
    source: str
    succeeded: bool
    detail: str = ""
    key: str | None = None
    """The idempotency key the request carried (webhooks)."""
    ended: float | None = None
    """When the request ended: the sink answered, or the controller closed the connection (webhooks)."""
    authorized: bool | None = None
    """Whether the request carried the token of the channel's Secret, when it has one (webhooks)."""


@dataclass
class Observed:
    created: float
    attempts: list[ObservedAttempt] = field(default_factory=list)
    total_attempts: int | None = None
    writes: list[StatusWrite] = field(default_factory=list)
    external: dict[str, list[ExternalEvent]] = field(default_factory=dict)
    fully_observed: set[str] = field(default_factory=set)
    """Channels whose every attempt, failed or not, is seen outside (webhooks)."""
    success_observed: set[str] = field(default_factory=set)
    """Channels whose successful deliveries are seen outside (console, file)."""
    final_phase: str | None = None
    terminal_at: float | None = None
    generation: int | None = None
    observed_generation: int | None = None
    ready: str | None = None
    """The Ready condition's status in the last version seen, when the binding exposes it."""
    completion_time: float | None = None
    deleted_at: float | None = None
    touches: int = 0
    touched_at: float | None = None
    """When the suite first changed the object's annotations."""
    restarted_at: float | None = None
    resumed_at: float | None = None
    """When the restarted controller delivered the suite's probe notification: it worked again."""
    companion_latency: dict[str, float | None] = field(default_factory=dict)
    """Seconds from creating each companion notification to its first webhook request (None: never)."""
    exposed: set[str] = field(default_factory=set)
    """Optional status fields the binding maps (completionTime, conditions, ...)."""
    secret_leaks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Channel -> where the token of its Secret was found (status, Events, the controller's output)."""

    def first_write_with(self, key: tuple[str, int]) -> StatusWrite | None:
        return next((w for w in self.writes if key in w.attempts), None)
