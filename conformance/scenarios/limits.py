"""What a binding's API can express, as its ``limits:`` section declares it: how
durations are written and how fine they are, the bounds of each retry-policy field,
which channel types exist and how attempt records name a channel. The suite fits
every scenario into these limits (``conformance.scenarios.fitting``) or says in one
line why it cannot; ``docs/bindings.md`` describes the section."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from conformance.contract import durations
from conformance.scenarios.model import CHANNEL_TYPES

DURATION_UNITS = {"go": 1e-6, "seconds": 1.0, "milliseconds": 1e-3}
"""How durations are written, and the finest step each writing has."""
IDENTITIES = ("name", "type")
DURATION_FIELDS = ("initialBackoff", "maxBackoff")
NUMBER_FIELDS = ("maxAttempts", "backoffMultiplier", "jitterPercent")
_BOUND_KEYS = {"min", "max", "integer"}


@dataclass(frozen=True)
class Bound:
    """An inclusive range; an omitted end is unbounded."""

    low: float | None = None
    high: float | None = None
    integer: bool = False

    def admits(self, value: float) -> bool:
        if self.integer and value != int(value):
            return False
        return (self.low is None or value >= self.low - 1e-9) and (
            self.high is None or value <= self.high + 1e-9
        )

    def declared(self) -> dict[str, Any]:
        """The bound as the binding wrote it, for the report."""
        ends = {"min": self.low, "max": self.high}
        return {key: value for key, value in ends.items() if value is not None} | (
            {"integer": True} if self.integer else {}
        )

    def describe(self, unit: str = "") -> str:
        """``at least 60s and at most 1h``, for a sentence."""
        parts = []
        if self.low is not None:
            parts.append(f"at least {_show(self.low, unit)}")
        if self.high is not None:
            parts.append(f"at most {_show(self.high, unit)}")
        if self.integer:
            parts.append("a whole number")
        return " and ".join(parts) or "any value"


def _show(value: float, unit: str) -> str:
    return durations.text(value) if unit == "s" else f"{value:g}"


@dataclass(frozen=True)
class Limits:
    durations: str = "go"
    granularity: float = DURATION_UNITS["go"]
    """The finest step a duration field takes, in seconds."""
    retry: dict[str, Bound] = field(default_factory=dict)
    """Bounds of retry-policy fields, by the scenario's field name."""
    webhook_timeout: Bound = Bound()
    channel_types: dict[str, str] = field(default_factory=lambda: {t: t for t in CHANNEL_TYPES})
    """The suite's channel types the API has -> how attempt records spell them (by-type identity)."""
    channel_identity: str = "name"

    def bound(self, name: str) -> Bound:
        return self.retry.get(name, Bound())

    def on_grid(self, seconds: float) -> bool:
        """Whether a duration is a whole number of the API's steps."""
        steps = seconds / self.granularity
        return math.isclose(steps, round(steps), abs_tol=1e-6)

    def declarations(self) -> dict[str, Any]:
        """The limits as the report records them."""
        return {
            "durations": self.durations,
            "granularitySeconds": self.granularity,
            "retryPolicy": {name: bound.declared() for name, bound in self.retry.items()},
            "webhookTimeout": self.webhook_timeout.declared(),
            "channelTypes": self.channel_types,
            "channelIdentity": self.channel_identity,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Limits:
        """Parse ``limits:``; a ValueError says in one clause what is wrong and where."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValueError("limits must be a mapping of fields such as durations and retryPolicy")
        known = {
            "durations",
            "granularity",
            "retryPolicy",
            "webhookTimeout",
            "channelTypes",
            "channelIdentity",
        }
        _refuse_unknown(data, known, "limits")
        writing = str(data.get("durations", "go"))
        if writing not in DURATION_UNITS:
            raise ValueError(f"limits.durations is {writing!r}; use one of {', '.join(DURATION_UNITS)}")
        unit = DURATION_UNITS[writing]
        granularity = unit
        if "granularity" in data:
            granularity = _duration(data["granularity"], "limits.granularity")
            steps = granularity / unit
            if granularity <= 0 or not math.isclose(steps, round(steps), abs_tol=1e-6):
                raise ValueError(
                    f"limits.granularity {data['granularity']!r} must be a positive whole number of "
                    f"{writing if writing != 'go' else 'microseconds'}"
                )
        policy = data.get("retryPolicy") or {}
        if not isinstance(policy, dict):
            raise ValueError("limits.retryPolicy must map retry-policy fields to {min, max} bounds")
        _refuse_unknown(policy, set(DURATION_FIELDS + NUMBER_FIELDS), "limits.retryPolicy")
        retry = {
            name: _bound(
                value,
                f"limits.retryPolicy.{name}",
                duration=name in DURATION_FIELDS,
                integer_allowed=name == "backoffMultiplier",
            )
            for name, value in policy.items()
        }
        timeout = _bound(data.get("webhookTimeout") or {}, "limits.webhookTimeout", duration=True)
        identity = str(data.get("channelIdentity", "name"))
        if identity not in IDENTITIES:
            raise ValueError(f"limits.channelIdentity is {identity!r}; use name or type")
        return cls(
            durations=writing,
            granularity=granularity,
            retry=retry,
            webhook_timeout=timeout,
            channel_types=_channel_types(data.get("channelTypes", list(CHANNEL_TYPES))),
            channel_identity=identity,
        )


def _refuse_unknown(data: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(map(str, data)) - known)
    if unknown:
        raise ValueError(
            f"{where} has the unknown field {unknown[0]!r}; use some of {', '.join(sorted(known))}"
        )


def _duration(value: Any, where: str) -> float:
    try:
        return durations.parse(value)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def _bound(data: Any, where: str, *, duration: bool, integer_allowed: bool = False) -> Bound:
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a mapping such as {{min: ..., max: ...}}")
    _refuse_unknown(data, _BOUND_KEYS if integer_allowed else _BOUND_KEYS - {"integer"}, where)
    ends: dict[str, float | None] = {}
    for end in ("min", "max"):
        value = data.get(end)
        if value is None:
            ends[end] = None
        elif duration:
            ends[end] = _duration(value, f"{where}.{end}")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}.{end} is {value!r}, not a number")
        else:
            ends[end] = float(value)
    low, high = ends["min"], ends["max"]
    if low is not None and high is not None and low > high:
        raise ValueError(f"{where} has min {data['min']!r} above max {data['max']!r}")
    integer = data.get("integer", False)
    if not isinstance(integer, bool):
        raise ValueError(f"{where}.integer is {integer!r}; use true or false")
    return Bound(low, high, integer)


def _channel_types(data: Any) -> dict[str, str]:
    """A list of the suite's types, or a mapping from each to the API's spelling of it."""
    if isinstance(data, list):
        data = {str(t): str(t) for t in data}
    if not isinstance(data, dict) or not data:
        raise ValueError("limits.channelTypes must list some of console, file, webhook")
    for kind in data:
        if kind not in CHANNEL_TYPES:
            raise ValueError(f"limits.channelTypes names {kind!r}; use some of {', '.join(CHANNEL_TYPES)}")
    return {str(k): str(v) for k, v in data.items()}
