"""The requirements of the specification (docs/specification.md), each with a stable
ID that failures name, the level (RFC 2119) and the feature it belongs to."""

from __future__ import annotations

from dataclasses import dataclass

FEATURES = {
    "core": "what every notification controller must do",
    "batched-status": "one status write per delivery round",
    "retry-after": "honours Retry-After on 429 and 503 answers",
    "permanent-failures": "does not retry answers that cannot succeed (4xx other than 408 and 429)",
    "idempotency-key": "webhook requests carry an idempotency key, the same for every attempt of a channel",
    "credentials": "webhooks send the token of a Secret (secretRef) as a bearer token, and keep it secret",
}


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    text: str
    feature: str = "core"
    scenario_level: bool = False
    """Proved by what an action of the suite (touching, restarting) causes: the violations it
    caused name it too (conformance/checks/blame.py)."""


REQUIREMENTS = {
    r.id: r
    for r in [
        Requirement(
            "NR-ATTEMPT-COUNT",
            "MUST",
            "A channel is attempted until it succeeds, fails permanently, or has used maxAttempts "
            "attempts; no fewer and no more.",
        ),
        Requirement(
            "NR-ATTEMPT-ORDER",
            "MUST",
            "Attempts of a channel are numbered 1..n in status, with strictly increasing timestamps, "
            "and their outcomes match what the channel answered.",
        ),
        Requirement("NR-NO-REDELIVERY", "MUST", "A channel that has succeeded is never attempted again."),
        Requirement(
            "NR-BACKOFF-LOWER",
            "MUST",
            "The gap between the starts of attempts k and k+1 of a channel is at least "
            "min(initialBackoff * backoffMultiplier^(k-1), maxBackoff) * (1 - jitter).",
        ),
        Requirement(
            "NR-BACKOFF-UPPER",
            "SHOULD",
            "The same gap exceeds its nominal value * (1 + jitter), plus the time attempt k itself took, "
            "by no more than the latency allowance.",
        ),
        Requirement("NR-BACKOFF-CAP", "MUST", "No gap grows beyond maxBackoff * (1 + jitter)."),
        Requirement(
            "NR-NO-OVERLAP",
            "MUST",
            "An attempt on a channel starts only after the previous attempt on that channel ended "
            "(answered or timed out).",
        ),
        Requirement(
            "NR-PHASE-TERMINAL",
            "MUST",
            "The notification reaches Sent when every channel succeeded, PartiallySent when some did, "
            "and Failed when none did.",
        ),
        Requirement(
            "NR-PHASE-TIMELY",
            "MUST",
            "Once no channel is owed another attempt, the terminal phase is written in the status write "
            "that records the last attempt, or within the latency allowance after it.",
        ),
        Requirement(
            "NR-QUIET-AFTER-TERMINAL",
            "MUST",
            "No channel is attempted after the notification reached a terminal phase.",
        ),
        Requirement(
            "NR-QUIET-AFTER-DELETE", "MUST", "No channel is attempted after the notification was deleted."
        ),
        Requirement(
            "NR-STATUS-COUNTERS", "MUST", "status.totalAttempts equals the number of recorded attempts."
        ),
        Requirement(
            "NR-STATUS-CONDITIONS",
            "MUST",
            "In a terminal phase the Ready condition is True exactly when the phase is Sent, and "
            "observedGeneration equals metadata.generation.",
        ),
        Requirement(
            "NR-COMPLETION-TIME",
            "MUST",
            "A terminal notification records completionTime, no earlier than its last attempt.",
        ),
        Requirement(
            "NR-STATUS-TRUTHFUL",
            "MUST",
            "The attempts recorded in status agree with the deliveries observed outside the controller "
            "in count, order, outcome and time.",
        ),
        Requirement(
            "NR-TIMESTAMP-PRECISION",
            "MUST",
            "Attempt timestamps carry sub-second precision, or the binding declares the coarser "
            "precision it has.",
        ),
        Requirement(
            "NR-SPURIOUS-RECONCILE",
            "MUST",
            "Changes to the object that do not touch its spec (labels, annotations) during a backoff "
            "window change nothing: no early attempt, no extra attempt.",
            scenario_level=True,
        ),
        Requirement(
            "NR-ISOLATION",
            "MUST",
            "A slow or hanging channel of one notification does not delay other notifications: their "
            "first attempts still come within the latency allowance of their creation.",
        ),
        Requirement(
            "NR-RESTART-SAFE",
            "MUST",
            "A controller restarted during a backoff window makes its next attempt neither early nor "
            "late, and delivers no succeeded channel again.",
            scenario_level=True,
        ),
        Requirement(
            "NR-BATCHED-WRITES",
            "MUST",
            "All attempts of one delivery round (judged on the first, where every channel is due) are "
            "recorded in a single status write.",
            feature="batched-status",
        ),
        Requirement(
            "NR-RETRY-AFTER",
            "MUST",
            "After a 429 or 503 answer with Retry-After, the next attempt on that channel waits at least "
            "that long, even when the backoff is shorter.",
            feature="retry-after",
        ),
        Requirement(
            "NR-PERMANENT-FAILURE",
            "MUST",
            "A webhook answer of 4xx other than 408 and 429 fails the channel at once, without retries.",
            feature="permanent-failures",
        ),
        Requirement(
            "NR-IDEMPOTENCY-KEY",
            "MUST",
            "Every webhook request carries an Idempotency-Key header, the same for every attempt of one "
            "channel and different between channels.",
            feature="idempotency-key",
        ),
        Requirement(
            "NR-CREDENTIALS",
            "MUST",
            "A webhook with a secretRef sends the named key of the named Secret as 'Authorization: Bearer' "
            "at every attempt; without the Secret or its key the attempt fails, retryably, sending nothing.",
            feature="credentials",
        ),
        Requirement(
            "NR-SECRET-HIDDEN",
            "MUST",
            "The token of a webhook's Secret appears in no status, Event or line of the controller's output.",
            feature="credentials",
        ),
    ]
}
