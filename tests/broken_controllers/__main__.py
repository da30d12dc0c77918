"""``python -m tests.broken_controllers DEFECT [controller options]``; a conforming variant's
name works the same way."""

from __future__ import annotations

import sys

from reference_controller.__main__ import run
from tests.broken_controllers.defects import DEFECTS
from tests.broken_controllers.variants import VARIANTS


def main() -> int:
    known = {**DEFECTS, **VARIANTS}
    if len(sys.argv) < 2 or sys.argv[1] not in known:
        print(f"usage: python -m tests.broken_controllers {{{','.join(known)}}} [options]", file=sys.stderr)
        return 2
    return run(known[sys.argv[1]], sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
