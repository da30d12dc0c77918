"""Delivery to console, file and webhook channels.

Each channel returns the moment its delivery went out (the webhook's request written to
the socket, the console line flushed, the file in place), or raises ``DeliveryError`` on
failure, saying whether a retry can help and when the request went out, if it did.
Dating an attempt from that moment, not from before a connection was taken or made,
keeps every gap the receiver sees at least as long as the one the controller scheduled.
File-system errors such as a read-only directory are retryable: the volume may be
remounted or fixed by an operator, and the retry policy bounds the cost. A file
directory that leads outside the file root is not: no retry makes it safe.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import urllib3

from reference_controller.api import Object
from reference_controller.credentials import CredentialError
from reference_controller.fileroot import Escape, FileRoot
from reference_controller.timefmt import parse_duration

_stdout_lock = threading.Lock()


class DeliveryError(Exception):
    def __init__(
        self,
        message: str,
        retryable: bool = True,
        retry_after: float | None = None,
        sent: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.sent = sent
        """When the request went out, if it did before the failure."""


_sent = threading.local()
"""When this thread's last webhook request was written, set by the connections below."""


class _StampedHTTPConnection(urllib3.connection.HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        _sent.at = time.time()


class _StampedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        _sent.at = time.time()


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _StampedHTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _StampedHTTPSConnection


def webhook_pool(connections: int) -> urllib3.PoolManager:
    """Keep-alive connections, up to ``connections`` per receiver, whose requests record when
    they were written; no retries: every send is an attempt of its own."""
    manager = urllib3.PoolManager(retries=False, maxsize=connections)
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    return manager


MAX_RETRY_AFTER = 86400.0


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or an HTTP date, RFC 9110), capped at a
    day so that a receiver cannot park a channel forever; None when it cannot be read."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass(frozen=True)
class Delivery:
    """Everything a channel needs to deliver one attempt."""

    namespace: str
    name: str
    uid: str
    spec: Object
    channel: Object
    attempt: int

    def payload(self) -> dict[str, Any]:
        return {
            "notification": f"{self.namespace}/{self.name}",
            "channel": self.channel["name"],
            "attempt": self.attempt,
            "subject": self.spec["subject"],
            "body": self.spec.get("body", ""),
            "priority": self.spec.get("priority", "normal"),
        }

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt at one channel, so receivers can drop repeats."""
        return f"{self.uid}/{self.channel['name']}"


MAX_FILE_NAME = 255


def file_name(delivery: Delivery) -> str:
    """One file per channel of a notification. A name too long for the file system (a notification's
    name alone may have 253 characters) keeps its start and ends in a hash of the whole."""
    name = f"{delivery.namespace}.{delivery.name}.{delivery.channel['name']}.json"
    if len(name.encode()) <= MAX_FILE_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"{name[: MAX_FILE_NAME - len(digest) - 6]}-{digest}.json"


Credentials = Callable[[str, Object], str]
"""Reads the value a ``secretRef`` names, in a namespace; raises CredentialError."""


class Channels:
    """Delivers one attempt to a channel of any type."""

    def __init__(self, file_root: FileRoot, credentials: Credentials, connections: int = 64) -> None:
        self.file_root = file_root
        self.credentials = credentials
        self.http = webhook_pool(connections)

    def deliver(self, delivery: Delivery) -> float:
        """Deliver one attempt; the time it went out."""
        kind = delivery.channel["type"]
        if kind == "console":
            _console(delivery)
        elif kind == "file":
            self._file(delivery)
        elif kind == "webhook":
            return self._webhook(delivery)
        else:
            raise DeliveryError(f"unknown channel type {kind!r}", retryable=False)
        return time.time()

    def _file(self, delivery: Delivery) -> None:
        directory = delivery.channel["file"]["directory"]
        created: list[float] = []
        data = json.dumps(delivery.payload()).encode()
        try:
            self.file_root.write(directory, file_name(delivery), data, lambda: created.append(time.time()))
        except Escape as err:
            raise DeliveryError(str(err), retryable=False) from err
        except OSError as err:
            sent = created[0] if created else None
            raise DeliveryError(f"writing to {directory}: {err.strerror or err}", sent=sent) from err

    def _webhook(self, delivery: Delivery) -> float:
        ref = delivery.channel["webhook"].get("secretRef")
        token = None
        if ref is not None:
            try:
                token = self.credentials(delivery.namespace, ref)
            except CredentialError as err:
                raise DeliveryError(str(err)) from None
        return _webhook(self.http, delivery, token)


def _console(delivery: Delivery) -> None:
    line = json.dumps({"delivery": "console", **delivery.payload()})
    with _stdout_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _webhook(http: urllib3.PoolManager, delivery: Delivery, token: str | None) -> float:
    settings = delivery.channel["webhook"]
    timeout = parse_duration(settings.get("timeout", "5s"))
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": delivery.idempotency_key,
        "X-Notification-Attempt": str(delivery.attempt),
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    _sent.at = None
    try:
        response = http.request(
            "POST",
            settings["url"],
            body=json.dumps(delivery.payload()).encode(),
            headers=headers,
            timeout=urllib3.Timeout(total=timeout),
        )
    except urllib3.exceptions.HTTPError as err:
        raise DeliveryError(f"POST {settings['url']}: {err}", sent=_sent.at) from err
    sent: float = _sent.at
    if 200 <= response.status < 300:
        return sent
    retryable = response.status >= 500 or response.status in (408, 429)
    wait = retry_after_seconds(response.headers.get("Retry-After")) if response.status in (429, 503) else None
    raise DeliveryError(f"POST {settings['url']}: HTTP {response.status}", retryable, wait, sent)
