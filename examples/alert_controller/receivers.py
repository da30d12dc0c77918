"""Sending an alert to one receiver: stdout, a file in a directory, or an HTTP endpoint."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from typing import Any

from examples.alert_controller import api

_stdout = threading.Lock()


class SendError(Exception):
    """The try failed; the message goes into the history entry."""


def send(alert: api.Alert, receiver: dict[str, Any], number: int) -> None:
    meta, spec = alert["metadata"], alert["spec"]
    message = {
        "alert": api.key_of(alert),
        "receiver": receiver["id"],
        "try": number,
        "summary": spec["summary"],
        "details": spec.get("details", ""),
    }
    kind = receiver["kind"]
    if kind == "stdout":
        with _stdout:
            sys.stdout.write(json.dumps(message) + "\n")
            sys.stdout.flush()
    elif kind == "file":
        _write(receiver["path"], f"{meta['namespace']}.{meta['name']}.{receiver['id']}.json", message)
    elif kind == "http":
        _post(receiver, f"{meta['uid']}:{receiver['id']}", message)
    else:
        raise SendError(f"unknown receiver kind {kind!r}")


def _write(directory: str, name: str, message: dict[str, Any]) -> None:
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".alert-")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(message, handle)
            os.replace(temporary, os.path.join(directory, name))
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as err:
        raise SendError(f"cannot write into {directory}: {err.strerror or err}") from err


def _post(receiver: dict[str, Any], idempotency_key: str, message: dict[str, Any]) -> None:
    request = urllib.request.Request(
        receiver["endpoint"],
        data=json.dumps(message).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": idempotency_key},
    )
    timeout = int(receiver.get("timeoutMillis", 5000)) / 1000
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as err:
        raise SendError(f"{receiver['endpoint']} answered HTTP {err.code}") from err
    except (OSError, ValueError) as err:  # refused, timed out, unreadable URL
        raise SendError(f"{receiver['endpoint']}: {err}") from err
