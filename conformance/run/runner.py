"""Run one scenario against the controller: plan it, provision its channels through the
observers, create the object, act on it, let it settle, and hand what the observers saw
to the checks.

Each scenario gets its own namespace, sink paths and directories, so scenarios
run in parallel without seeing each other.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from conformance.binding.binding import Binding, BindingError
from conformance.binding.refusal import refusal
from conformance.checks.verdict import evaluate
from conformance.environment.context import RunContext
from conformance.environment.control import ControlClient
from conformance.environment.launch import ControllerUser
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


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:40]


class ScenarioRunner:
    def __init__(self, context: RunContext, binding: Binding, api_client: client.ApiClient) -> None:
        self.context = context
        self.binding = binding
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)
        self.sink = SinkClient(context.sink_url)
        self.console = ConsoleLog(Path(context.console_log)) if context.console_log else None
        self.control = ControlClient(context.control_url)
        self.user = ControllerUser.resolve(context.controller_user) if context.controller_user else None

    def plan(self, scenario: Scenario) -> Plan:
        """The scenario as this binding runs it, planned once for every stage after."""
        binding = self.binding
        return plan_for(binding.adapt(scenario), self.context.tolerances, binding.precision, binding.features)

    def run(self, scenario: Scenario) -> ScenarioResult:
        started = time.monotonic()
        plan = self.plan(scenario)
        scenario = plan.scenario
        namespace = f"nc-{_slug(scenario.name)}-{secrets.token_hex(3)}"
        workdir = self.context.workpath / namespace
        workdir.mkdir(parents=True)
        recorder = StatusRecorder(self.custom, self.binding, namespace, NAME)
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
        try:
            self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
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
            self._create(namespace, manifest)
            created = time.time()
            companions.create(scenario.actions.companions, self._companion(scenario, namespace))
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
                    self.control,
                    recorder,
                    [*observers, companions],
                )
            passed = verdict.passed
            result.duration = time.monotonic() - started
            return result
        finally:
            for observer in [recorder, *observers]:
                observer.stop()
            keep = not passed and self.context.keep_on_failure
            self._clean_up(namespace, [recorder, *observers, companions], keep)
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
            self._create(namespace, manifest)

        return create

    def _create(self, namespace: str, manifest: dict[str, Any]) -> None:
        try:
            self.custom.create_namespaced_custom_object(
                self.binding.group, self.binding.version, namespace, self.binding.plural, manifest
            )
        except ApiException as err:
            if err.status not in (400, 404, 422):
                raise
            raise BindingError(refusal(self.binding, err)) from err

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
                observed.restarted_at = time.time()  # when the restart began: what follows may be its doing
                self.control.restart_controller()
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
            observed.attempts = self.binding.attempts(latest)
            observed.total_attempts = self.binding.total_attempts(latest)
            observed.generation = latest["metadata"].get("generation")
            observed.observed_generation = self.binding.observed_generation(latest)
            observed.ready = self.binding.ready(latest)
            observed.completion_time = self.binding.completion_time(latest)
        return observed

    def _output(self) -> list[str]:
        """The controller's lines: its stdout and its log, when the suite launched it."""
        output = [line for _, line in self.console.lines()] if self.console is not None else []
        log = self.context.workpath / "controller.log"
        if log.exists():
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
