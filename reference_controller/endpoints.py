"""``/metrics``, ``/healthz`` and ``/readyz`` on one HTTP port, like controller-runtime's.

Ready means the informer has listed once: the replica can serve as soon as it is
elected. Readiness does not depend on holding the lease, so a standby replica is
ready too and a rollout is not held up by it.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from reference_controller.metrics import Metrics

log = logging.getLogger(__name__)


class BindAddressError(ValueError):
    """The bind address is not ``host:port``, ``:port`` or ``0``."""


def parse_bind_address(text: str) -> tuple[str, int] | None:
    """``(host, port)`` to listen on, or None when serving is disabled (``0``)."""
    if text == "0":
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise BindAddressError(f"bind address {text!r} is not HOST:PORT, :PORT or 0")
    return host.strip("[]"), int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    metrics: Metrics
    ready: Callable[[], bool]


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: scrapes and probes every few seconds would drown the controller's own logs."""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._reply(200, self.server.metrics.exposition(), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            self._reply(200, b"ok\n")
        elif path == "/readyz":
            ready = self.server.ready()
            self._reply(200 if ready else 503, b"ok\n" if ready else b"informer not synced\n")
        else:
            self._reply(404, b"not found: try /metrics, /healthz or /readyz\n")

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Endpoints:
    def __init__(self, address: tuple[str, int], metrics: Metrics, ready: Callable[[], bool]) -> None:
        server_type = _IPv6Server if ":" in address[0] else _Server
        self._server = server_type(address, _Handler)
        self._server.metrics = metrics
        self._server.ready = ready
        self._thread = threading.Thread(target=self._server.serve_forever, name="endpoints", daemon=True)

    @property
    def address(self) -> str:
        host, port = str(self._server.server_address[0]), self._server.server_address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def start(self) -> Endpoints:
        self._thread.start()
        log.info("serving metrics and probes", extra={"address": self.address})
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
