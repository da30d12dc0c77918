"""Certification mode: a run whose report can stand as a certificate.

A certification runs every core test once, with the default tolerances, against a
described implementation. Anything else (re-runs, a subset, loosened bounds) is
refused in certification mode, and in any other run written into the report's
``mode.deviations``, so that no report looks like a clean certification when it
is not one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from conformance.contract.tolerances import Tolerances
from conformance.reports import implementation

CERTIFIED = Tolerances()
"""The tolerances a certification runs with: none may be loosened."""


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:g}ms"


def deviations(option: Any, tolerances: Tolerances) -> list[str]:
    """What in this pytest invocation (``config.option``) a certification does not allow."""
    found = []
    reruns = getattr(option, "reruns", 0) or 0
    if reruns:
        found.append(f"failed tests are re-run (--reruns {reruns})")
    count = getattr(option, "count", 1) or 1
    if count > 1:
        found.append(f"every test is repeated (--count {count})")
    for flag, text in (
        ("lf", "only the last run's failures are run (--lf)"),
        ("failedfirst", "the last run's failures run first (--ff)"),
        ("stepwise", "the run stops at the first failure and resumes there (--sw)"),
    ):
        if getattr(option, flag, False):
            found.append(text)
    if getattr(option, "maxfail", 0):
        found.append(f"the run stops after {option.maxfail} failures (-x/--maxfail)")
    if getattr(option, "keyword", ""):
        found.append(f"tests are selected by name (-k {option.keyword!r})")
    if getattr(option, "markexpr", ""):
        found.append(f"tests are selected by marker (-m {option.markexpr!r})")
    if getattr(option, "deselect", None):
        found.append(f"tests are deselected (--deselect {' '.join(option.deselect)})")
    if tolerances.epsilon > CERTIFIED.epsilon:
        found.append(
            f"lower bounds are loosened: epsilon {_ms(tolerances.epsilon)} is above "
            f"the certified {_ms(CERTIFIED.epsilon)}"
        )
    if tolerances.slack > CERTIFIED.slack:
        found.append(
            f"upper bounds are loosened: slack {_ms(tolerances.slack)} is above "
            f"the certified {_ms(CERTIFIED.slack)}"
        )
    return found


def unselected_core(core: Iterable[str], selected: Iterable[str]) -> list[str]:
    """Core scenarios that the run does not include, whatever left them out."""
    chosen = set(selected)
    return sorted(name for name in core if name not in chosen)


def not_selected_text(names: list[str]) -> str:
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"{len(names)} core scenarios were not run: {shown}"


def refusal(found: list[str]) -> str:
    """The one sentence that refuses a certification."""
    return f"Certification mode refuses this run: {'; '.join(found)}."


def assess(
    config: pytest.Config,
    tolerances: Tolerances,
    core: list[str],
    selected: list[str],
    described: dict[str, str],
) -> list[str]:
    """This run's deviations; in certification mode, a UsageError for any of them.

    ``core``: the shipped core scenarios; ``selected``: the scenarios this run loads.
    """
    found = deviations(config.option, tolerances)
    left_out = unselected_core(core, selected)
    if left_out:
        found.append(not_selected_text(left_out))
    if any("::" in arg for arg in config.args):
        found.append(f"tests are selected by node id ({' '.join(config.args)})")
    if config.getoption("nc_certify"):
        missing = implementation.missing(described)
        if missing:
            raise pytest.UsageError(
                f"Certification needs the implementation's {', '.join(missing)}: give them in "
                "--nc-implementation FILE (and --nc-implementation-version)."
            )
        if found:
            raise pytest.UsageError(refusal(found))
    return found


def mode(certify: bool, found: list[str], core: list[str], ran: list[str], reruns: int) -> dict[str, Any]:
    """The report's ``mode``: certification holds only when nothing deviated, including core
    tests that were selected but never ran (an interrupted run)."""
    found = list(found)
    not_run = unselected_core(core, ran)
    if not_run and not any("core scenarios were not run" in text for text in found):
        found.append(not_selected_text(not_run))
    if reruns:
        found.append(f"{reruns} test runs were repeated after failing")
    return {"certification": certify and not found, "deviations": found, "reruns": reruns}
