"""The pytest plugin: options, fixtures, and the run environment's life cycle.

Installed as a ``pytest11`` entry point, so ``pytest --help`` lists the options
wherever the package is installed. The cluster, sink and controller are started
only when the suite itself (``conformance/suite``) is collected.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, cast

import pytest
from kubernetes import client, config

from conformance.binding import preflight
from conformance.binding.binding import Binding, BindingError
from conformance.contract import durations
from conformance.contract.requirements import FEATURES
from conformance.contract.tolerances import Tolerances
from conformance.environment.context import RunContext
from conformance.environment.control import ControlClient
from conformance.environment.launch import CANNOT_RESTART
from conformance.environment.run_environment import RunEnvironment, Settings, SetupError
from conformance.reports import certification, document, html_page, implementation, junit, record
from conformance.run.result import ScenarioResult
from conformance.run.runner import ScenarioRunner
from conformance.scenarios import oracle
from conformance.scenarios.load import load
from conformance.scenarios.model import FLAGS, Scenario, ScenarioError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BINDING = PACKAGE_ROOT / "fixtures" / "bindings" / "reference"
DEFAULT_SCENARIOS = PACKAGE_ROOT / "fixtures" / "scenarios"
DEFAULT_CONTROLLER = (
    "{python} -m reference_controller --kubeconfig {kubeconfig} "
    "--file-root {workdir} --metrics-bind-address 0"
)
RESULT_PROPERTY = "nc_result"
SCENARIO_PROPERTY = "nc_scenario"
CONTEXT_KEY = pytest.StashKey[RunContext]()
TEST_TIMEOUT_MARGIN = 30.0

_OPTIONS: list[tuple[str, str, Any]] = [
    (
        "cluster",
        "where to run: 'local' (kube-apiserver + etcd started for the run), 'existing', or 'kind' "
        "(a kind cluster with the reference controller deployed in it; see make conformance-kind)",
        "local",
    ),
    ("kubeconfig", "kubeconfig for --nc-cluster=existing (default: $KUBECONFIG or ~/.kube/config)", None),
    ("context", "kubeconfig context for --nc-cluster=existing", None),
    (
        "controller-cmd",
        "command that runs the controller under test; may use {kubeconfig}, {context}, {python} "
        "and {workdir} (the run's work folder, below which file channels write); empty when the "
        "controller is already running",
        DEFAULT_CONTROLLER,
    ),
    (
        "controller-user",
        "run the controller command as this unprivileged user, e.g. nobody (the suite must be root)",
        None,
    ),
    (
        "controller-restart-cmd",
        "with an external controller: command that restarts it and returns once it is back, "
        "for disruptive tests; may use {kubeconfig}, {context} and {python}",
        "",
    ),
    (
        "controller-pod-selector",
        "with an external controller in the cluster: NAMESPACE/LABELSELECTOR of its pods; disruptive "
        "tests delete them and wait for a new Ready one",
        "",
    ),
    ("binding", "binding folder that maps scenarios onto the controller's API", str(DEFAULT_BINDING)),
    ("scenarios", "scenario files or folders (YAML + jinja2), separated by commas", str(DEFAULT_SCENARIOS)),
    ("report-dir", "folder for the conformance report", "reports"),
    ("epsilon", "measurement error forgiven below a gap's lower bound, e.g. 50ms", "50ms"),
    ("slack", "latency allowed above a gap's upper bound, e.g. 750ms", "750ms"),
    (
        "controller-rbac",
        "ServiceAccount and RBAC manifests (files or folders, comma-separated, e.g. deploy): the suite "
        "applies them and gives the controller command a {kubeconfig} for that ServiceAccount only",
        "",
    ),
    (
        "sink-address",
        "address the recording sink listens on and gives the controller (default 127.0.0.1, or one "
        "the cluster's pods reach)",
        None,
    ),
    (
        "implementation",
        "YAML file describing the controller under test: organization, project, url, version, contact",
        None,
    ),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("notification-conformance", "notification controller conformance")
    for name, help_text, default in _OPTIONS:
        ini = "nc_" + name.replace("-", "_")
        group.addoption(f"--nc-{name}", dest=ini, default=None, help=f"{help_text} [ini: {ini}]")
        parser.addini(ini, help_text, default=default)
    group.addoption(
        "--nc-keep-on-failure",
        action="store_true",
        default=False,
        help="keep a failed scenario's namespace and objects (a local cluster still goes at the end)",
    )
    group.addoption(
        "--nc-implementation-version",
        dest="nc_implementation_version",
        default=None,
        help="the implementation's version (a tag or commit); overrides the implementation file's",
    )
    group.addoption(
        "--nc-certify",
        action="store_true",
        default=False,
        help="certification mode: every core test once, default tolerances, a described implementation; "
        "refuses re-runs, subsets and loosened bounds",
    )


def option(config: pytest.Config, name: str) -> Any:
    key = "nc_" + name.replace("-", "_")
    value = config.getoption(key)
    return config.getini(key) if value is None else value


def duration_option(config: pytest.Config, name: str) -> float:
    try:
        return durations.parse(option(config, name))
    except ValueError as err:
        raise pytest.UsageError(f"--nc-{name}: {err}.") from err


def settings_from(config: pytest.Config) -> Settings:
    kubeconfig = option(config, "kubeconfig")
    tolerances = Tolerances(
        epsilon=duration_option(config, "epsilon"), slack=duration_option(config, "slack")
    )
    return Settings(
        cluster=option(config, "cluster"),
        kubeconfig=Path(kubeconfig) if kubeconfig else None,
        kube_context=option(config, "context"),
        binding=Path(option(config, "binding")),
        controller_cmd=option(config, "controller-cmd").strip(),
        tolerances=tolerances,
        keep_on_failure=config.getoption("nc_keep_on_failure"),
        controller_rbac=tuple(
            Path(p.strip()) for p in str(option(config, "controller-rbac")).split(",") if p.strip()
        ),
        sink_address=option(config, "sink-address"),
        controller_user=option(config, "controller-user") or None,
        restart_cmd=str(option(config, "controller-restart-cmd")).strip(),
        pod_selector=str(option(config, "controller-pod-selector")).strip(),
    )


def scenario_paths(config: pytest.Config) -> list[Path]:
    return [Path(p.strip()) for p in str(option(config, "scenarios")).split(",") if p.strip()]


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


class EnvironmentPlugin:
    """Runs in the process that started pytest (the xdist controller, or the only process)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.environment: RunEnvironment | None = None
        self.results: list[dict[str, Any]] = []
        self.tests: dict[str, dict[str, Any]] = {}
        self.started = time.time()
        self.report: dict[str, Any] | None = None
        self.implementation: dict[str, str] = {}
        self.binding: dict[str, Any] = {}
        self.report_path: Path | None = None
        self.html_path: Path | None = None
        self.deviations: list[str] = []
        self.core: list[str] = []
        self.reruns = 0
        self._previous_sigterm: Any = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.config.option.collectonly:
            return
        try:
            self._start()
        except Exception as err:  # junitxml writes nothing for a session that never started
            xmlpath = self.config.option.xmlpath
            if xmlpath:
                message = str(err) if isinstance(err, pytest.UsageError) else f"{type(err).__name__}: {err}"
                suite_name = str(self.config.getini("junit_suite_name"))
                junit.write_setup_error(Path(xmlpath), message, suite_name, time.time() - self.started)
            raise

    def _start(self) -> None:
        scenarios = load_scenarios(self.config)
        settings = settings_from(self.config)
        try:
            binding = Binding.load(settings.binding)
            preflight.sample(binding, "preflight")  # template errors before set-up
            described = option(self.config, "implementation")
            self.implementation = implementation.load(
                Path(described) if described else None, self.config.getoption("nc_implementation_version")
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
        try:
            context = self.environment.start()
        except (SetupError, BindingError) as err:
            self.environment = None
            raise pytest.UsageError(str(err)) from err
        self.config.stash[CONTEXT_KEY] = context

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
            self.reruns += 1
            return
        test = self.tests.setdefault(report.nodeid, {"outcome": "passed"})
        for name, value in report.user_properties:
            if name == SCENARIO_PROPERTY:
                test["features"] = cast(dict[str, Any], value)["features"]
                test["scenario"] = cast(dict[str, Any], value)["name"]
        if report.when == "call" or not report.passed:  # set-up and clean-up count when they fail or skip
            test["outcome"] = report.outcome
            if report.skipped and isinstance(report.longrepr, tuple):
                test["reason"] = report.longrepr[2].removeprefix("Skipped: ")
            if report.failed:
                test["message"] = failure_message(report)
        if report.when == "call":
            self.results += [
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
            self.results,
            self.tests,
            self.started,
            time.time(),
            environment.details,
            implementation=self.implementation,
            mode=certification.mode(
                bool(self.config.getoption("nc_certify")),
                self.deviations,
                self.core,
                [t["scenario"] for t in self.tests.values() if "scenario" in t],
                self.reruns,
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


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM cleans up like Ctrl-C does."""
    raise KeyboardInterrupt


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
    return oracle.deadline(scenario, tolerances) + tolerances.quiet_max + TEST_TIMEOUT_MARGIN
