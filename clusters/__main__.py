"""``python -m clusters``: a local control plane on its own, for kubectl and for
running a controller by hand against it.

    python -m clusters up              # until Ctrl-C
    python -m clusters up --detach     # in the background; then:
    python -m clusters down
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import threading
from pathlib import Path

from clusters.base import ClusterError
from clusters.local.assets import cache_root
from clusters.local.controlplane import LocalControlPlane
from clusters.processes import terminate_group


def _state_dir(name: str) -> Path:
    return cache_root() / "clusters" / name


def up(args: argparse.Namespace) -> int:
    state = _state_dir(args.name)
    if (state / "state.json").exists():
        print(
            f"error: cluster {args.name!r} is already up; run 'python -m clusters down' first.",
            file=sys.stderr,
        )
        return 1
    kubeconfig = Path(args.kubeconfig).resolve()
    workdir = state if args.detach else None
    plane = LocalControlPlane(workdir=workdir, kubeconfig_path=kubeconfig, detached=args.detach)
    try:
        cluster = plane.start()
    except ClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"kube-apiserver {plane.version()} ready at {cluster.server} in {plane.startup_seconds:.1f}s")
    print(f"export KUBECONFIG={kubeconfig}")
    if args.detach:
        pids = [p.pid for p in plane.processes]
        (state / "state.json").write_text(json.dumps({"pids": pids, "kubeconfig": str(kubeconfig)}))
        print(f"stop it with: python -m clusters down --name {args.name}")
        return 0
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print("Ctrl-C stops it.")
    stop.wait()
    plane.stop()
    kubeconfig.unlink(missing_ok=True)
    return 0


def down(args: argparse.Namespace) -> int:
    state = _state_dir(args.name)
    try:
        recorded = json.loads((state / "state.json").read_text())
    except FileNotFoundError:
        print(f"cluster {args.name!r} is not up.")
        return 0
    for pid in reversed(recorded["pids"]):  # kube-apiserver before the etcd it needs to shut down
        terminate_group(pid)
    Path(recorded["kubeconfig"]).unlink(missing_ok=True)
    shutil.rmtree(state, ignore_errors=True)
    print(f"cluster {args.name!r} stopped.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clusters", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start kube-apiserver and etcd")
    start.add_argument(
        "--kubeconfig", default="kubeconfig", help="where to write the kubeconfig (default ./kubeconfig)"
    )
    start.add_argument("--detach", action="store_true", help="leave it running in the background")
    start.add_argument("--name", default="default", help="name of a detached cluster")
    start.set_defaults(run=up)
    stop = commands.add_parser("down", help="stop a detached cluster")
    stop.add_argument("--name", default="default")
    stop.set_defaults(run=down)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
