"""What a conforming controller does in a scenario: the expected outcomes, counts,
gap windows and terminal phase. Written from the specification, sharing no code
with any controller, so that a bug here cannot pass a controller with the same bug.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.contract.tolerances import Tolerances
from conformance.scenarios.model import (
    HTTP_DATE,
    SECRET_PRESENT,
    ChannelSpec,
    RetryPolicy,
    Scenario,
    SinkStep,
)

SUCCESS, FAILURE, PERMANENT = "success", "failure", "permanent"
HTTP_DATE_RESOLUTION = 1.0


@dataclass(frozen=True)
class Window:
    """Allowed gap before an attempt: ``[low, high]`` seconds after the previous one started."""

    nominal: float
    low: float
    high: float
    capped: bool = False
    """maxBackoff, not the exponential, set the nominal gap."""
    retry_after: bool = False
    """A Retry-After answer, not the backoff, set the lower bound."""
    resumed: float | None = None
    """The restarted controller worked again this long after the previous attempt, and the
    upper bound counts from then (set by the judgement, from what it saw)."""


@dataclass(frozen=True)
class Expectation:
    outcomes: dict[str, tuple[str, ...]]
    phase: str

    def count(self, channel: str) -> int:
        return len(self.outcomes[channel])


def nominal_gap(policy: RetryPolicy, attempts_made: int) -> float:
    """Gap before attempt ``attempts_made + 1``: min(initial * multiplier^(k-1), max)."""
    return min(policy.initial_backoff * policy.multiplier ** (attempts_made - 1), policy.max_backoff)


def window(
    policy: RetryPolicy,
    attempts_made: int,
    tolerances: Tolerances,
    precision: float = 0.0,
    retry_after: float = 0.0,
    busy: float = 0.0,
    retry_after_spread: float = 0.0,
) -> Window:
    """The allowed gap; ``busy`` is how long the previous attempt itself took (a slow answer),
    ``retry_after_spread`` how much longer than ``retry_after`` the answer may rightly ask for."""
    backoff = nominal_gap(policy, attempts_made)
    uncapped = policy.initial_backoff * policy.multiplier ** (attempts_made - 1)
    low = max(backoff * (1 - policy.jitter), retry_after)
    return Window(
        nominal=max(backoff, retry_after),
        low=low - tolerances.epsilon - precision,
        high=max(backoff * (1 + policy.jitter), retry_after + retry_after_spread)
        + busy
        + tolerances.slack
        + precision,
        capped=uncapped > policy.max_backoff,
        retry_after=retry_after > backoff * (1 - policy.jitter),
    )


def channel_window(
    policy: RetryPolicy, channel: ChannelSpec, attempts_made: int, tolerances: Tolerances, busy: float = 0.0
) -> Window:
    """The allowed gap before a channel's next attempt, with what the answer to its previous one
    asked for (Retry-After, in either form)."""
    return window(
        policy,
        attempts_made,
        tolerances,
        retry_after=retry_after(channel, attempts_made),
        busy=busy,
        retry_after_spread=retry_after_spread(channel, attempts_made),
    )


def sink_step(channel: ChannelSpec, attempt: int) -> SinkStep:
    """The sink's answer to attempt number ``attempt`` (1-based) of a webhook channel."""
    remaining = attempt - 1
    for candidate in channel.responses:
        if candidate.times is None or remaining < candidate.times:
            return candidate
        remaining -= candidate.times
    return channel.responses[-1]


def retry_after(channel: ChannelSpec, attempt: int) -> float:
    """Seconds the answer to ``attempt`` asked the controller to wait (Retry-After on 429/503)."""
    if channel.type != "webhook":
        return 0.0
    step = sink_step(channel, attempt)
    if step.status not in (429, 503) or step.retry_after is None:
        return 0.0
    return float(step.retry_after)


def retry_after_spread(channel: ChannelSpec, attempt: int) -> float:
    """An HTTP-date names a whole second: the sink names the first one at least ``retry_after``
    seconds after its answer, so the controller may rightly wait up to a second longer."""
    if not retry_after(channel, attempt):
        return 0.0
    return HTTP_DATE_RESOLUTION if sink_step(channel, attempt).retry_after_as == HTTP_DATE else 0.0


def busy(channel: ChannelSpec, attempt: int) -> float:
    """How long ``attempt`` keeps the channel busy: the sink's delay, cut short by the timeout."""
    if channel.type != "webhook":
        return 0.0
    return min(sink_step(channel, attempt).delay, channel.timeout)


def _answer(channel: ChannelSpec, attempt: int) -> str:
    """How the channel answers attempt number ``attempt`` (1-based)."""
    if channel.type == "console":
        return SUCCESS
    if channel.type == "file":
        return SUCCESS if channel.writable else FAILURE
    if channel.secret not in (None, SECRET_PRESENT):
        return FAILURE  # no credential to send: retryable, since the Secret may be created later
    step = sink_step(channel, attempt)
    if step.delay >= channel.timeout or step.hang_up:
        return FAILURE
    if 200 <= step.status < 300:
        return SUCCESS
    if step.status >= 500 or step.status in (408, 429):
        return FAILURE
    return PERMANENT


def outcomes(channel: ChannelSpec, policy: RetryPolicy) -> tuple[str, ...]:
    result: list[str] = []
    while len(result) < policy.max_attempts:
        answer = _answer(channel, len(result) + 1)
        result.append(answer)
        if answer != FAILURE:
            break
    return tuple(result)


def expect(scenario: Scenario) -> Expectation:
    """What the controller must do; for a scenario that deletes the object, what it may do at most."""
    per_channel = {c.name: outcomes(c, scenario.retry_policy) for c in scenario.channels}
    succeeded = [o[-1] == SUCCESS for o in per_channel.values()]
    phase = "Sent" if all(succeeded) else "PartiallySent" if any(succeeded) else "Failed"
    return Expectation(per_channel, phase)


def quiet_window(scenario: Scenario, tolerances: Tolerances) -> float:
    """How long to watch for attempts after the terminal phase: long enough for one more retry,
    within bounds that grow with the scenario's time factor."""
    policy, factor = scenario.retry_policy, scenario.time_factor
    next_gap = nominal_gap(policy, policy.max_attempts) * (1 + policy.jitter) + tolerances.slack
    return min(max(next_gap, 1.0 * factor), tolerances.quiet_max * factor)


def uncapped_gaps(scenario: Scenario) -> list[float]:
    """``initialBackoff * backoffMultiplier^(k-1)`` for every gap the scenario's channels use."""
    policy = scenario.retry_policy
    expectation = expect(scenario)
    used = max((expectation.count(c.name) for c in scenario.channels), default=1)
    return [policy.initial_backoff * policy.multiplier ** (k - 1) for k in range(1, used)]


def cap_reached(scenario: Scenario) -> bool:
    """Whether maxBackoff sets some gap the scenario uses; if not, any larger cap judges the same."""
    return any(gap > scenario.retry_policy.max_backoff for gap in uncapped_gaps(scenario))
