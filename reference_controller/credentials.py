"""Webhook credentials read from a Secret in the notification's namespace.

Each attempt reads the one Secret it names (a namespaced GET; the controller needs no
right to list or watch Secrets). Errors name the Secret and key, never the value.
"""

from __future__ import annotations

import base64
import binascii

from kubernetes.client.exceptions import ApiException

from reference_controller.api import Object
from reference_controller.core import CoreApi

READ_TIMEOUT = 5.0


class CredentialError(Exception):
    """The credential could not be read; it may appear later, so a retry can help."""


class SecretReader:
    def __init__(self, core: CoreApi) -> None:
        self._core = core

    def value(self, namespace: str, ref: Object) -> str:
        name, key = ref["name"], ref["key"]
        where = f"Secret {namespace}/{name}"
        try:
            secret = self._core.read_secret(namespace, name, READ_TIMEOUT)
        except ApiException as err:
            if err.status == 404:
                raise CredentialError(f"webhook secretRef: {where} does not exist") from None
            if err.status == 403:
                raise CredentialError(f"webhook secretRef: not allowed to read {where}") from None
            raise CredentialError(f"webhook secretRef: reading {where} failed: HTTP {err.status}") from None
        except Exception as err:  # connection errors: the API server may come back
            raise CredentialError(
                f"webhook secretRef: reading {where} failed: {type(err).__name__}"
            ) from None
        encoded = (secret.get("data") or {}).get(key)
        if encoded is None:
            raise CredentialError(f"webhook secretRef: {where} has no key {key!r}")
        try:
            value = base64.b64decode(encoded, validate=True).decode("ascii").strip()
        except (binascii.Error, UnicodeDecodeError):
            value = ""
        if not value or not value.isprintable():
            raise CredentialError(
                f"webhook secretRef: key {key!r} of {where} is not a usable token (printable ASCII)"
            )
        return value
