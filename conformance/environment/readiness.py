"""Probe notifications: the moment the controller delivers one, it is working.

Before any scenario starts, the run waits until the controller delivered one in a namespace
of its own. Every scenario starts at once when the run is up, and some judge how soon a first
attempt comes after creation: a controller still importing its modules or listing its first
objects would fail them for its start-up. A controller that delivers nothing by then is not
refused here: the run goes on, says so, and its scenarios fail for what they see.

As the suite restarts the controller, it creates one in the scenario's namespace: when that
is delivered, the restarted controller works again (NR-RESTART-SAFE counts a late next
attempt from then too, as no controller can attempt anything before it runs).

A probe is seen as a line on the controller's stdout when the suite reads that, else as a
request at the sink, else (an API with file channels only) as a terminal phase.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from conformance.binding import preflight
from conformance.binding.binding import SUITE_PHASES, Binding
from conformance.kube import CoreApi
from conformance.observers.console import ConsoleLog
from conformance.observers.sink.recording import SinkClient

NAME = "ready"
TIMEOUT = 30.0

Arrival = Callable[[float], float | None]
"""When the probe was delivered (seconds since the epoch), waiting at most the given seconds."""


@dataclass(frozen=True)
class Prober:
    """Creates probe notifications and tells when the controller delivered them."""

    api_client: client.ApiClient
    binding: Binding
    console: ConsoleLog | None
    sink: SinkClient

    def deliver(
        self, namespace: str, name: str, purpose: str, directory: Path, timeout: float
    ) -> float | None:
        """Create the probe ``name`` in ``namespace`` and return when it was delivered, or None
        after ``timeout`` seconds."""
        return self.create(namespace, name, purpose, directory)(timeout)

    def create(self, namespace: str, name: str, purpose: str, directory: Path) -> Arrival:
        """Create the probe ``name`` in ``namespace`` (``directory`` serves a file channel, if one
        is needed); what it returns waits for the delivery."""
        binding = self.binding
        custom = client.CustomObjectsApi(self.api_client)
        subject = f"probe [{namespace}/{name}]"
        policy, hook_timeout = preflight.sample_policy(binding.limits, high=False)
        channel, arrival = self._channel(custom, namespace, name, subject, directory, hook_timeout)
        manifest = binding.render(
            name=name, namespace=namespace, subject=subject, body=purpose, channels=[channel], retry=policy
        )
        custom.create_namespaced_custom_object(
            binding.group, binding.version, namespace, binding.plural, manifest
        )
        return arrival

    def _channel(
        self,
        custom: client.CustomObjectsApi,
        namespace: str,
        name: str,
        subject: str,
        directory: Path,
        hook_timeout: str,
    ) -> tuple[dict[str, Any], Arrival]:
        kinds = self.binding.limits.channel_types
        console, sink = self.console, self.sink
        if console is not None and "console" in kinds:
            return {"name": "console", "type": "console"}, lambda wait: console.arrival(subject, wait)
        if "webhook" in kinds:
            path = f"probes/{namespace}/{name}"
            hook = {"name": "hook", "type": "webhook", "url": sink.hook_url(path), "timeout": hook_timeout}

            def requested(wait: float) -> float | None:
                records = sink.records(path, at_least=1, wait=wait)
                sink.forget(path)
                return float(records[0]["time"]) if records else None

            return hook, requested
        directory.mkdir(mode=0o777, parents=True, exist_ok=True)
        directory.chmod(0o777)  # whoever the controller runs as
        archive = {"name": "archive", "type": "file", "directory": str(directory)}
        return archive, lambda wait: _terminal(custom, self.binding, namespace, name, wait)


def wait_ready(prober: Prober, namespace: str, directory: Path) -> float | None:
    """Seconds until the controller delivered the readiness notification, or None after TIMEOUT."""
    started = time.time()
    core = CoreApi(prober.api_client)
    binding = prober.binding
    core.create_namespace(namespace)
    try:
        purpose = "the suite waits for this one before any scenario starts"
        delivered = prober.deliver(namespace, NAME, purpose, directory, TIMEOUT)
        return max(delivered - started, 0.0) if delivered is not None else None
    finally:
        with contextlib.suppress(ApiException):
            client.CustomObjectsApi(prober.api_client).delete_collection_namespaced_custom_object(
                binding.group, binding.version, namespace, binding.plural
            )
        with contextlib.suppress(ApiException):
            core.delete_namespace(namespace)


def _terminal(
    custom: client.CustomObjectsApi, binding: Binding, namespace: str, name: str, timeout: float
) -> float | None:
    deadline = time.monotonic() + timeout
    version: str | None = None
    while (remaining := deadline - time.monotonic()) > 0:
        for event in watch.Watch().stream(
            custom.list_namespaced_custom_object,
            binding.group,
            binding.version,
            namespace,
            binding.plural,
            field_selector=f"metadata.name={name}",
            resource_version=version,
            timeout_seconds=max(int(remaining), 1),
        ):
            obj = event["object"]
            version = obj["metadata"]["resourceVersion"]
            if binding.phase(obj) in SUITE_PHASES:
                return time.time()
    return None
