"""Run one scenario against the controller: plan it, provision its channels through the
observers, create the object, act on it, let it settle, and hand what the observers saw
to the checks.

Each scenario gets its own namespace, sink paths and directories, so scenarios
run in parallel without seeing each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from conformance.binding.binding import Binding
from conformance.binding.refusal import RefusedScenario, scenario_refusal
from conformance.checks.verdict import evaluate
from conformance.environment.context import RunContext
from conformance.environment.launch import ControllerUser
from conformance.environment.readiness import Arrival, Prober
from conformance.kube import CoreApi
from conformance.observers.channels import Scope, channel_observers
from conformance.observers.console import ConsoleLog
from conformance.observers.observation import Observed
from conformance.observers.observer import Coverage, Observer
from conformance.observers.sink.recording import SinkClient
from conformance.observers.status import StatusRecorder
from conformance.run import diagnostics
from conformance.run.actions import Companions, Toucher
from conformance.run.credentials import Credentials
from conformance.run.result import ScenarioResult
from conformance.scenarios.model import Scenario
from conformance.scenarios.plan import Plan, plan_for

NAME = "notification"
PROBE = "restart-probe"
"""The notification the suite creates beside the scenario's right after it restarts the controller."""
SETUPS = 3
"""Scenarios setting up at once (namespace, channels, object): when every scenario starts
together, the rest queue here instead of loading the machine while the first ones' controller
keeps its schedule."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:40]


def namespace_for(scenario: str, run: str) -> str:
    """The scenario's namespace in run ``run``: known before it starts, so that a controller can
    be scoped to it, and unique although slugs are cut short."""
    digest = hashlib.sha256(f"{run}/{scenario}".encode()).hexdigest()[:6]
    return f"nc-{_slug(scenario)}-{digest}"


class Controllers(Protocol):
    """The controller instances of the run (``conformance.environment.run_environment``)."""

    def instance_for(self, namespace: str, disruptive: bool) -> AbstractContextManager[None]: ...

    def restart(self, namespace: str, while_down: Callable[[], None]) -> None: ...

    def alive(self, namespace: str) -> bool: ...


class ScenarioRunner:
    def __init__(
        self, context: RunContext, binding: Binding, api_client: client.ApiClient, controllers: Controllers
    ) -> None:
        self.context = context
        self.binding = binding
        self.custom = client.CustomObjectsApi(api_client)
        self._configuration = api_client.configuration
        self.core = CoreApi(api_client)
        self.sink = SinkClient(context.sink_url)
        self.console = ConsoleLog(Path(context.console_log)) if context.console_log else None
        self.controllers = controllers
        self.prober = Prober(api_client, binding, self.console, self.sink)
        self.user = ControllerUser.resolve(context.controller_user) if context.controller_user else None
        self._setups = threading.BoundedSemaphore(SETUPS)
        self._recorders: set[StatusRecorder] = set()
        self._lock = threading.Lock()
        self._cancelled = False

    def cancel(self) -> None:
        """Stop waiting in every scenario in progress (the run is ending), so each cleans up now."""
        with self._lock:
            self._cancelled = True
            recorders = list(self._recorders)
        for recorder in recorders:
            recorder.stop()

    def plan(self, scenario: Scenario) -> Plan:
        """The scenario as this binding runs it, planned once for every stage after."""
        binding = self.binding
        return plan_for(binding.adapt(scenario), self.context.tolerances, binding.precision, binding.features)

    def run(self, scenario: Scenario, namespace: str | None = None) -> ScenarioResult:
        disruptive = "disruptive" in scenario.flags
        namespace = namespace or namespace_for(scenario.name, secrets.token_hex(3))
        with self.controllers.instance_for(namespace, disruptive):
            return self._run(scenario, namespace)

    def _run(self, scenario: Scenario, namespace: str) -> ScenarioResult:
        plan = self.plan(scenario)
        scenario = plan.scenario
        workdir = self.context.workpath / namespace
        workdir.mkdir(parents=True)
        # The watch's connection is its own: one that stop() shuts down must never return to the
        # pool the other scenarios' calls draw from.
        watch_client = client.ApiClient(self._configuration)
        recorder = StatusRecorder(
            client.CustomObjectsApi(watch_client), self.binding.for_scenario(scenario), namespace, NAME
        )
        with self._lock:
            cancelled = self._cancelled
            self._recorders.add(recorder)
        if cancelled:
            watch_client.close()
            raise RuntimeError("The run ended before this scenario started.")
        subject = f"{scenario.name} [{namespace}]"
        credentials = Credentials(self.core, namespace)
        observers = channel_observers(
            Scope(
                namespace,
                workdir,
                self.sink,
                self.console,
                self.user,
                subject,
                scenario.description,
                credentials.expected,
                scenario.retry_policy,
            )
        )
        companions = Companions(self.sink, namespace)
        toucher: Toucher | None = None
        passed = False
        setting_up = contextlib.ExitStack()
        setting_up.enter_context(self._setups)
        started = time.monotonic()  # the scenario's own time, not its wait for a turn to set up
        try:
            self.core.create_namespace(namespace)
            channels = []
            for channel in scenario.channels:
                values: dict[str, Any] = {"name": channel.name, "type": channel.type}
                values.update(credentials.provide(channel))  # before the sink scripts the token
                for observer in observers:
                    values.update(observer.provision(channel))
                channels.append(values)
            manifest = self.binding.render(
                name=NAME,
                namespace=namespace,
                subject=subject,
                body=scenario.description,
                channels=channels,
                retry=scenario.retry_policy.written,
            )
            for observer in [recorder, *observers]:
                observer.start()
            self._create(namespace, manifest, scenario.name)
            created = time.time()
            companions.create(scenario.actions.companions, self._companion(scenario, namespace))
            setting_up.close()
            if scenario.actions.touch_every:
                toucher = Toucher(self.custom, self.binding, namespace, NAME, scenario.actions.touch_every)
                toucher.start()
            try:
                observed = self._observe(plan, recorder, created, namespace)
            finally:
                if toucher is not None:
                    toucher.stop()
            if toucher is not None:
                observed.touches, observed.touched_at = toucher.count, toucher.first_at
                if toucher.count == 0:
                    raise RuntimeError(
                        f"The suite could not change the object's annotations ({toucher.error}), "
                        "so this scenario tested nothing."
                    )
            mechanisms = self._gather_external(observed, observers)
            observed.companion_latency = companions.latency()
            observed.secret_leaks = credentials.leaks(recorder.latest, self._output())
            verdict = evaluate(plan, observed)
            result = ScenarioResult(scenario, namespace, verdict, observed, mechanisms)
            if not verdict.passed:
                result.diagnostics = diagnostics.gather(
                    self.core,
                    namespace,
                    self.context.workpath,
                    self.controllers.alive(namespace),
                    recorder,
                    [*observers, companions],
                )
            passed = verdict.passed
            result.duration = time.monotonic() - started
            return result
        finally:
            setting_up.close()
            with self._lock:
                self._recorders.discard(recorder)
            for observer in [recorder, *observers]:
                observer.stop()
            keep = not passed and self.context.keep_on_failure
            self._clean_up(namespace, [recorder, *observers, companions], keep)
            watch_client.close()
            if not keep:
                shutil.rmtree(workdir, ignore_errors=True)

    def _companion(self, scenario: Scenario, namespace: str) -> Callable[[str, list[dict[str, Any]]], None]:
        def create(name: str, channels: list[dict[str, Any]]) -> None:
            manifest = self.binding.render(
                name=name,
                namespace=namespace,
                subject=f"{name} [{namespace}/{name}]",
                body="",
                channels=channels,
                retry=scenario.retry_policy.written,
            )
            self._create(namespace, manifest, scenario.name)

        return create

    def _create(self, namespace: str, manifest: dict[str, Any], scenario: str) -> None:
        try:
            self.custom.create_namespaced_custom_object(
                self.binding.group, self.binding.version, namespace, self.binding.plural, manifest
            )
        except ApiException as err:
            if err.status not in (400, 404, 422):
                raise
            raise RefusedScenario(scenario_refusal(self.binding, scenario, err, manifest)) from None

    def _observe(self, plan: Plan, recorder: StatusRecorder, created: float, namespace: str) -> Observed:
        scenario = plan.scenario
        observed = Observed(created=created, exposed=self.binding.exposed)
        until = created + plan.deadline
        if scenario.actions.delete_after:
            if recorder.wait_for_attempt(scenario.actions.delete_after, until):
                self.custom.delete_namespaced_custom_object(
                    self.binding.group, self.binding.version, namespace, self.binding.plural, NAME
                )
                observed.deleted_at = time.time()
            settled = observed.deleted_at
        else:
            if scenario.actions.restart_after and recorder.wait_for_attempt(
                scenario.actions.restart_after, until
            ):
                recorder.hold(time.time() + scenario.actions.restart_delay)
                observed.restarted_at = time.time()  # when the restart began: what follows may be its doing
                arrivals: list[Arrival] = []
                self.controllers.restart(namespace, lambda: self._probe(namespace, arrivals))
                remaining = max(until - time.time(), 0.0)
                observed.resumed_at = arrivals[0](remaining) if arrivals else None
            observed.terminal_at = recorder.wait_terminal(until)
            if observed.terminal_at is None:
                self.binding.check_never_terminal(recorder.latest)
            settled = observed.terminal_at
        if settled is not None:
            recorder.hold(settled + plan.quiet_window)
        observed.writes = list(recorder.stop().writes)
        latest = recorder.latest or {}
        if latest:
            observed.final_phase = self.binding.phase(latest)
            observed.attempts = self.binding.for_scenario(scenario).attempts(latest)
            observed.total_attempts = self.binding.total_attempts(latest)
            observed.generation = latest["metadata"].get("generation")
            observed.observed_generation = self.binding.observed_generation(latest)
            observed.ready = self.binding.ready(latest)
            observed.completion_time = self.binding.completion_time(latest)
        return observed

    def _probe(self, namespace: str, arrivals: list[Arrival]) -> None:
        """Create the restart's probe; one the API refuses leaves the upper bounds as they are."""
        with contextlib.suppress(ApiException):
            purpose = "the suite created this one as it restarted the controller"
            directory = self.context.workpath / namespace / PROBE
            arrivals.append(self.prober.create(namespace, PROBE, purpose, directory))

    def _output(self) -> list[str]:
        """The controller's lines: its stdout and its log, when the suite launched it."""
        output = [line for _, line in self.console.lines()] if self.console is not None else []
        for log in sorted(self.context.workpath.glob("controller*.log")):
            output += log.read_text(errors="replace").splitlines()
        return output

    @staticmethod
    def _gather_external(observed: Observed, observers: list[Observer]) -> dict[str, str]:
        """Stop the channels' observers and add what they saw; the channels' failure mechanisms."""
        mechanisms: dict[str, str] = {}
        for observer in observers:
            seen = observer.stop()
            for name, coverage in observer.covers().items():
                observed.external[name] = [e for e in seen.events if e.channel == name]
                recorded = sum(attempt.channel == name for attempt in observed.attempts)
                every = coverage is Coverage.EVERY_ATTEMPT or (
                    coverage is Coverage.WRITE_ATTEMPTS and len(observed.external[name]) >= recorded
                )
                (observed.fully_observed if every else observed.success_observed).add(name)
            mechanisms.update(seen.mechanisms)
        return mechanisms

    def _clean_up(self, namespace: str, made: list[Observer | Companions], keep: bool) -> None:
        """Unless kept for inspection, delete the objects, not only the namespace (a bare API
        server never empties namespaces); then undo what the observers and actions made."""
        if not keep:
            with contextlib.suppress(ApiException):
                self.custom.delete_collection_namespaced_custom_object(
                    self.binding.group, self.binding.version, namespace, self.binding.plural
                )
            with contextlib.suppress(ApiException):
                self.core.delete_namespace(namespace)
        for each in made:
            each.release(keep)
