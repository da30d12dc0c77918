"""Variants of the reference controller that still conform: the suite must pass them.

Each does something the specification allows and a careless suite would count against it.
"""

from __future__ import annotations

import sys

from reference_controller.api import Object
from reference_controller.reconciler import Attempt, Reconciler


class LogsToStdout(Reconciler):
    """Also writes a plain-text log line per attempt to standard output, naming the subject:
    not a console delivery line, since it does not hold the body."""

    def attempt(self, obj: Object, channel: Object, number: int) -> Attempt:
        result = super().attempt(obj, channel, number)
        outcome = "delivered" if result.error is None else f"failed: {result.error}"
        sys.stdout.write(f"attempt {number} on {channel['name']} for {obj['spec']['subject']}: {outcome}\n")
        sys.stdout.flush()
        return result


VARIANTS: dict[str, type[Reconciler]] = {"logs-to-stdout": LogsToStdout}
