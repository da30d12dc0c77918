"""``python -m examples.strict_controller``: run the Broadcast controller until SIGTERM or Ctrl-C.

Logs are plain text on stdout, beside the console deliveries, as many small
controllers have it; each line is whole, never interleaved with another.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from kubernetes import client, config

from examples.strict_controller import api, channels
from examples.strict_controller.controller import StrictController

DEFECTS = {"guard-in-one-phase": frozenset({api.WAITING})}
"""Deliberately broken variants: the phases in which each one keeps the time guard."""


class StdoutLines(logging.StreamHandler[TextIO]):
    """Log lines on stdout, each written whole under the lock console deliveries take."""

    def emit(self, record: logging.LogRecord) -> None:
        with channels.STDOUT:
            super().emit(record)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="strict_controller",
        description="Deliver Broadcasts (broadcast.example.org/v1) to their targets, retrying with backoff.",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file; in-cluster configuration when omitted")
    parser.add_argument("--context", help="kubeconfig context to use")
    parser.add_argument("--namespace", help="watch only this namespace (default: all)")
    parser.add_argument("--workers", type=int, default=4, help="Broadcasts reconciled at once (default 4)")
    parser.add_argument(
        "--defect",
        choices=sorted(DEFECTS),
        help="run a deliberately broken variant: guard-in-one-phase keeps the time guard only in "
        "the Waiting phase, so in Delivering its own status write makes it retry at once",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    handler = StdoutLines(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    try:
        if args.kubeconfig:
            config.load_kube_config(config_file=args.kubeconfig, context=args.context)
        else:
            config.load_incluster_config()
    except (config.ConfigException, OSError) as err:
        where = f" from {args.kubeconfig}" if args.kubeconfig else " in the cluster"
        print(f"error: cannot load the Kubernetes configuration{where}: {err}", file=sys.stderr)
        return 2
    guarded = DEFECTS.get(args.defect, api.PROGRESSING)
    controller = StrictController(client.CustomObjectsApi(), args.namespace, args.workers, guarded)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    controller.start()
    logging.info(
        "broadcast controller started (namespace: %s, defect: %s)", args.namespace or "all", args.defect
    )
    stopping.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
