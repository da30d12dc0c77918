"""``python -m reference_controller``: run the reference notification controller."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from kubernetes import client, config

from reference_controller import logs
from reference_controller.informer import Informer
from reference_controller.manager import Manager
from reference_controller.reconciler import Reconciler

log = logging.getLogger("reference_controller")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="reference_controller",
        description="Deliver NotificationRequests to their channels, retrying with exponential backoff.",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file; in-cluster configuration when omitted")
    parser.add_argument("--context", help="kubeconfig context to use")
    parser.add_argument("--namespace", help="watch only this namespace (default: all)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent reconciles (default 8)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser.parse_args(argv)


def api_from(args: argparse.Namespace) -> client.CustomObjectsApi:
    if args.kubeconfig:
        config.load_kube_config(config_file=args.kubeconfig, context=args.context)
    else:
        config.load_incluster_config()
    return client.CustomObjectsApi()


def run(reconciler_type: type[Reconciler], argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logs.configure(args.log_level)
    try:
        api = api_from(args)
    except (config.ConfigException, OSError) as err:
        print(f"error: cannot load Kubernetes configuration: {err}", file=sys.stderr)
        return 2
    manager = Manager(reconciler_type(api), Informer, args.workers, args.namespace)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    manager.start()
    log.info("controller started", extra={"workers": args.workers, "namespace": args.namespace})
    stopping.wait()
    log.info("shutting down")
    manager.stop()
    return 0


def main() -> int:
    return run(Reconciler)


if __name__ == "__main__":
    sys.exit(main())
