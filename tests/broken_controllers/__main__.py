"""``python -m tests.broken_controllers DEFECT [controller options]``."""

from __future__ import annotations

import sys

from reference_controller.__main__ import run
from tests.broken_controllers.defects import DEFECTS


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in DEFECTS:
        print(f"usage: python -m tests.broken_controllers {{{','.join(DEFECTS)}}} [options]", file=sys.stderr)
        return 2
    return run(DEFECTS[sys.argv[1]], sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
