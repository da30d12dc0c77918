"""Rules on what webhook requests carry: idempotency keys and credentials, and that the
credential is kept secret."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.checks.judgement import Judgement
from conformance.checks.violations import Violation
from conformance.scenarios.model import SECRET_PRESENT


def idempotency(j: Judgement) -> Iterator[Violation]:
    keys: dict[str, str] = {}
    for channel in j.scenario.channels:
        if channel.type != "webhook" or channel.name not in j.observed.fully_observed:
            continue
        seen = [e.key for e in j.observed.external.get(channel.name, [])]
        if not seen:
            continue
        if any(not key for key in seen):
            yield Violation(
                "NR-IDEMPOTENCY-KEY",
                f"a request on channel {channel.name!r} had no Idempotency-Key",
                channel.name,
            )
        elif len(set(seen)) > 1:
            yield Violation(
                "NR-IDEMPOTENCY-KEY",
                f"channel {channel.name!r} used {len(set(seen))} idempotency keys across its attempts",
                channel.name,
            )
        else:
            keys[channel.name] = str(seen[0])
    if len(set(keys.values())) < len(keys):
        yield Violation("NR-IDEMPOTENCY-KEY", "two channels of one notification share an idempotency key")


def credentials(j: Judgement) -> Iterator[Violation]:
    """With its Secret present, every request carries it as a bearer token; without the Secret
    or its key, the attempt fails before anything is sent."""
    for channel in j.scenario.channels:
        if channel.secret is None:
            continue
        for number, event in enumerate(j.observed.external.get(channel.name, []), start=1):
            if channel.secret == SECRET_PRESENT and event.authorized is False:
                message = (
                    f"request {number} on channel {channel.name!r} did not carry the Secret's token as "
                    "'Authorization: Bearer <token>' (the sink answered 401)"
                )
            elif channel.secret != SECRET_PRESENT:
                message = (
                    f"channel {channel.name!r} was sent a request although its Secret "
                    f"{'does not exist' if channel.secret == 'missing' else 'lacks the key'}: "
                    "the attempt must fail without sending"
                )
            else:
                continue
            yield Violation("NR-CREDENTIALS", message, channel.name, number, j.after_creation(event.time))


def secret_hidden(j: Judgement) -> Iterator[Violation]:
    for channel, places in sorted(j.observed.secret_leaks.items()):
        yield Violation(
            "NR-SECRET-HIDDEN",
            f"the token of channel {channel!r}'s Secret appears in {', '.join(places)}",
            channel,
        )
