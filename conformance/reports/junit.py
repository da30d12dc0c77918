"""Failures of the run's own set-up and clean-up, in the JUnit XML that CI systems read.

pytest's junitxml records tests, but a run whose environment cannot start ends
before any test (and before junitxml writes its file), and the environment's
clean-up happens after the last test. Both are reported here as a test case
named for the phase, with the one-sentence message as the error.
"""

from __future__ import annotations

import datetime
import platform
from pathlib import Path
from xml.etree import ElementTree

import pytest

ENVIRONMENT_NODEID = "conformance::environment"
CLASSNAME = "conformance"


def write_setup_error(path: Path, message: str, suite_name: str = "pytest", duration: float = 0.0) -> None:
    """Write a JUnit file holding one test case, ``environment set-up``, that errored."""
    suites = ElementTree.Element("testsuites", name="pytest tests")
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name=suite_name,
        errors="1",
        failures="0",
        skipped="0",
        tests="1",
        time=f"{duration:.3f}",
        timestamp=datetime.datetime.now(datetime.UTC).astimezone().isoformat(),
        hostname=platform.node(),
    )
    case = ElementTree.SubElement(
        suite, "testcase", classname=CLASSNAME, name="environment set-up", time=f"{duration:.3f}"
    )
    error = ElementTree.SubElement(case, "error", message=f"environment set-up failed: {message}")
    error.text = message
    path.parent.mkdir(parents=True, exist_ok=True)
    ElementTree.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def environment_error(message: str) -> pytest.TestReport:
    """An error after the last test (clean-up, writing the report) as a test report, so that
    junitxml and the terminal both record it."""
    return pytest.TestReport(
        nodeid=ENVIRONMENT_NODEID,
        location=("conformance", None, "environment"),
        keywords={},
        outcome="failed",
        longrepr=message,
        when="teardown",
    )
