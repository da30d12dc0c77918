"""The three requests of the core API the controller makes (read a Secret, create and patch an
Event), as plain JSON through the client's ``ApiClient``.

The generated ``CoreV1Api`` module builds some 250 model classes when first imported, which
doubled the controller's start-up; and a controller restarted during a backoff window has only
that window to be back (NR-RESTART-SAFE).
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from reference_controller.api import Object

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


class CoreApi:
    def __init__(self, api_client: client.ApiClient) -> None:
        self._api = api_client

    def read_secret(self, namespace: str, name: str, timeout: float) -> Object:
        secret: Object = self._call(
            "GET", "/api/v1/namespaces/{namespace}/secrets/{name}", namespace, name, timeout
        )
        return secret

    def create_event(self, namespace: str, body: Object, timeout: float) -> None:
        self._call("POST", "/api/v1/namespaces/{namespace}/events", namespace, None, timeout, body)

    def patch_event(self, namespace: str, name: str, patch: Object, timeout: float) -> None:
        path = "/api/v1/namespaces/{namespace}/events/{name}"
        self._call("PATCH", path, namespace, name, timeout, patch, MERGE_PATCH)

    def _call(
        self,
        method: str,
        path: str,
        namespace: str,
        name: str | None,
        timeout: float,
        body: Object | None = None,
        content_type: str = JSON,
    ) -> Any:
        """Raises ``ApiException`` for an answer other than 2xx, as the generated client does."""
        headers = {"Accept": JSON, **({"Content-Type": content_type} if body is not None else {})}
        params = {"namespace": namespace, **({"name": name} if name is not None else {})}
        serialized = self._api.param_serialize(
            method=method,
            resource_path=path,
            path_params=params,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self._api.call_api(*serialized, _request_timeout=timeout)
        response.read()
        return self._api.response_deserialize(response, {"200": "object", "201": "object"}).data
