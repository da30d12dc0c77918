"""A scenario as an API with limits can run it, or the one line that says why it cannot.

Fitting never changes what is judged. It may (1) scale the scenario's whole time
base by one whole factor, every duration it holds and the oracle's windows with
them, and (2) render a cap the scenario never reaches at a value the API accepts,
which leaves every nominal gap as it was. Anything else that the API cannot
express makes the scenario not applicable. The rule is in docs/specification.md
(*Scenarios under an API's limits*).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from conformance.contract import durations
from conformance.contract.tolerances import Tolerances
from conformance.scenarios import oracle
from conformance.scenarios.limits import Bound, Limits
from conformance.scenarios.model import ChannelSpec, Scenario, SinkStep

LONGEST_SCALED_RUN = 600.0
"""A scaled scenario that would take longer than this (seconds) is not applicable."""
SLOW_RUN = 60.0
"""A scaled scenario that takes at least this long (seconds) is flagged slow."""
DEFAULT_TOLERANCES = Tolerances()


class NotApplicable(ValueError):
    """The scenario cannot be expressed in the API's limits; the message names the field and the limit."""


@dataclass(frozen=True)
class Fit:
    scenario: Scenario | None
    """The scenario as the API runs it; None when not applicable."""
    reason: str | None = None

    @property
    def factor(self) -> int:
        return self.scenario.time_factor if self.scenario is not None else 1


def scale(scenario: Scenario, factor: int) -> Scenario:
    """Every duration the scenario holds, times ``factor``: backoffs, webhook timeouts, the sink's
    delays and Retry-After, the touch interval, the restart's delay; ``time_factor`` scales the
    oracle's quiet window."""
    if factor == 1:
        return scenario
    policy = scenario.retry_policy
    written = dict(policy.written)
    for key, value in (("initialBackoff", policy.initial_backoff), ("maxBackoff", policy.max_backoff)):
        written[key] = durations.text(value * factor)
    scaled_policy = dataclasses.replace(
        policy,
        initial_backoff=policy.initial_backoff * factor,
        max_backoff=policy.max_backoff * factor,
        written=written,
    )
    channels = tuple(
        dataclasses.replace(
            channel,
            timeout=channel.timeout * factor,
            responses=tuple(_scaled_step(step, factor) for step in channel.responses),
        )
        for channel in scenario.channels
    )
    actions = scenario.actions
    if actions.touch_every is not None:
        actions = dataclasses.replace(actions, touch_every=actions.touch_every * factor)
    actions = dataclasses.replace(actions, restart_delay=actions.restart_delay * factor)
    return dataclasses.replace(
        scenario,
        retry_policy=scaled_policy,
        channels=channels,
        actions=actions,
        time_factor=scenario.time_factor * factor,
    )


def _scaled_step(step: SinkStep, factor: int) -> SinkStep:
    retry_after = f"{float(step.retry_after) * factor:g}" if step.retry_after is not None else None
    return dataclasses.replace(step, delay=step.delay * factor, retry_after=retry_after)


def with_cap(scenario: Scenario, cap: float) -> Scenario:
    """The scenario with maxBackoff rendered as ``cap`` (a cap it never reaches)."""
    policy = scenario.retry_policy
    if math.isclose(cap, policy.max_backoff):
        return scenario
    written = {**policy.written, "maxBackoff": durations.text(cap)}
    return dataclasses.replace(
        scenario, retry_policy=dataclasses.replace(policy, max_backoff=cap, written=written)
    )


def expected_seconds(scenario: Scenario, tolerances: Tolerances) -> float:
    """How long a conforming controller takes: the longest channel's nominal gaps and answers,
    then the quiet window."""
    expectation = oracle.expect(scenario)
    longest = 0.0
    for channel in scenario.channels:
        count = expectation.count(channel.name)
        spent = sum(
            max(oracle.nominal_gap(scenario.retry_policy, k), oracle.retry_after(channel, k))
            + oracle.busy(channel, k)
            for k in range(1, count)
        )
        longest = max(longest, spent + oracle.busy(channel, count))
    return longest + oracle.quiet_window(scenario, tolerances)


