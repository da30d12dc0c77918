"""The core-API requests every run makes (Namespaces, Secrets, Events), as plain JSON through
the client's ``ApiClient``.

The generated ``CoreV1Api`` builds some 250 model classes when first imported: most of a
second of CPU in each suite process, before any scenario starts. Rarer requests (RBAC, pods,
tokens) still go through the generated client, imported only when they are made.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

JSON = "application/json"


class CoreApi:
    """Raises ``ApiException`` for an answer other than 2xx, as the generated client does."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self._api = api_client

    def create_namespace(self, name: str) -> None:
        self._request("POST", "/api/v1/namespaces", {"metadata": {"name": name}})

    def delete_namespace(self, name: str) -> None:
        self._request("DELETE", f"/api/v1/namespaces/{name}")

    def create_secret(self, namespace: str, name: str, string_data: dict[str, str]) -> None:
        body = {"metadata": {"name": name}, "stringData": string_data}
        self._request("POST", f"/api/v1/namespaces/{namespace}/secrets", body)

    def events(self, namespace: str) -> list[dict[str, Any]]:
        listing = self._request("GET", f"/api/v1/namespaces/{namespace}/events")
        items: list[dict[str, Any]] = listing.get("items") or []
        return items

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Accept": JSON, **({"Content-Type": JSON} if body is not None else {})}
        serialized = self._api.param_serialize(
            method=method, resource_path=path, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        response = self._api.call_api(*serialized)
        response.read()
        return self._api.response_deserialize(response, {"200": "object", "201": "object"}).data
