"""``python -m clusters.kind.images controller | node | path``: build the reference controller's
image or the kind node image (with every image it carries) without a registry, reusing the
cache; ``path`` prints the folder of the built kubectl (and kubelet, kubeadm) for PATH."""

from __future__ import annotations

import argparse
import sys
import time

from clusters.kind.images import controller, kube, node
from clusters.local.assets import AssetsError


def _log(message: str) -> None:
    print(f"[images] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clusters.kind.images", description=__doc__)
    parser.add_argument("what", choices=["controller", "node", "path"], nargs="+")
    args = parser.parse_args(argv)
    if args.what == ["path"]:
        print(kube.cache_dir())
        return 0
    for what in (w for w in args.what if w != "path"):
        started = time.monotonic()
        try:
            tag = controller.build(_log) if what == "controller" else node.ensure_node_image(_log)
        except AssetsError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        _log(f"{tag} ready after {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