def fit(scenario: Scenario, limits: Limits, tolerances: Tolerances = DEFAULT_TOLERANCES) -> Fit:
    """The smallest whole time factor that fits the API's limits, or why none does."""
    try:
        _check_shape(scenario, limits)
        fitted = scale(scenario, _factor(scenario, limits, tolerances))
        if not oracle.cap_reached(fitted):
            fitted = with_cap(fitted, _unreached_cap(fitted, limits))
    except NotApplicable as err:
        return Fit(None, str(err))
    if expected_seconds(fitted, tolerances) >= SLOW_RUN and "slow" not in fitted.flags:
        fitted = dataclasses.replace(fitted, flags=(*fitted.flags, "slow"))
    return Fit(fitted)


def _check_shape(scenario: Scenario, limits: Limits) -> None:
    """What no time factor changes: channel types, channel identity and the unitless fields."""
    for channel in scenario.channels:
        if channel.type not in limits.channel_types:
            raise NotApplicable(
                f"channel {channel.name!r} is a {channel.type} channel, which the API lacks "
                f"(limits.channelTypes: {', '.join(limits.channel_types)})"
            )
    if limits.channel_identity == "type":
        seen: dict[str, ChannelSpec] = {}
        for channel in scenario.channels:
            if channel.type in seen:
                raise NotApplicable(
                    f"channels {seen[channel.type].name!r} and {channel.name!r} are both {channel.type} "
                    "channels, and the API's attempt records name a channel by its type "
                    "(limits.channelIdentity: type)"
                )
            seen[channel.type] = channel
    policy = scenario.retry_policy
    for name, value in (
        ("maxAttempts", float(policy.max_attempts)),
        ("backoffMultiplier", policy.multiplier),
        ("jitterPercent", policy.jitter * 100),
    ):
        bound = limits.bound(name)
        if not bound.admits(value):
            raise NotApplicable(
                f"retryPolicy.{name} is {value:g}, and the API's must be {bound.describe()} "
                f"(limits.retryPolicy.{name})"
            )


def _durations(scenario: Scenario, limits: Limits) -> list[tuple[str, float, Bound]]:
    """The duration fields the API receives, each with its bound; an unreached cap is free."""
    policy = scenario.retry_policy
    fields = [("retryPolicy.initialBackoff", policy.initial_backoff, limits.bound("initialBackoff"))]
    if oracle.cap_reached(scenario):
        fields.append(("retryPolicy.maxBackoff", policy.max_backoff, limits.bound("maxBackoff")))
    fields += [
        (f"channel {c.name!r} webhook timeout", c.timeout, limits.webhook_timeout)
        for c in scenario.channels
        if c.type == "webhook"
    ]
    return fields


def _fits(value: float, bound: Bound, limits: Limits) -> bool:
    return limits.on_grid(value) and bound.admits(value)


def _factor(scenario: Scenario, limits: Limits, tolerances: Tolerances) -> int:
    fields = _durations(scenario, limits)
    factor = 1
    while expected_seconds(scale(scenario, factor), tolerances) <= LONGEST_SCALED_RUN:
        if all(_fits(value * factor, bound, limits) for _, value, bound in fields):
            return factor
        factor += 1
    alone = [f for f in fields if not any(_fits(f[1] * k, f[2], limits) for k in range(1, factor))]
    where, value, bound = (alone or fields)[0]
    reached = " is reached and" if where == "retryPolicy.maxBackoff" else ""
    raise NotApplicable(
        f"{where} {durations.text(value)}{reached} fits the API's limits ({_describe(bound, limits)}) "
        f"only scaled so far that the scenario would take over {LONGEST_SCALED_RUN:.0f}s "
        f"(limits.{where if where.startswith('retryPolicy.') else 'webhookTimeout'})"
    )


def _describe(bound: Bound, limits: Limits) -> str:
    grid = f"a whole number of {durations.text(limits.granularity)}"
    return grid if bound == Bound() else f"{bound.describe('s')}, {grid}"


def _unreached_cap(scenario: Scenario, limits: Limits) -> float:
    """The scenario's own cap if the API takes it, else the smallest value the API takes that no
    gap reaches."""
    policy = scenario.retry_policy
    bound = limits.bound("maxBackoff")
    if _fits(policy.max_backoff, bound, limits):
        return policy.max_backoff
    needed = max([policy.initial_backoff, *oracle.uncapped_gaps(scenario), bound.low or 0.0])
    cap = math.ceil(needed / limits.granularity - 1e-6) * limits.granularity
    if not bound.admits(cap):
        raise NotApplicable(
            f"retryPolicy.maxBackoff must be at least {durations.text(needed)} for the gaps the "
            f"scenario uses, and the API's must be {bound.describe('s')} (limits.retryPolicy.maxBackoff)"
        )
    return cap
