"""A pytest plugin for the suite run by ``test_file_channels``: it writes, for every attempt of a
failing file channel that the refusing filesystem saw, that stamp beside the controller's own
status timestamp, so the test can measure how far the two clocks' readings lie apart.

Loaded with ``-p tests.e2e.fuse_agreement_plugin`` (in the process that runs the scenarios); it
appends JSON lines to the file named by ``NC_FUSE_AGREEMENT``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from conformance.observers.observation import FUSE

ENV = "NC_FUSE_AGREEMENT"


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    from conformance.run.runner import ScenarioRunner

    original = ScenarioRunner.run

    def recorded(self: ScenarioRunner, scenario: Any, namespace: str | None = None) -> Any:
        result = original(self, scenario, namespace)
        observed = result.observed
        lines = []
        for channel, events in observed.external.items():
            if channel not in observed.fully_observed or not events or events[0].source != FUSE:
                continue
            mine = [a for a in observed.attempts if a.channel == channel]
            for attempt, event in zip(mine, events, strict=False):
                record = {"scenario": scenario.name, "channel": channel, "attempt": attempt.number}
                lines.append(json.dumps({**record, "fuse": event.time, "status": attempt.time}) + "\n")
        with open(path, "a") as handle:
            handle.writelines(lines)
        return result

    setattr(ScenarioRunner, "run", recorded)  # noqa: B010 - an instrument of this test only
