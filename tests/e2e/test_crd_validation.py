"""Invalid NotificationRequests are refused by the real API server with a readable message."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.e2e.conftest import REPO

GROUP, VERSION, PLURAL = "notifications.conformance.dev", "v1alpha1", "notificationrequests"
VALID: dict[str, Any] = {
    "apiVersion": f"{GROUP}/{VERSION}",
    "kind": "NotificationRequest",
    "metadata": {"name": "valid", "namespace": "default"},
    "spec": {
        "subject": "hello",
        "channels": [
            {"name": "console", "type": "console"},
            {"name": "hook", "type": "webhook", "webhook": {"url": "http://127.0.0.1:9/hook"}},
        ],
        "retryPolicy": {"maxAttempts": 3, "initialBackoff": "1s", "maxBackoff": "4s"},
    },
}


@pytest.fixture(scope="module")
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    from conformance.binding.binding import Binding
    from conformance.environment.run_environment import install_crds

    install_crds(api_client, Binding.load(REPO / "fixtures" / "bindings" / "reference"))
    return client.CustomObjectsApi(api_client)


def mutate(path: str, value: Any) -> dict[str, Any]:
    manifest = copy.deepcopy(VALID)
    manifest["metadata"]["name"] = "invalid"
    target: Any = manifest
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is _DELETE:
        del target[int(last) if last.isdigit() else last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return manifest


class _Delete:
    """Stands for a field removed from the manifest; its repr is the same in every process, so
    pytest-xdist workers collect the same test ids."""

    def __repr__(self) -> str:
        return "<removed>"


_DELETE = _Delete()

INVALID = [
    ("spec.subject", _DELETE, "spec.subject: Required value"),
    ("spec.subject", "", "spec.subject: Invalid value"),
    ("spec.channels", [], "spec.channels: Invalid value"),
    ("spec.channels.1.name", "console", "channel names must be unique"),
    ("spec.channels.1.type", "pager", 'supported values: "console", "file", "webhook"'),
    ("spec.channels.1.name", "Not_A_Label", "spec.channels[1].name: Invalid value"),
    ("spec.channels.1", {"name": "f", "type": "file"}, "a channel of type file needs file.directory"),
    ("spec.channels.1", {"name": "w", "type": "webhook"}, "a channel of type webhook needs webhook.url"),
    ("spec.channels.1.webhook.url", "ftp://example", "webhook.url must start with http:// or https://"),
    (
        "spec.channels.1",
        {"name": "f", "type": "file", "file": {"directory": "relative/dir"}},
        "file.directory must be an absolute path",
    ),
    (
        "spec.channels.0",
        {"name": "c", "type": "console", "webhook": {"url": "http://x"}},
        "webhook settings are only allowed on a channel of type webhook",
    ),
    ("spec.retryPolicy.maxAttempts", 0, "spec.retryPolicy.maxAttempts: Invalid value"),
    ("spec.retryPolicy.maxAttempts", 11, "spec.retryPolicy.maxAttempts: Invalid value"),
    ("spec.retryPolicy.initialBackoff", "10", "spec.retryPolicy.initialBackoff: Invalid value"),
    ("spec.retryPolicy.initialBackoff", "10ms", "retryPolicy.initialBackoff must be at least 100ms"),
    (
        "spec.retryPolicy.maxBackoff",
        "500ms",
        "retryPolicy.maxBackoff must not be shorter than retryPolicy.initialBackoff",
    ),
    ("spec.retryPolicy.jitterPercent", 80, "spec.retryPolicy.jitterPercent: Invalid value"),
    ("spec.priority", "urgent", 'supported values: "low", "normal", "high", "critical"'),
]


def create(custom: client.CustomObjectsApi, manifest: dict[str, Any]) -> Any:
    return custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, manifest)


@pytest.mark.parametrize(
    ("path", "value", "message"), INVALID, ids=[f"{p}={v!r}"[:60] for p, v, _ in INVALID]
)
def test_invalid_request_is_rejected_with_a_readable_message(
    custom: client.CustomObjectsApi, path: str, value: Any, message: str
) -> None:
    with pytest.raises(ApiException) as caught:
        create(custom, mutate(path, value))
    assert caught.value.status == 422
    assert message in json.loads(str(caught.value.body))["message"]


def test_valid_request_gets_defaults(custom: client.CustomObjectsApi) -> None:
    created = create(custom, VALID)
    try:
        policy = created["spec"]["retryPolicy"]
        assert policy["backoffMultiplier"] == 2 and policy["jitterPercent"] == 0
        assert created["spec"]["channels"][1]["webhook"]["timeout"] == "5s"
    finally:
        custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "valid")


def test_spec_is_immutable(custom: client.CustomObjectsApi) -> None:
    manifest = copy.deepcopy(VALID)
    manifest["metadata"]["name"] = "immutable"
    create(custom, manifest)
    try:
        with pytest.raises(ApiException) as caught:
            custom.patch_namespaced_custom_object(
                GROUP, VERSION, "default", PLURAL, "immutable", {"spec": {"subject": "changed"}}
            )
        assert "spec is immutable" in json.loads(str(caught.value.body))["message"]
    finally:
        custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "immutable")


def test_printer_columns_show_phase_and_attempts(
    custom: client.CustomObjectsApi, api_client: client.ApiClient
) -> None:
    manifest = copy.deepcopy(VALID)
    manifest["metadata"]["name"] = "columns"
    create(custom, manifest)
    try:
        request = api_client.param_serialize(
            "GET",
            f"/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}",
            header_params={"Accept": "application/json;as=Table;g=meta.k8s.io;v=v1"},
            auth_settings=["BearerToken"],
        )
        response = api_client.call_api(*request)
        table = json.loads(response.response.read())
    finally:
        custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "columns")
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns[:3] == ["Name", "Phase", "Attempts"] and "Age" in columns
    assert [row["cells"][0] for row in table["rows"]] == ["columns"]


SECRET_REFS = [
    ({"name": "hook-token"}, "spec.channels[1].webhook.secretRef.key: Required value"),
    ({"key": "token"}, "spec.channels[1].webhook.secretRef.name: Required value"),
    ({"name": "", "key": "token"}, "spec.channels[1].webhook.secretRef.name: Invalid value"),
    ({"name": "hook-token", "key": ""}, "spec.channels[1].webhook.secretRef.key: Invalid value"),
    ({"name": "hook-token", "key": 7}, "spec.channels[1].webhook.secretRef.key: Invalid value"),
    ("hook-token", "spec.channels[1].webhook.secretRef: Invalid value"),
    ({"name": "../token", "key": "token"}, "webhook.secretRef.name must be a Secret name"),
    ({"name": "Hook_Token", "key": "token"}, "webhook.secretRef.name must be a Secret name"),
    ({"name": "hook-token", "key": "a/b"}, "webhook.secretRef.key must be a Secret key"),
]


@pytest.mark.parametrize(("ref", "message"), SECRET_REFS, ids=[repr(r)[:40] for r, _ in SECRET_REFS])
def test_webhook_secret_ref_needs_a_name_and_a_key(
    custom: client.CustomObjectsApi, ref: Any, message: str
) -> None:
    with pytest.raises(ApiException) as caught:
        create(custom, mutate("spec.channels.1.webhook.secretRef", ref))
    assert caught.value.status == 422
    assert message in json.loads(str(caught.value.body))["message"]


def test_webhook_secret_ref_is_kept(custom: client.CustomObjectsApi) -> None:
    manifest = mutate("spec.channels.1.webhook.secretRef", {"name": "hook.token-1", "key": "Bearer_token.v2"})
    manifest["metadata"]["name"] = "secret-ref"
    created = create(custom, manifest)
    try:
        ref = created["spec"]["channels"][1]["webhook"]["secretRef"]
        assert ref == {"name": "hook.token-1", "key": "Bearer_token.v2"}
    finally:
        custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "secret-ref")
