"""Before any scenario runs: does the binding's template render objects the API
server accepts? Two samples are rendered from the binding's own declarations (one
channel of each type its API has, and a retry policy and webhook timeout at the low
and at the high end of its declared limits), and a server-side dry run of each says,
in one sentence at start-up, when the binding declares more than its API takes,
instead of every scenario failing the same way later. Before set-up the run's first
applicable scenario is rendered too, so that a template error shows at once."""

from __future__ import annotations

import contextlib
import math
import secrets
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from conformance.binding.binding import Binding, BindingError
from conformance.binding.refusal import refusal
from conformance.contract import durations
from conformance.kube import CoreApi
from conformance.scenarios.limits import Bound, Limits
from conformance.scenarios.model import Scenario

USUAL = {
    "maxAttempts": 3.0,
    "initialBackoff": 1.0,
    "backoffMultiplier": 2.0,
    "maxBackoff": 2.0,
    "jitterPercent": 0.0,
}
"""The values a sample takes where the binding declares no bound."""
USUAL_TIMEOUT = 5.0
CHANNEL_NAMES = {"console": "console", "file": "archive", "webhook": "hook"}


def _end(usual: float, bound: Bound, high: bool, step: float | None = None) -> float:
    """The bound's high (or low) end where it has one, else the usual value moved into range;
    on the grid of ``step`` (whole, for an integer bound) without leaving the range."""
    declared = bound.high if high else bound.low
    value = usual if declared is None else declared
    if bound.low is not None:
        value = max(value, bound.low)
    if bound.high is not None:
        value = min(value, bound.high)
    grain = step if step is not None else 1.0 if bound.integer else None
    if grain is None:
        return value
    up = math.ceil(value / grain - 1e-6) * grain
    return up if bound.admits(up) else math.floor(value / grain + 1e-6) * grain


def sample_policy(limits: Limits, high: bool) -> tuple[dict[str, Any], str]:
    """A retry policy and a webhook timeout at the low (or high) end of what the binding declares."""
    grid = limits.granularity
    attempts = _end(USUAL["maxAttempts"], limits.bound("maxAttempts"), high, 1.0)
    initial = _end(USUAL["initialBackoff"], limits.bound("initialBackoff"), high, grid)
    cap = max(_end(USUAL["maxBackoff"], limits.bound("maxBackoff"), high, grid), initial)
    multiplier = _end(USUAL["backoffMultiplier"], limits.bound("backoffMultiplier"), high)
    jitter = _end(USUAL["jitterPercent"], limits.bound("jitterPercent"), high, 1.0)
    timeout = _end(USUAL_TIMEOUT, limits.webhook_timeout, high, grid)
    policy = {
        "maxAttempts": int(attempts),
        "initialBackoff": durations.text(initial),
        "backoffMultiplier": int(multiplier) if multiplier == int(multiplier) else multiplier,
        "maxBackoff": durations.text(cap),
        "jitterPercent": int(jitter),
    }
    return policy, durations.text(timeout)


def _channel(name: str, kind: str, timeout: str) -> dict[str, Any]:
    channel: dict[str, Any] = {"name": name, "type": kind}
    if kind == "file":
        channel["directory"] = "/tmp/preflight"
    elif kind == "webhook":
        channel |= {"url": "http://127.0.0.1:9/hooks/preflight", "timeout": timeout}
    return channel


def _render(binding: Binding, name: str, namespace: str, channels: list[dict[str, Any]], retry: Any) -> Any:
    return binding.render(
        name=name,
        namespace=namespace,
        subject=f"preflight [{namespace}]",
        body="a dry run: never stored, never delivered",
        channels=channels,
        retry=retry,
    )


def samples(binding: Binding, namespace: str, scenario: Scenario | None = None) -> list[dict[str, Any]]:
    """One notification with one channel of each type the API has, at each end of its limits; and,
    given the run's first applicable scenario, that scenario as the binding renders it."""
    manifests = []
    for high in (False, True):
        policy, timeout = sample_policy(binding.limits, high)
        channels = [_channel(CHANNEL_NAMES[kind], kind, timeout) for kind in binding.limits.channel_types]
        manifests.append(
            _render(binding, f"preflight-{'high' if high else 'low'}", namespace, channels, policy)
        )
    if scenario is not None:
        fitted = binding.adapt(scenario)
        channels = [_channel(c.name, c.type, durations.text(c.timeout)) for c in fitted.channels]
        manifests.append(
            _render(binding, "preflight-scenario", namespace, channels, fitted.retry_policy.written)
        )
    return manifests


def check_binding(api_client: client.ApiClient, binding: Binding) -> None:
    """Raise BindingError when the template fails or renders an object the API server refuses."""
    core = CoreApi(api_client)
    custom = client.CustomObjectsApi(api_client)
    namespace = f"nc-preflight-{secrets.token_hex(3)}"
    manifests = samples(binding, namespace)
    core.create_namespace(namespace)
    try:
        for manifest in manifests:
            try:
                custom.create_namespaced_custom_object(
                    binding.group, binding.version, namespace, binding.plural, manifest, dry_run="All"
                )
            except ApiException as err:
                if err.status not in (400, 404, 422):
                    raise
                raise BindingError(refusal(binding, err, manifest)) from None
    finally:
        with contextlib.suppress(ApiException):
            core.delete_namespace(namespace)
