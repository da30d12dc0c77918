"""The session: in the process that runs pytest, set the run's environment up and tear it
down, keep the run record as tests report, and write the reports at the end.

Registered by ``conformance/suite/conftest.py``, so that collecting the suite, and nothing
else, starts a cluster, a sink and a controller.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, cast

import pytest
from kubernetes import client, config

from conformance.binding import preflight
from conformance.binding.binding import Binding, BindingError
from conformance.contract.tolerances import Tolerances
from conformance.environment.context import RunContext
from conformance.environment.run_environment import RunEnvironment, SetupError
from conformance.environment.settings import DEFAULT_SCENARIOS
from conformance.plugin import (
    BINDING_ERROR_PROPERTY,
    CONTEXT_KEY,
    POOL_KEY,
    RESULT_PROPERTY,
    SCENARIO_PROPERTY,
    fits,
    load_scenarios,
    not_run,
    option,
    runs_alone,
    settings_from,
    timeout_for,
)
from conformance.reports import certification, document, html_page, implementation, junit, outcome
from conformance.reports.outcome import Outcome, controller_exited
from conformance.run.pool import ScenarioPool
from conformance.run.runner import ScenarioRunner, namespace_for
from conformance.scenarios.load import load
from conformance.scenarios.model import Scenario

STOP_TIMEOUT = 60.0
"""How long scenarios still running at the end may take to clean up."""
CONNECTIONS = 256
SCENARIO_ID = re.compile(r"::test_scenario\[(.+)\]$")


@dataclass
class TestRecord:
    """One test's outcome as the run record keeps it."""

    outcome: str = "passed"
    features: list[str] | None = None
    scenario: str | None = None
    requirements: list[str] | None = None
    notApplicable: str | None = None
    """Why the binding's limits cannot express the scenario."""
    bindingError: bool | None = None
    """The API server refused the scenario the binding declared expressible."""
    reason: str | None = None
    """Why it was skipped."""
    message: str | None = None
    """The first line that says why it failed."""

    def as_dict(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if value is not None}


@dataclass
class RunRecord:
    """What the run's tests reported, for the report written at the end."""

    started: float = field(default_factory=time.time)
    tests: dict[str, TestRecord] = field(default_factory=dict)
    """Node ID -> outcome."""
    results: list[dict[str, Any]] = field(default_factory=list)
    """Each run scenario's entry (``conformance.reports.record``)."""
    reruns: int = 0


