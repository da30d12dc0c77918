"""A scenario's outcome as its test reports it: passed, failed with the text that says why,
or skipped with a reason; plain JSON, so that a pytest-xdist worker's test can receive it
from the process that ran the scenario.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from conformance.binding.binding import BindingError
from conformance.binding.refusal import RefusedScenario
from conformance.environment.launch import CANNOT_RESTART, LaunchError
from conformance.reports import record, text
from conformance.run.result import ScenarioResult
from conformance.scenarios.model import Scenario


@dataclass(frozen=True)
class Outcome:
    status: str
    """passed, failed or skipped."""
    message: str = ""
    summary: dict[str, Any] | None = None
    """The run record's entry (``conformance.reports.record``), for a scenario that ran."""
    binding_error: bool = False
    """The API server refused what the binding declared expressible: the binding's error."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        return cls(**data)


def attempt(
    scenario: Scenario,
    run: Callable[[Scenario], ScenarioResult],
    restartable: bool,
    controller_gone: Callable[[], str | None],
) -> Outcome:
    """Run ``scenario``; every way it can end becomes an outcome, none an exception.

    ``controller_gone``: why the controller cannot be tested any more, or None."""
    if "disruptive" in scenario.flags and not restartable:
        return Outcome("skipped", CANNOT_RESTART)
    gone = controller_gone()
    if gone is not None:
        return Outcome("failed", gone)
    try:
        result = run(scenario)
    except RefusedScenario as err:  # the binding's error, not the controller's failure
        return Outcome("failed", str(err), binding_error=True)
    except BindingError as err:
        return Outcome("failed", str(err))
    except LaunchError as err:
        return Outcome("failed", f"The suite could not restart the controller: {err}")
    except Exception:
        return Outcome("failed", f"The suite failed while running this scenario:\n{traceback.format_exc()}")
    if result.verdict.passed:
        return Outcome("passed", summary=record.summary(result))
    return Outcome("failed", text.failure_message(result), record.summary(result))


def controller_exited(workdir: Path, log: Path, lines: int = 10) -> str:
    """Said in full by the first scenario that finds the controller gone, and briefly by the others."""
    try:
        (workdir / "controller-exit-reported").touch(exist_ok=False)
    except FileExistsError:
        return f"The controller under test has exited; its log is {log}."
    live = workdir / "controller.log"
    tail = live.read_text(errors="replace").splitlines()[-lines:] if live.exists() else []
    ending = "\n".join(f"  {line}" for line in tail) if tail else "  (it wrote nothing)"
    return f"The controller under test has exited; its log is {log}, which ends:\n{ending}"
