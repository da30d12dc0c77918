"""Set-up and clean-up failures of the run end up in the JUnit XML."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from conformance.reports import junit

pytest_plugins = ["pytester"]


def test_setup_error_is_a_readable_junit_error(tmp_path: Path) -> None:
    path = tmp_path / "out" / "junit.xml"
    junit.write_setup_error(path, "The controller command ['nope'] was not found.", "suite", 3.2)
    root = ElementTree.parse(path).getroot()
    [suite] = root.iter("testsuite")
    assert (suite.get("name"), suite.get("errors"), suite.get("tests")) == ("suite", "1", "1")
    [case] = suite.iter("testcase")
    assert (case.get("classname"), case.get("name")) == ("conformance", "environment set-up")
    [error] = case.iter("error")
    assert error.get("message") == "environment set-up failed: The controller command ['nope'] was not found."


CONFTEST = '''
import pytest
from conformance import session
from conformance.environment.context import RunContext


class CleanUpFails:
    """The run's environment, except that clean-up fails the way a vanished API server makes it."""

    def __init__(self, settings):
        self.settings = settings
        self.controller = None
        self.control = None
        self.scoped = False
        self.details = {}
        self.context = None

    def start(self, shared=None, ready=None):
        self.context = RunContext("k", None, "local", "v1.36.3", "http://s", str(self.settings.binding),
                                  "/tmp", None, "ctl", "http://c", self.settings.tolerances)
        return self.context

    def stop(self):
        raise RuntimeError("namespace nc-x was not deleted: connection refused")


session.RunEnvironment = CleanUpFails


def pytest_configure(config):
    config.pluginmanager.register(session.Session(config), "nc-environment")
'''


def test_cleanup_failure_is_in_junit_the_report_and_the_exit_status(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_it="def test_fine():\n    pass\n")
    result = pytester.runpytest_subprocess(
        "--junitxml=junit.xml", "--nc-report-dir=rep", "-p", "no:cacheprovider"
    )
    assert result.ret == 1, result.stdout.str()
    result.stdout.fnmatch_lines(["*could not be cleaned up: namespace nc-x was not deleted*"])
    root = ElementTree.parse(pytester.path / "junit.xml").getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["test_fine"].find("error") is None
    [environment] = [c for c in cases.values() if c.find("error") is not None]
    message = environment.find("error").get("message", "")  # type: ignore[union-attr]
    assert "failed on teardown" in message, ElementTree.tostring(environment, "unicode")
    assert "namespace nc-x was not deleted: connection refused" in ElementTree.tostring(
        environment, "unicode"
    )
    written = yaml.safe_load((pytester.path / "rep" / "conformance-report.yaml").read_text())
    assert written["result"] == "failure"
    assert written["tests"][junit.ENVIRONMENT_NODEID] == "failed"
    assert written["failed"][0]["message"].startswith("The run's environment could not be cleaned up")
