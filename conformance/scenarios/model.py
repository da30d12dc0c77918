"""Scenarios are data: a scenario says which channels a notification has, how each
behaves (a file directory that is writable or not, the answers a webhook gets from
the sink) and the retry policy. What the controller must then do is derived by the
oracle (``conformance.scenarios.oracle``); files are read by ``conformance.scenarios.load``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.contract import durations

CHANNEL_TYPES = ("console", "file", "webhook")
PHASES = ("Sent", "PartiallySent", "Failed")
FILE_ERRORS = ("EROFS", "EACCES")
"""What an unwritable file channel's directory answers: a read-only file system (the default,
as a pod's ``readOnly: true`` volume), or permission denied."""
FLAGS = ("slow", "disruptive", "serial", "provisional")
SECRET_PRESENT, SECRET_MISSING, SECRET_MISSING_KEY = "present", "missing", "missing-key"
SECRETS = (SECRET_PRESENT, SECRET_MISSING, SECRET_MISSING_KEY)
"""What the suite creates for a webhook's ``secretRef``: the Secret with its key, nothing, or
the Secret without the key."""


class ScenarioError(ValueError):
    """A scenario file is invalid; the message names the file and the scenario."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    initial_backoff: float
    multiplier: float
    max_backoff: float
    jitter: float
    written: dict[str, Any] = field(compare=False, hash=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetryPolicy:
        return cls(
            max_attempts=int(data["maxAttempts"]),
            initial_backoff=durations.parse(data["initialBackoff"]),
            multiplier=float(data.get("backoffMultiplier", 2)),
            max_backoff=durations.parse(data["maxBackoff"]),
            jitter=int(data.get("jitterPercent", 0)) / 100,
            written=dict(data),
        )


DELAY_SECONDS, HTTP_DATE = "delay-seconds", "http-date"
RETRY_AFTER_FORMS = (DELAY_SECONDS, HTTP_DATE)
"""The two forms of a Retry-After header (RFC 9110, section 10.2.3)."""


@dataclass(frozen=True)
class SinkStep:
    """An answer the sink gives a webhook, ``times`` times (forever when None)."""

    status: int = 200
    times: int | None = None
    retry_after: str | None = None
    """Seconds the answer asks the controller to wait, as a Retry-After header."""
    retry_after_as: str = DELAY_SECONDS
    """The header's form (one of RETRY_AFTER_FORMS): the seconds, or the HTTP-date that many
    seconds (rounded up to a whole second) after the answer."""
    delay: float = 0.0
    hang_up: bool = False
    """Read the request and close the connection without answering: a connection error."""

    def as_sink_script(self) -> dict[str, Any]:
        step: dict[str, Any] = {"status": self.status, "delaySeconds": self.delay}
        if self.times is not None:
            step["times"] = self.times
        if self.hang_up:
            step["hangUp"] = True
        if self.retry_after is not None:
            step["retryAfter"] = self.retry_after
            step["retryAfterAs"] = self.retry_after_as
        return step


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    type: str
    writable: bool = True
    error: str = FILE_ERRORS[0]
    """For an unwritable file channel: the errno its directory answers (``FILE_ERRORS``)."""
    responses: tuple[SinkStep, ...] = (SinkStep(),)
    timeout: float = 5.0
    secret: str | None = None
    """A webhook with a ``secretRef``: whether its Secret and key exist (one of SECRETS)."""


@dataclass(frozen=True)
class Actions:
    """What the suite does to the object while the controller works on it."""

    touch_every: float | None = None
    """Change an annotation this often until the end: every change is a spurious reconcile."""
    delete_after: tuple[str, int] | None = None
    """Delete the object once status records this (channel, attempt)."""
    restart_after: tuple[str, int] | None = None
    """Restart (kill and start) the controller once status records this (channel, attempt)."""
    restart_delay: float = 0.0
    """Seconds to wait after that write before restarting: later in the backoff window."""
    companions: int = 0
    """Create this many other notifications (one healthy webhook each) right after this one."""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    channels: tuple[ChannelSpec, ...]
    retry_policy: RetryPolicy
    expected_phase: str | None
    """None when the scenario deletes the object before it can finish."""
    features: tuple[str, ...]
    source: str
    requirements: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    actions: Actions = Actions()
    time_factor: int = 1
    """How many times the scenario as written its time base is (see conformance.scenarios.fitting)."""

    def channel(self, name: str) -> ChannelSpec:
        return next(c for c in self.channels if c.name == name)
