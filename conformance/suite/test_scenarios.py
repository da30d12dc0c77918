"""Every scenario, run end to end against the controller under test."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.binding.binding import Binding, BindingError
from conformance.environment.control import ControlError
from conformance.reports import text
from conformance.run.result import ScenarioResult
from conformance.scenarios.model import Scenario

pytestmark = pytest.mark.conformance


def test_scenario(
    scenario: Scenario, nc_binding: Binding, run_scenario: Callable[[Scenario], ScenarioResult]
) -> None:
    missing = sorted(set(scenario.features) - set(nc_binding.features))
    if missing:
        pytest.skip(f"binding {nc_binding.name} does not claim {', '.join(missing)}")
    try:
        result = run_scenario(scenario)
    except BindingError as err:
        pytest.fail(str(err), pytrace=False)
    except ControlError as err:
        pytest.fail(f"The suite could not restart the controller: {err}", pytrace=False)
    if not result.verdict.passed:
        pytest.fail(text.failure_message(result), pytrace=False)
