"""``python -m examples.alert_controller``: run the Alert controller until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from kubernetes import client, config

from examples.alert_controller.controller import AlertController


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="alert_controller",
        description="Send Alerts (alerting.example.io/v1beta1) to their receivers, retrying with backoff.",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file; in-cluster configuration when omitted")
    parser.add_argument("--context", help="kubeconfig context to use")
    parser.add_argument("--namespace", help="watch only this namespace (default: all)")
    parser.add_argument("--workers", type=int, default=8, help="Alerts reconciled at once (default 8)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if args.kubeconfig:
            config.load_kube_config(config_file=args.kubeconfig, context=args.context)
        else:
            config.load_incluster_config()
    except (config.ConfigException, OSError) as err:
        print(f"error: cannot load Kubernetes configuration: {err}", file=sys.stderr)
        return 2
    controller = AlertController(client.CustomObjectsApi(), args.namespace, args.workers)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    controller.start()
    logging.info("alert controller started (namespace: %s, uid %d)", args.namespace or "all", os.getuid())
    stopping.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
