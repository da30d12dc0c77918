"""The requirements the suite checks, each with a stable ID that failures name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    text: str
    feature: str = "core"


REQUIREMENTS = {
    r.id: r
    for r in [
        Requirement(
            "NR-ATTEMPT-COUNT",
            "MUST",
            "A channel is attempted until it succeeds, fails permanently, or has used maxAttempts attempts; "
            "no fewer and no more.",
        ),
        Requirement(
            "NR-ATTEMPT-ORDER",
            "MUST",
            "Attempts of a channel are numbered 1..n in status, with strictly increasing timestamps, "
            "and their outcomes match what the channel answered.",
        ),
        Requirement(
            "NR-NO-REDELIVERY",
            "MUST",
            "A channel that has succeeded is never attempted again.",
        ),
        Requirement(
            "NR-BACKOFF-LOWER",
            "MUST",
            "The gap before attempt k+1 of a channel is at least "
            "min(initialBackoff * backoffMultiplier^(k-1), maxBackoff) less the declared jitter.",
        ),
        Requirement(
            "NR-BACKOFF-UPPER",
            "SHOULD",
            "The gap before attempt k+1 exceeds its nominal value plus jitter by no more than the "
            "latency allowance.",
        ),
        Requirement(
            "NR-PHASE-TERMINAL",
            "MUST",
            "The notification reaches Sent when every channel succeeded, PartiallySent when some did, "
            "and Failed when none did.",
        ),
        Requirement(
            "NR-QUIET-AFTER-TERMINAL",
            "MUST",
            "No channel is attempted after the notification reached a terminal phase.",
        ),
        Requirement(
            "NR-STATUS-COUNTERS",
            "MUST",
            "status.totalAttempts equals the number of recorded attempts.",
        ),
        Requirement(
            "NR-STATUS-TRUTHFUL",
            "MUST",
            "The attempts recorded in status agree with the deliveries observed outside the controller "
            "in count, order and time.",
        ),
        Requirement(
            "NR-TIMESTAMP-PRECISION",
            "MUST",
            "Attempt timestamps carry sub-second precision, or the binding declares the coarser "
            "precision it has.",
        ),
        Requirement(
            "NR-BATCHED-WRITES",
            "MUST",
            "All attempts of one delivery round are recorded in a single status write.",
            feature="batched-status",
        ),
    ]
}
