"""``python -m reference_controller``: run the reference notification controller."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Sequence

from kubernetes import client, config
from prometheus_client import disable_created_metrics

from reference_controller import logs
from reference_controller.channels import Channels
from reference_controller.controller import Controller, Gate
from reference_controller.core import CoreApi
from reference_controller.credentials import SecretReader
from reference_controller.endpoints import BindAddressError, Endpoints, parse_bind_address
from reference_controller.events import EventRecorder
from reference_controller.fileroot import DEFAULT_FILE_ROOT, FileRoot
from reference_controller.informer import Informer
from reference_controller.leaderelection import LeaderElector, Timing
from reference_controller.metrics import Metrics
from reference_controller.reconciler import Reconciler
from reference_controller.timefmt import parse_duration

log = logging.getLogger("reference_controller")

DEFAULT_WORKERS = 32
"""Enough that retries falling due together at a few hundred notifications in flight seldom wait
for a worker (a worker mostly waits, for a webhook's answer or the status write), and few enough
that the threads do not queue for the interpreter: at 200 scenarios in flight, 32 workers kept
retries closer to their schedule than 64 or 256 did (``make bench``, part 2)."""


def duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 15s or 500ms") from err


def namespaces(text: str) -> tuple[str, ...]:
    """A comma-separated list, as Operator SDK's WATCH_NAMESPACE; empty means every namespace."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="reference_controller",
        description="Deliver NotificationRequests to their channels, retrying with exponential backoff.",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file; in-cluster configuration when omitted")
    parser.add_argument("--context", help="kubeconfig context to use")
    parser.add_argument(
        "--namespace",
        type=namespaces,
        default=(),
        help="watch only these namespaces, comma-separated (default: all)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"concurrent reconciles (default {DEFAULT_WORKERS})",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument(
        "--file-root",
        default=DEFAULT_FILE_ROOT,
        help=f"file channels may only write below this directory (default {DEFAULT_FILE_ROOT})",
    )
    parser.add_argument(
        "--metrics-bind-address",
        default=":8080",
        help="HOST:PORT or :PORT serving /metrics, /healthz and /readyz; 0 disables (default :8080)",
    )
    parser.add_argument(
        "--leader-elect",
        action="store_true",
        help="deliver only while holding a Lease (for several replicas)",
    )
    parser.add_argument(
        "--leader-election-namespace",
        default=os.environ.get("POD_NAMESPACE") or "default",
        help="namespace of the Lease (default $POD_NAMESPACE, else default)",
    )
    parser.add_argument("--leader-election-id", default="notification-controller", help="name of the Lease")
    timing = Timing()
    for name, default in (
        ("lease-duration", timing.lease_duration),
        ("renew-deadline", timing.renew_deadline),
        ("retry-period", timing.retry_period),
    ):
        parser.add_argument(
            f"--leader-election-{name}", type=duration, default=default, help=f"default {default:g}s"
        )
    parser.add_argument(
        "--shutdown-grace",
        type=duration,
        default=10.0,
        help="on SIGTERM, how long in-flight reconciles may take to write their status (default 10s)",
    )
    return parser.parse_args(argv)


def api_client_from(args: argparse.Namespace) -> client.ApiClient:
    """A client with a keep-alive connection for every worker, the informer and the elector:
    a request beyond the pool's size would pay a new TLS handshake."""
    configuration = client.Configuration()
    if args.kubeconfig:
        config.load_kube_config(
            config_file=args.kubeconfig, context=args.context, client_configuration=configuration
        )
    else:
        config.load_incluster_config(client_configuration=configuration)
    configuration.connection_pool_maxsize = args.workers + 4
    return client.ApiClient(configuration)


def run(reconciler_type: type[Reconciler], argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logs.configure(args.log_level)
    timing = Timing(
        args.leader_election_lease_duration,
        args.leader_election_renew_deadline,
        args.leader_election_retry_period,
    )
    try:
        address = parse_bind_address(args.metrics_bind_address)
        timing.check()
    except (BindAddressError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        api_client = api_client_from(args)
    except (config.ConfigException, OSError) as err:
        print(f"error: cannot load Kubernetes configuration: {err}", file=sys.stderr)
        return 2
    identity = f"{socket.gethostname()}_{uuid.uuid4()}"
    disable_created_metrics()  # type: ignore[no-untyped-call]  # one series per counter, as in Go
    core = CoreApi(api_client)
    metrics = Metrics()
    events = EventRecorder(core, identity)
    reconciler = reconciler_type(
        client.CustomObjectsApi(api_client),
        channels=Channels(FileRoot(args.file_root), SecretReader(core).value),
        metrics=metrics,
        events=events,
    )
    gate = Gate(not args.leader_elect)
    controller = Controller(reconciler, Informer, args.workers, args.namespace, gate)
    elector = None
    if args.leader_elect:
        elector = LeaderElector(
            client.CoordinationV1Api(api_client),
            args.leader_election_namespace,
            args.leader_election_id,
            identity,
            timing,
            on_started=lambda: _lead(gate, metrics, True),
            on_stopped=lambda: _lead(gate, metrics, False),
        )
    else:
        metrics.leader.set(1)
    try:
        endpoints = Endpoints(address, metrics, controller.ready).start() if address else None
    except OSError as err:
        print(f"error: cannot serve metrics on {args.metrics_bind_address}: {err}", file=sys.stderr)
        return 2
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    controller.start()
    if elector is not None:
        elector.start()
    log.info(
        "controller started",
        extra={"workers": args.workers, "namespace": args.namespace, "file_root": args.file_root},
    )
    stopping.wait()
    log.info("shutting down")
    deadline = time.monotonic() + args.shutdown_grace
    finished = controller.stop(args.shutdown_grace)
    if not finished:
        log.warning("in-flight reconciles did not finish in time", extra={"grace": args.shutdown_grace})
    if not events.flush(max(deadline - time.monotonic(), 0.0)):
        log.warning("some events were not sent in time", extra={"grace": args.shutdown_grace})
    if elector is not None:
        elector.stop()
    if endpoints is not None:
        endpoints.stop()
    log.info("stopped")
    return 0


def _lead(gate: Gate, metrics: Metrics, leading: bool) -> None:
    gate.set(leading)
    metrics.leader.set(1 if leading else 0)


def main() -> int:
    return run(Reconciler)


if __name__ == "__main__":
    sys.exit(main())
