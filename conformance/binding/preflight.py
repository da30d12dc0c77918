"""Before any scenario runs: does the binding's template render an object the API
server accepts? A server-side dry run of a sample notification says so in one
sentence at start-up, instead of every scenario failing the same way later."""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from conformance.binding.binding import Binding, BindingError
from conformance.binding.refusal import refusal

SAMPLE_RETRY = {
    "maxAttempts": 3,
    "initialBackoff": "500ms",
    "backoffMultiplier": 1.5,
    "maxBackoff": "2s",
    "jitterPercent": 0,
}


def sample(binding: Binding, namespace: str) -> dict[str, Any]:
    """A notification with one channel of each type, as a scenario would render it."""
    return binding.render(
        name="preflight",
        namespace=namespace,
        subject=f"preflight [{namespace}]",
        body="a dry run: never stored, never delivered",
        channels=[
            {"name": "console", "type": "console"},
            {"name": "archive", "type": "file", "directory": "/tmp/preflight"},
            {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:9/hooks/preflight", "timeout": "2s"},
        ],
        retry=SAMPLE_RETRY,
    )


def check_binding(api_client: client.ApiClient, binding: Binding) -> None:
    """Raise BindingError when the template fails or renders an object the API server refuses."""
    core = client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    namespace = f"nc-preflight-{secrets.token_hex(3)}"
    manifest = sample(binding, namespace)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        custom.create_namespaced_custom_object(
            binding.group, binding.version, namespace, binding.plural, manifest, dry_run="All"
        )
    except ApiException as err:
        if err.status not in (400, 404, 422):
            raise
        raise BindingError(refusal(binding, err)) from err
    finally:
        with contextlib.suppress(ApiException):
            core.delete_namespace(namespace)
