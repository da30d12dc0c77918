"""Before any scenario starts: the controller has delivered one notification.

Every scenario starts at once when the run is up, and some judge how soon a first
attempt comes after creation. A controller still importing its modules or listing
its first objects would fail them for its start-up; so the run waits until the
controller under test delivered one notification of its own: a line on its stdout
when the suite reads that, else a request at the sink, else (an API with file
channels only) a terminal phase. A controller that delivers nothing by then is not
refused here: the run goes on, says so, and its scenarios fail for what they see.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
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

Wait = Callable[[float], bool]
"""Whether the delivery came within the given seconds."""


def wait_ready(
    api_client: client.ApiClient,
    binding: Binding,
    namespace: str,
    console: ConsoleLog | None,
    sink: SinkClient,
    directory: Path,
) -> float | None:
    """Seconds until the controller delivered the readiness notification, or None after TIMEOUT."""
    started = time.monotonic()
    core = CoreApi(api_client)
    custom = client.CustomObjectsApi(api_client)
    subject = f"readiness [{namespace}]"
    kinds = binding.limits.channel_types
    if console is not None and "console" in kinds:
        channel: dict[str, Any] = {"name": "console", "type": "console"}
        delivered: Wait = lambda timeout: console.wait_for_line(subject, timeout)  # noqa: E731
    elif "webhook" in kinds:
        path = f"{namespace}/{NAME}"
        channel = {"name": "hook", "type": "webhook", "url": sink.hook_url(path), "timeout": "5s"}
        delivered = lambda timeout: bool(sink.records(path, at_least=1, wait=timeout))  # noqa: E731
    else:
        directory.mkdir(mode=0o777, parents=True, exist_ok=True)
        directory.chmod(0o777)  # whoever the controller runs as
        channel = {"name": "archive", "type": "file", "directory": str(directory)}
        delivered = lambda timeout: _terminal(custom, binding, namespace, timeout)  # noqa: E731
    policy, _ = preflight.sample_policy(binding.limits, high=False)
    manifest = binding.render(
        name=NAME,
        namespace=namespace,
        subject=subject,
        body="the suite waits for this one before any scenario starts",
        channels=[channel],
        retry=policy,
    )
    core.create_namespace(namespace)
    try:
        custom.create_namespaced_custom_object(
            binding.group, binding.version, namespace, binding.plural, manifest
        )
        return time.monotonic() - started if delivered(TIMEOUT) else None
    finally:
        with contextlib.suppress(ApiException):
            custom.delete_collection_namespaced_custom_object(
                binding.group, binding.version, namespace, binding.plural
            )
        with contextlib.suppress(ApiException):
            core.delete_namespace(namespace)


def _terminal(custom: client.CustomObjectsApi, binding: Binding, namespace: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    version: str | None = None
    while (remaining := deadline - time.monotonic()) > 0:
        for event in watch.Watch().stream(
            custom.list_namespaced_custom_object,
            binding.group,
            binding.version,
            namespace,
            binding.plural,
            field_selector=f"metadata.name={NAME}",
            resource_version=version,
            timeout_seconds=max(int(remaining), 1),
        ):
            obj = event["object"]
            version = obj["metadata"]["resourceVersion"]
            if binding.phase(obj) in SUITE_PHASES:
                return True
    return False
