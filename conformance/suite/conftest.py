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
        fits = plugin.fits(metafunc.config)  # timeouts and flags of the scenario as the binding runs it
        wait = plugin.queue_wait(metafunc.config)
        metafunc.parametrize(
            "scenario",
            [
                pytest.param(
                    s, id=s.name, marks=plugin.marks_for(fits[s.name].scenario or s, tolerances, wait)
                )
                for s in scenarios
            ],
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        scenario = callspec.params.get("scenario") if callspec else None
        if scenario is not None:
            metadata = plugin.scenario_metadata(scenario, plugin.fits(config)[scenario.name])
            item.user_properties.append((plugin.SCENARIO_PROPERTY, metadata))
