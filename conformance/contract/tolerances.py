"""How much measurement error and latency the suite forgives, and nothing more."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerances:
    epsilon: float = 0.05
    """Measurement error forgiven below a gap's lower bound (tens of milliseconds)."""
    slack: float = 0.75
    """Latency forgiven above a gap's upper bound."""
    agreement: float = 0.25
    """How far a status timestamp may lie from the same attempt observed outside."""
    quiet_max: float = 3.0
    """Longest window in which nothing may happen after the terminal phase."""
