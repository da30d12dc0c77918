"""Before any scenario starts: the controller has delivered one notification.

Every scenario starts at once when the run is up, and some judge how soon a first
attempt comes after creation. A controller still importing its modules or listing
its first objects would fail them for its start-up; so the run waits, on a watch,
until the controller under test took one notification of its own to a terminal phase.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from conformance.binding import preflight
from conformance.binding.binding import SUITE_PHASES, Binding

NAME = "ready"
TIMEOUT = 120.0


class NotReady(RuntimeError):
    """The controller never finished the readiness notification; one sentence."""


def channel(binding: Binding, hooks: str, directory: Path) -> dict[str, Any]:
    """One channel that succeeds at once: console, else a webhook to the sink, else a file."""
    kinds = binding.limits.channel_types
    if "console" in kinds:
        return {"name": "console", "type": "console"}
    if "webhook" in kinds:
        return {"name": "hook", "type": "webhook", "url": hooks, "timeout": "5s"}
    directory.mkdir(mode=0o777, parents=True, exist_ok=True)
    directory.chmod(0o777)  # whoever the controller runs as
    return {"name": "archive", "type": "file", "directory": str(directory)}


def wait_ready(
    api_client: client.ApiClient, binding: Binding, namespace: str, hooks: str, directory: Path
) -> float:
    """Seconds until the controller took the notification to a terminal phase; NotReady after TIMEOUT."""
    started = time.monotonic()
    core = client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    policy, _ = preflight.sample_policy(binding.limits, high=False)
    manifest = binding.render(
        name=NAME,
        namespace=namespace,
        subject=f"readiness [{namespace}]",
        body="the suite waits for this one before any scenario starts",
        channels=[channel(binding, hooks, directory)],
        retry=policy,
    )
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        created: Any = custom.create_namespaced_custom_object(
            binding.group, binding.version, namespace, binding.plural, manifest
        )
        if binding.phase(created) in SUITE_PHASES:
            return time.monotonic() - started
        version = created["metadata"]["resourceVersion"]
        while (remaining := TIMEOUT - (time.monotonic() - started)) > 0:
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
                    return time.monotonic() - started
        raise NotReady(
            f"The controller did not deliver a first notification ({namespace}/{NAME}) within "
            f"{TIMEOUT:.0f}s of the run's start; is it running and watching {binding.group}?"
        )
    finally:
        with contextlib.suppress(ApiException):
            custom.delete_collection_namespaced_custom_object(
                binding.group, binding.version, namespace, binding.plural
            )
        with contextlib.suppress(ApiException):
            core.delete_namespace(namespace)
