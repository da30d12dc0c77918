"""The pytest plugin's declarations: options (from ``conformance.environment.settings``),
markers and fixtures, and how scenarios become test items.

Installed as a ``pytest11`` entry point, so ``pytest --help`` lists the options
wherever the package is installed. The run's life cycle is ``conformance.session``'s,
registered only when the suite itself (``conformance/suite``) is collected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from conformance.binding.binding import Binding
from conformance.contract.requirements import FEATURES
from conformance.contract.tolerances import Tolerances
from conformance.environment.context import RunContext
from conformance.environment.control import ControlClient
from conformance.environment.launch import CANNOT_RESTART
from conformance.environment.settings import OPTIONS, Settings, SettingsError, paths, settings
from conformance.reports import record
from conformance.run.result import ScenarioResult
from conformance.run.runner import ScenarioRunner
from conformance.scenarios.load import load
from conformance.scenarios.model import FLAGS, Scenario, ScenarioError
from conformance.scenarios.plan import plan_for

RESULT_PROPERTY = "nc_result"
SCENARIO_PROPERTY = "nc_scenario"
CONTEXT_KEY = pytest.StashKey[RunContext]()
TEST_TIMEOUT_MARGIN = 30.0
BY_NAME = {o.name: o for o in OPTIONS}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("notification-conformance", "notification controller conformance")
    for each in OPTIONS:
        if each.switch:
            group.addoption(f"--nc-{each.name}", action="store_true", default=False, help=each.help)
        elif each.ini:
            group.addoption(
                f"--nc-{each.name}", dest=each.dest, default=None, help=f"{each.help} [ini: {each.dest}]"
            )
            parser.addini(each.dest, each.help, default=each.default)
        else:
            group.addoption(f"--nc-{each.name}", dest=each.dest, default=None, help=each.help)


def option(config: pytest.Config, name: str) -> Any:
    """The option's value: from the command line, else from the ini file, else its default."""
    declared = BY_NAME[name]
    value = config.getoption(declared.dest)
    return config.getini(declared.dest) if value is None and declared.ini and not declared.switch else value


def settings_from(config: pytest.Config) -> Settings:
    try:
        return settings(lambda name: option(config, name))
    except SettingsError as err:
        raise pytest.UsageError(str(err)) from err


def scenario_paths(config: pytest.Config) -> list[Path]:
    return paths(option(config, "scenarios"))


def load_scenarios(config: pytest.Config) -> list[Scenario]:
    try:
        return load(scenario_paths(config))
    except ScenarioError as err:
        raise pytest.UsageError(str(err)) from err


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: a conformance scenario run against the controller")
    for flag in FLAGS:
        config.addinivalue_line("markers", f"{flag}: a conformance scenario flagged {flag}")
    for feature in FEATURES:
        marker = feature.replace("-", "_")
        config.addinivalue_line(
            "markers", f"{marker}: a conformance scenario that needs the {feature} feature"
        )


def marks_for(scenario: Scenario, tolerances: Tolerances) -> list[pytest.MarkDecorator]:
    """pytest marks for a scenario, so that -m selects by feature and flag."""
    marks = [pytest.mark.timeout(timeout_for(scenario, tolerances))]
    marks += [getattr(pytest.mark, feature.replace("-", "_")) for feature in scenario.features]
    marks += [getattr(pytest.mark, flag) for flag in scenario.flags]
    if "provisional" in scenario.flags:
        marks.append(pytest.mark.xfail(reason="provisional: reported, not yet required", strict=False))
    return marks


def scenario_metadata(scenario: Scenario) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "features": list(scenario.features),
        "requirements": list(scenario.requirements),
        "flags": list(scenario.flags),
    }


@pytest.fixture(scope="session")
def nc_context(pytestconfig: pytest.Config) -> RunContext:
    workerinput = getattr(pytestconfig, "workerinput", None)
    if workerinput is not None and "nc_context" in workerinput:
        return RunContext.from_json(workerinput["nc_context"])
    context = pytestconfig.stash.get(CONTEXT_KEY, None)
    if context is None:
        pytest.fail("The conformance environment is not running; run the suite in conformance/suite.")
    return context


@pytest.fixture(scope="session")
def nc_binding(nc_context: RunContext) -> Binding:
    return Binding.load(Path(nc_context.binding))


@pytest.fixture(scope="session")
def nc_api_client(nc_context: RunContext) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(nc_context.kubeconfig, context=nc_context.kube_context)
    yield api_client
    api_client.close()


@pytest.fixture(scope="session")
def scenario_runner(
    nc_context: RunContext, nc_binding: Binding, nc_api_client: client.ApiClient
) -> ScenarioRunner:
    return ScenarioRunner(nc_context, nc_binding, nc_api_client)


@pytest.fixture
def run_scenario(
    request: pytest.FixtureRequest, scenario_runner: ScenarioRunner, nc_context: RunContext
) -> Callable[[Scenario], ScenarioResult]:
    """Run a scenario, attach its timeline to the test's report, and return the result."""

    control = ControlClient(nc_context.control_url)

    def run(scenario: Scenario) -> ScenarioResult:
        disruptive = "disruptive" in scenario.flags
        if disruptive and not nc_context.restartable:
            pytest.skip(CANNOT_RESTART)
        alone = disruptive or "serial" in scenario.flags
        with control.lease(exclusive=alone, timeout=timeout_for(scenario, nc_context.tolerances)):
            if not control.controller_alive():
                pytest.fail("The controller under test has exited; see reports/controller.log.")
            result = scenario_runner.run(scenario)
        request.node.user_properties.append((RESULT_PROPERTY, record.summary(result)))
        return result

    return run


def timeout_for(scenario: Scenario, tolerances: Tolerances) -> float:
    return plan_for(scenario, tolerances).deadline + tolerances.quiet_max + TEST_TIMEOUT_MARGIN
