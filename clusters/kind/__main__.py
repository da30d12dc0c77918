"""``python -m clusters.kind check | plan``: is this machine ready for the kind gate, and what
would the gate run.

    check   one sentence and exit status 1 when kind, kubectl, docker or a Docker engine is missing
    plan    write the kind config and the overlay into FOLDER and print the commands, running none
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clusters.base import ClusterError
from clusters.kind import KindCluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clusters.kind",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["check", "plan"])
    parser.add_argument(
        "--folder", default="kind-plan", help="where 'plan' writes its files (default ./kind-plan)"
    )
    parser.add_argument(
        "--shared", default=".", help="the folder 'plan' shares with the controller's pod (default .)"
    )
    args = parser.parse_args(argv)
    folder = Path(args.folder).resolve()
    cluster = KindCluster(folder, Path(args.shared))
    if args.command == "check":
        try:
            cluster.check_tools()
        except ClusterError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print("kind, kubectl and a Docker engine are ready.")
        return 0
    cluster.write_files()
    print(f"# kind config: {cluster.config_path}\n# overlay: {cluster.overlay_path}")
    for command in [*cluster.start_commands(), *cluster.stop_commands()]:
        print(command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
