"""Turns the scenario files into tests and, in the process that runs pytest,
sets up the shared environment for them."""

from __future__ import annotations

import pytest

from conformance import plugin, session


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(session.Session(config), "nc-environment")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "scenario" in metafunc.fixturenames:
        scenarios = plugin.load_scenarios(metafunc.config)
        tolerances = plugin.settings_from(metafunc.config).tolerances
        metafunc.parametrize(
            "scenario",
            [pytest.param(s, id=s.name, marks=plugin.marks_for(s, tolerances)) for s in scenarios],
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        scenario = callspec.params.get("scenario") if callspec else None
        if scenario is not None:
            item.user_properties.append((plugin.SCENARIO_PROPERTY, plugin.scenario_metadata(scenario)))
