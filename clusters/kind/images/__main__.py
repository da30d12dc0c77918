"""``python -m clusters.kind.images controller | node | path``: build the reference controller's
image or the kind node image (with every image it carries) without a registry, reusing the
cache; ``path`` prints the folder of the built kubectl (and kubelet, kubeadm) for PATH."""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from clusters.kind.images import base, controller, kube, node
from clusters.local.assets import AssetsError


def _log(message: str) -> None:
    print(f"[images] {message}", file=sys.stderr, flush=True)


def prepare(what: list[str]) -> None:
    """The slow, cached parts first, side by side: the root file systems (debootstrap waits on
    the network and disks) while the Go builds keep the processors busy."""
    roots = [base.BASE, *([base.NODE_BASE] if "node" in what else [])]
    with ThreadPoolExecutor(len(roots), thread_name_prefix="debootstrap") as pool:
        bootstraps = [pool.submit(base.bootstrap, root, _log) for root in roots]
        if "node" in what:
            node.binaries(_log)
        for bootstrap in bootstraps:
            bootstrap.result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clusters.kind.images", description=__doc__)
    parser.add_argument("what", choices=["controller", "node", "path"], nargs="+")
    args = parser.parse_args(argv)
    if args.what == ["path"]:
        print(kube.cache_dir())
        return 0
    try:
        prepare(args.what)
        for what in (w for w in args.what if w != "path"):
            started = time.monotonic()
            tag = controller.build(_log) if what == "controller" else node.ensure_node_image(_log)
            _log(f"{tag} ready after {time.monotonic() - started:.0f}s")
    except AssetsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
