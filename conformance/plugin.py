"""The pytest plugin's declarations: options (from ``conformance.environment.settings``),
markers and fixtures, and how scenarios become test items.

Installed as a ``pytest11`` entry point, so ``pytest --help`` lists the options
wherever the package is installed. The run's life cycle is ``conformance.session``'s,
registered only when the suite itself (``conformance/suite``) is collected.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.binding.binding import Binding, BindingError
from conformance.contract.requirements import FEATURES
from conformance.contract.tolerances import Tolerances
from conformance.environment.context import RunContext
from conformance.environment.control import ControlClient, ControlError
from conformance.environment.settings import OPTIONS, Settings, SettingsError, paths, settings
from conformance.reports.outcome import Outcome
from conformance.run.pool import ScenarioPool
from conformance.run.runner import SETUPS
from conformance.scenarios.fitting import Fit
from conformance.scenarios.load import load
from conformance.scenarios.model import FLAGS, Scenario, ScenarioError
from conformance.scenarios.plan import plan_for

RESULT_PROPERTY = "nc_result"
SCENARIO_PROPERTY = "nc_scenario"
BINDING_ERROR_PROPERTY = "nc_binding_error"
FITS_KEY = pytest.StashKey[dict[str, Fit]]()
CONTEXT_KEY = pytest.StashKey[RunContext]()
POOL_KEY = pytest.StashKey[ScenarioPool[Outcome]]()
TEST_TIMEOUT_MARGIN = 30.0
SETUP_ALLOWANCE = 2.0
"""Seconds one scenario's set-up may take (namespace, channels, object), generously: 0.1-0.5 s here."""
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


def fits(config: pytest.Config) -> dict[str, Fit]:
    """Every scenario fitted into the binding's limits, once per process."""
    if FITS_KEY not in config.stash:
        try:
            binding = Binding.load(Path(option(config, "binding")))
        except BindingError as err:
            raise pytest.UsageError(str(err)) from None
        config.stash[FITS_KEY] = {s.name: binding.fit(s) for s in load_scenarios(config)}
    return config.stash[FITS_KEY]


def not_run(scenario: Scenario, binding: Binding, fit: Fit) -> str | None:
    """Why a scenario's test skips without running it: a feature the binding does not claim, or
    a limit of its API that cannot express it. The session starts only the others."""
    missing = sorted(set(scenario.features) - set(binding.features))
    if missing:
        return f"binding {binding.name} does not claim {', '.join(missing)}"
    if fit.scenario is None:
        return f"not applicable to binding {binding.name}: {fit.reason}"
    return None


def runs_alone(scenario: Scenario, scoped: bool) -> bool:
    """Whether the scenario must hold the run's exclusive lease: flagged serial, or disruptive
    without an instance of its own (``scoped``: the controller command takes ``{namespace}``)."""
    return "serial" in scenario.flags or ("disruptive" in scenario.flags and not scoped)


def scoped(config: pytest.Config) -> bool:
    return "{namespace}" in (option(config, "controller-cmd") or "")


def queue_wait(config: pytest.Config) -> float:
    """The longest a scenario may wait before it starts: its turn to set up, behind every other
    scenario's at worst; and, for one that runs alone, until the longest scenario it must not
    overlap ends and every other that runs alone has had its turn."""
    tolerances = settings_from(config).tolerances
    fitted = [f.scenario for f in fits(config).values() if f.scenario is not None]
    setting_up = len(fitted) * SETUP_ALLOWANCE / SETUPS
    alone = [s for s in fitted if runs_alone(s, scoped(config))]
    if not alone:
        return setting_up
    shared = [timeout_for(s, tolerances) for s in fitted if s not in alone]
    return setting_up + max(shared, default=0.0) + sum(timeout_for(s, tolerances) for s in alone)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: a conformance scenario run against the controller")
    for flag in FLAGS:
        config.addinivalue_line("markers", f"{flag}: a conformance scenario flagged {flag}")
    for feature in FEATURES:
        marker = feature.replace("-", "_")
        config.addinivalue_line(
            "markers", f"{marker}: a conformance scenario that needs the {feature} feature"
        )


def marks_for(scenario: Scenario, tolerances: Tolerances, wait: float = 0.0) -> list[pytest.MarkDecorator]:
    """pytest marks for a scenario, so that -m selects by feature and flag; its timeout also covers
    ``wait``, the longest it may wait before it starts."""
    marks = [pytest.mark.timeout(timeout_for(scenario, tolerances) + wait)]
    marks += [getattr(pytest.mark, feature.replace("-", "_")) for feature in scenario.features]
    marks += [getattr(pytest.mark, flag) for flag in scenario.flags]
    if "provisional" in scenario.flags:
        marks.append(pytest.mark.xfail(reason="provisional: reported, not yet required", strict=False))
    return marks


def scenario_metadata(scenario: Scenario, fit: Fit) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "features": list(scenario.features),
        "requirements": list(scenario.requirements),
        "flags": list((fit.scenario or scenario).flags),
        "notApplicable": fit.reason,
        "timeFactor": fit.factor,
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


@pytest.fixture
def scenario_outcome(request: pytest.FixtureRequest, nc_context: RunContext) -> Callable[[Scenario], Outcome]:
    """The outcome of a scenario the run started: from its pool in this process, or asked of the
    process that set the run up (a pytest-xdist worker's case)."""

    def wait(scenario: Scenario) -> Outcome:
        fitted = fits(request.config)[scenario.name].scenario or scenario
        timeout = timeout_for(fitted, nc_context.tolerances) + queue_wait(request.config)
        pool = request.config.stash.get(POOL_KEY, None)
        try:
            if pool is not None:
                return pool.outcome(scenario.name, timeout)
            return Outcome.from_dict(ControlClient(nc_context.control_url).outcome(scenario.name, timeout))
        except (ControlError, KeyError, TimeoutError) as err:
            pytest.fail(f"The run has no outcome of scenario {scenario.name!r}: {err or 'timed out'}.", False)

    return wait


def timeout_for(scenario: Scenario, tolerances: Tolerances) -> float:
    """From the scenario as the binding runs it: its deadline and quiet bound, both scaled with it."""
    deadline = plan_for(scenario, tolerances).deadline
    return deadline + tolerances.quiet_max * scenario.time_factor + TEST_TIMEOUT_MARGIN
