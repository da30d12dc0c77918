"""Every scenario, run end to end against the controller under test.

The run starts every selected scenario once collection ends (``conformance.run.pool``);
each test waits for its scenario's outcome and reports it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance import plugin
from conformance.binding.binding import Binding
from conformance.reports.outcome import Outcome
from conformance.scenarios.model import Scenario

pytestmark = pytest.mark.conformance


def test_scenario(
    request: pytest.FixtureRequest,
    scenario: Scenario,
    nc_binding: Binding,
    scenario_outcome: Callable[[Scenario], Outcome],
) -> None:
    reason = plugin.not_run(scenario, nc_binding, plugin.fits(request.config)[scenario.name])
    if reason is not None:
        pytest.skip(reason)
    outcome = scenario_outcome(scenario)
    if outcome.summary is not None:
        request.node.user_properties.append((plugin.RESULT_PROPERTY, outcome.summary))
    if outcome.binding_error:
        request.node.user_properties.append((plugin.BINDING_ERROR_PROPERTY, outcome.message))
    if outcome.status == "skipped":
        pytest.skip(outcome.message)
    if outcome.status != "passed":
        pytest.fail(outcome.message, pytrace=False)