class Session:
    """Runs in the process that started pytest (the xdist controller, or the only process)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.environment: RunEnvironment | None = None
        self.record = RunRecord()
        self.report: dict[str, Any] | None = None
        self.implementation: dict[str, str] = {}
        self.binding: dict[str, Any] = {}
        self.report_path: Path | None = None
        self.html_path: Path | None = None
        self.deviations: list[str] = []
        self.core: list[str] = []
        self._previous_sigterm: Any = None
        self.namespaces: dict[str, str] = {}
        """Every applicable scenario's namespace, known before the controller starts."""
        self.pool: ScenarioPool[Outcome] | None = None
        self.runner: ScenarioRunner | None = None
        self.api_client: client.ApiClient | None = None
        self._runnable: dict[str, Scenario] = {}
        """The scenarios the pool may start, by name (``plugin.not_run`` says why not the others)."""
        self._lock = threading.Lock()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.config.option.collectonly:
            return
        try:
            self._start()
        except (
            Exception
        ) as err:  # junitxml and the session's end write nothing for a session that never started
            message = str(err) if isinstance(err, pytest.UsageError) else f"{type(err).__name__}: {err}"
            xmlpath = self.config.option.xmlpath
            if xmlpath:
                suite_name = str(self.config.getini("junit_suite_name"))
                junit.write_setup_error(Path(xmlpath), message, suite_name, time.time() - self.record.started)
            self._write_refused(message)
            raise

    def _write_refused(self, message: str) -> None:
        """The YAML and HTML reports of a run that never started, saying why."""
        built = document.build(
            None,
            [],
            {},
            self.record.started,
            time.time(),
            {},
            implementation=self.implementation,
            binding=self.binding,
            refused=message,
        )
        directory = Path(option(self.config, "report-dir"))
        with contextlib.suppress(OSError, document.ReportError):  # the refusal's sentence comes first
            document.write(built, directory)
            html_page.write(built, directory)

    def _start(self) -> None:
        scenarios = load_scenarios(self.config)
        settings = settings_from(self.config)
        try:
            binding = Binding.load(settings.binding)
            applicable = (s for s in scenarios if binding.fit(s).scenario is not None)
            preflight.samples(binding, "preflight", next(applicable, None))  # template errors before set-up
            described = option(self.config, "implementation")
            self.implementation = implementation.load(
                Path(described) if described else None, option(self.config, "implementation-version")
            )
        except (BindingError, implementation.ImplementationError) as err:
            raise pytest.UsageError(str(err)) from err
        self.binding = binding.declarations()
        self.core = [s.name for s in load([DEFAULT_SCENARIOS]) if s.features == ("core",)]
        self.deviations = certification.assess(
            self.config, settings.tolerances, self.core, [s.name for s in scenarios], self.implementation
        )
        self._previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
        self.environment = RunEnvironment(settings)
        run = secrets.token_hex(3)
        fitted = fits(self.config)
        fitting = [s for s in scenarios if fitted[s.name].scenario is not None]
        self.namespaces = {s.name: namespace_for(s.name, run) for s in fitting}
        ready = f"nc-ready-{run}"
        shared = [ready, *(self.namespaces[s.name] for s in fitting if "disruptive" not in s.flags)]
        try:
            context = self.environment.start(shared, ready)
        except (SetupError, BindingError) as err:
            self.environment = None
            raise pytest.UsageError(str(err)) from err
        self.config.stash[CONTEXT_KEY] = context
        self._start_pool(binding, scenarios, context, self.environment)

    def _start_pool(
        self, binding: Binding, scenarios: list[Scenario], context: RunContext, environment: RunEnvironment
    ) -> None:
        """The pool every selected scenario runs in, once collection says which are selected."""
        log = Path(option(self.config, "report-dir")).resolve() / "controller.log"

        def gone(namespace: str) -> str | None:
            return None if environment.alive(namespace) else controller_exited(context.workpath, log)

        def attempt(scenario: Scenario) -> Outcome:
            namespace = self.namespaces[scenario.name]
            runner = self._runner(binding, context, environment)
            return outcome.attempt(
                scenario, lambda s: runner.run(s, namespace), context.restartable, lambda: gone(namespace)
            )

        fitted = fits(self.config)
        pool = self.pool = ScenarioPool(
            attempt,
            lambda s: runs_alone(s, environment.scoped),
            lambda s: start_order(fitted[s.name].scenario or s, context.tolerances),
        )
        self.config.stash[POOL_KEY] = pool
        self._runnable = {s.name: s for s in scenarios if not_run(s, binding, fitted[s.name]) is None}
        if environment.control is not None:
            environment.control.outcomes = lambda name, timeout: pool.outcome(name, timeout).as_dict()

    def _runner(self, binding: Binding, context: RunContext, environment: RunEnvironment) -> ScenarioRunner:
        """One runner, and one API client, for every scenario; made when the first one starts."""
        with self._lock:
            if self.runner is None:
                self.api_client = api_client(context)
                self.runner = ScenarioRunner(context, binding, self.api_client, environment)
            return self.runner

    def _start_scenarios(self, names: Iterable[str]) -> None:
        """Those the binding claims and can express, each once; the others' tests skip."""
        if self.pool is not None:
            self.pool.start(self._runnable[name] for name in names if name in self._runnable)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not self.config.pluginmanager.has_plugin("dsession"):  # without xdist: this process runs them
            self._start_scenarios(_scenario_names(item.nodeid for item in session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self._start_scenarios(_scenario_names(ids))  # every worker collects the same items

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        context = config.stash.get(CONTEXT_KEY, None)
        if context is None:
            return []
        return [
            f"conformance: Kubernetes {context.kubernetes_version} ({context.cluster_provider}), "
            f"kubeconfig {context.kubeconfig}",
            f"conformance: controller {context.controller}",
            f"conformance: binding {context.binding}",
        ]

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        context = self.config.stash.get(CONTEXT_KEY, None)
        if context is not None:
            node.workerinput["nc_context"] = context.to_json()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if str(report.outcome) == "rerun":  # pytest-rerunfailures
            self.record.reruns += 1
            return
        test = self.record.tests.setdefault(report.nodeid, TestRecord())
        for name, value in report.user_properties:
            if name == SCENARIO_PROPERTY:
                metadata = cast(dict[str, Any], value)
                test.features = metadata["features"]
                test.scenario = metadata["name"]
                test.requirements = metadata["requirements"]
                test.notApplicable = metadata["notApplicable"]
            if name == BINDING_ERROR_PROPERTY:
                test.bindingError = True
        if report.when == "call" or not report.passed:  # set-up and clean-up count when they fail or skip
            test.outcome = report.outcome
            if report.skipped and isinstance(report.longrepr, tuple):
                test.reason = report.longrepr[2].removeprefix("Skipped: ")
            if report.failed:
                test.message = failure_message(report)
        if report.when == "call":
            self.record.results += [
                cast(dict[str, Any], value)
                for name, value in report.user_properties
                if name == RESULT_PROPERTY
            ]

    @pytest.hookimpl(tryfirst=True)  # before junitxml writes its file, so clean-up errors are in it
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        environment, self.environment = self.environment, None
        if environment is None:
            return
        directory = Path(option(self.config, "report-dir"))
        self._stop_scenarios()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            if environment.controller is not None:
                (directory / "controller.log").write_text(environment.controller_log_tail(100000))
        finally:
            try:
                environment.stop()
            except Exception as err:
                self._environment_error(session, f"The run's environment could not be cleaned up: {err}")
            if self._previous_sigterm is not None:
                signal.signal(signal.SIGTERM, self._previous_sigterm)
        self.report = document.build(
            environment.context,
            self.record.results,
            {node: test.as_dict() for node, test in self.record.tests.items()},
            self.record.started,
            time.time(),
            environment.details,
            implementation=self.implementation,
            mode=certification.mode(
                bool(option(self.config, "certify")),
                self.deviations,
                self.core,
                [t.scenario for t in self.record.tests.values() if t.scenario is not None],
                self.record.reruns,
            ),
            binding=self.binding,
            invocation={
                "dir": str(self.config.invocation_params.dir),
                "python": sys.executable,
                "args": list(self.config.invocation_params.args),
            },
        )
        try:
            self.report_path = document.write(self.report, directory)
        except document.ReportError as err:  # a bug of the suite's, which must not pass for a success
            self._environment_error(session, str(err))
            self.report = None
            return
        self.html_path = html_page.write(self.report, directory)

    def _stop_scenarios(self) -> None:
        """Scenarios still running (Ctrl-C, -x) stop waiting and clean up before the environment goes."""
        with self._lock:
            runner = self.runner
        if runner is not None:
            runner.cancel()
        if self.pool is not None:
            self.pool.join(STOP_TIMEOUT)
        if self.api_client is not None:
            self.api_client.close()
        self.pool = self.runner = self.api_client = None

    def _environment_error(self, session: pytest.Session, message: str) -> None:
        self.config.hook.pytest_runtest_logreport(report=junit.environment_error(message))
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.report is None:
            return
        terminalreporter.section("notification conformance")
        for line in document.summary_lines(self.report):
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"report: {self.report_path}")
        terminalreporter.write_line(f"html: {self.html_path}")


def failure_message(test_report: pytest.TestReport) -> str:
    """The first line that says why a test failed."""
    crash = getattr(test_report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else test_report.longreprtext
    lines = [line.strip().removeprefix("Failed: ") for line in str(text).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):  # "scenario 'x' violated the contract:" + the first
        return f"{lines[0]} {lines[1]}"[:500]
    return lines[0][:500] if lines else ""


def start_order(scenario: Scenario, tolerances: Tolerances) -> tuple[float, float]:
    """The longest first, so that the shorter ones end within its time; but a disruptive one after
    all the others, so that its restart comes once they have set up, not while they load the machine."""
    return float("disruptive" in scenario.flags), -timeout_for(scenario, tolerances)


def _scenario_names(node_ids: Iterable[str]) -> list[str]:
    """The scenario of each of the suite's test IDs (``...::test_scenario[<name>]``)."""
    return [m.group(1) for node in node_ids if (m := SCENARIO_ID.search(node))]


def api_client(context: RunContext) -> client.ApiClient:
    """One client for every scenario's calls, with a connection for each call in flight (each
    status watch has a client of its own)."""
    configuration = client.Configuration()
    config.load_kube_config(context.kubeconfig, context.kube_context, client_configuration=configuration)
    configuration.connection_pool_maxsize = CONNECTIONS
    return client.ApiClient(configuration)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM cleans up like Ctrl-C does."""
    raise KeyboardInterrupt
