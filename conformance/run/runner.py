"""Run one scenario against the controller and gather what was observed.

Each scenario gets its own namespace, sink paths and directories, so scenarios
run in parallel without seeing each other.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from conformance.binding.binding import Binding, BindingError
from conformance.binding.refusal import refusal
from conformance.checks.verdict import evaluate
from conformance.environment.context import RunContext
from conformance.environment.control import ControlClient
from conformance.environment.launch import ControllerUser
from conformance.observers.console import ConsoleLog
from conformance.observers.files import FileObserver
from conformance.observers.observation import CONSOLE, FILE, SINK, ExternalEvent, Observed
from conformance.observers.readonly import ReadOnlyDirectory
from conformance.observers.sink.recording import SinkClient
from conformance.observers.status import StatusRecorder
from conformance.run.result import ScenarioResult
from conformance.scenarios import oracle
from conformance.scenarios.model import Scenario

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

    def run(self, scenario: Scenario) -> ScenarioResult:
        started = time.monotonic()
        scenario = self.binding.adapt(scenario)
        namespace = f"nc-{_slug(scenario.name)}-{secrets.token_hex(3)}"
        workdir = self.context.workpath / namespace
        workdir.mkdir(parents=True)
        readonly: dict[str, ReadOnlyDirectory] = {}
        files: dict[str, FileObserver] = {}
        hooks: dict[str, str] = {}
        recorder: StatusRecorder | None = None
        toucher: Toucher | None = None
        passed = False
        try:
            self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
            channels = []
            for channel in scenario.channels:
                values: dict[str, Any] = {"name": channel.name, "type": channel.type}
                if channel.type == "file":
                    directory = workdir / channel.name
                    directory.mkdir()
                    if self.user is not None:
                        self.user.give(directory)
                    if not channel.writable:
                        readonly[channel.name] = ReadOnlyDirectory(directory, self.user)
                    files[channel.name] = FileObserver(directory).start()
                    values["directory"] = str(directory)
                elif channel.type == "webhook":
                    path = hooks[channel.name] = f"{namespace}/{channel.name}"
                    self.sink.script(path, [step.as_sink_script() for step in channel.responses])
                    values["url"] = self.sink.hook_url(path)
                    values["timeout"] = f"{channel.timeout:g}s"
                channels.append(values)
            manifest = self.binding.render(
                name=NAME,
                namespace=namespace,
                subject=f"{scenario.name} [{namespace}]",
                body=scenario.description,
                channels=channels,
                retry=scenario.retry_policy.written,
            )
            recorder = StatusRecorder(self.custom, self.binding, namespace, NAME).start()
            self._create(namespace, manifest)
            created = time.time()
            companions = self._create_companions(scenario, namespace)
            if scenario.actions.touch_every:
                toucher = Toucher(self.custom, self.binding, namespace, scenario.actions.touch_every).start()
            try:
                observed = self._observe(scenario, recorder, created, namespace)
            finally:
                if toucher is not None:
                    toucher.stop()
            if toucher is not None:
                observed.touches = toucher.count
                if toucher.count == 0:
                    raise RuntimeError(
                        f"The suite could not change the object's annotations ({toucher.error}), "
                        "so this scenario tested nothing."
                    )
            self._gather_external(scenario, observed, namespace, hooks, files)
            for name, (path, born) in companions.items():
                hooks[name] = path
                requests = self.sink.records(path)
                observed.companion_latency[name] = requests[0]["time"] - born if requests else None
            verdict = evaluate(
                scenario, observed, self.context.tolerances, self.binding.precision, self.binding.features
            )
            result = ScenarioResult(
                scenario,
                namespace,
                verdict,
                observed,
                {name: ro.mechanism for name, ro in readonly.items()},
            )
            if not verdict.passed:
                result.diagnostics = self._diagnostics(recorder, hooks, namespace)
            passed = verdict.passed
            result.duration = time.monotonic() - started
            return result
        finally:
            if recorder is not None:
                recorder.stop()
            for observer in files.values():
                observer.stop()
            for read_only in readonly.values():
                read_only.release()
            if passed or not self.context.keep_on_failure:
                self._clean_up(namespace, hooks)
                shutil.rmtree(workdir, ignore_errors=True)

    def _create_companions(self, scenario: Scenario, namespace: str) -> dict[str, tuple[str, float]]:
        """Other notifications, each with one healthy webhook: name -> (sink path, creation time)."""
        created: dict[str, tuple[str, float]] = {}
        for index in range(scenario.actions.companions):
            name = f"companion-{index + 1}"
            path = f"{namespace}/{name}"
            manifest = self.binding.render(
                name=name,
                namespace=namespace,
                subject=f"{name} [{namespace}/{name}]",
                body="",
                channels=[
                    {"name": "hook", "type": "webhook", "url": self.sink.hook_url(path), "timeout": "5s"}
                ],
                retry=scenario.retry_policy.written,
            )
            self._create(namespace, manifest)
            created[name] = (path, time.time())
        return created

    def _create(self, namespace: str, manifest: dict[str, Any]) -> None:
        try:
            self.custom.create_namespaced_custom_object(
                self.binding.group, self.binding.version, namespace, self.binding.plural, manifest
            )
        except ApiException as err:
            if err.status not in (400, 404, 422):
                raise
            raise BindingError(refusal(self.binding, err)) from err

    def _observe(
        self, scenario: Scenario, recorder: StatusRecorder, created: float, namespace: str
    ) -> Observed:
        tolerances = self.context.tolerances
        observed = Observed(created=created, exposed=self.binding.exposed)
        until = created + oracle.deadline(scenario, tolerances)
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
                self.control.restart_controller()
                observed.restarted_at = time.time()
            observed.terminal_at = recorder.wait_terminal(until)
            if observed.terminal_at is None:
                self.binding.check_never_terminal(recorder.latest)
            settled = observed.terminal_at
        if settled is not None:
            recorder.hold(settled + oracle.quiet_window(scenario, tolerances))
        latest = recorder.latest or {}
        observed.writes = list(recorder.writes)
        if latest:
            observed.final_phase = self.binding.phase(latest)
            observed.attempts = self.binding.attempts(latest)
            observed.total_attempts = self.binding.total_attempts(latest)
            observed.generation = latest["metadata"].get("generation")
            observed.observed_generation = self.binding.observed_generation(latest)
            observed.ready = self.binding.ready(latest)
            observed.completion_time = self.binding.completion_time(latest)
        return observed

    def _gather_external(
        self,
        scenario: Scenario,
        observed: Observed,
        namespace: str,
        hooks: dict[str, str],
        files: dict[str, FileObserver],
    ) -> None:
        for name, path in hooks.items():
            channel = scenario.channel(name)
            events: list[ExternalEvent] = []
            for record in self.sink.records(path):
                delay = oracle.sink_step(channel, len(events) + 1).delay
                succeeded = 200 <= record["status"] < 300 and delay < channel.timeout
                detail = f"HTTP {record['status']}" + (f" after {delay:g}s" if delay else "")
                headers = {k.lower(): v for k, v in record["headers"].items()}
                key = headers.get("idempotency-key")
                events.append(ExternalEvent(name, record["time"], SINK, succeeded, detail, key))
            observed.external[name] = events
            observed.fully_observed.add(name)
        for name, observer in files.items():
            observed.external[name] = [
                ExternalEvent(name, t, FILE, True, "file written") for t in observer.stop()
            ]
            observed.success_observed.add(name)
        if self.console is not None:
            lines = self.console.lines_with(f"[{namespace}]")
            for channel in scenario.channels:
                if channel.type == "console":
                    observed.external[channel.name] = [
                        ExternalEvent(channel.name, t, CONSOLE, True, "console line") for t, _ in lines
                    ]
                    observed.success_observed.add(channel.name)

    def _diagnostics(self, recorder: StatusRecorder, hooks: dict[str, str], namespace: str) -> dict[str, str]:
        found = {"object": yaml.safe_dump(recorder.latest or {}, sort_keys=False)}
        try:
            events = self.core.list_namespaced_event(namespace).items
        except ApiException:
            events = []
        found["events"] = "\n".join(f"{e.type} {e.reason}: {e.message}" for e in events) or "(no events)"
        for name, path in hooks.items():
            records = self.sink.records(path)
            found[f"sink log for {name}"] = (
                "\n".join(
                    f"{r['time']:.6f} {r['method']} -> {r['status']} "
                    f"Idempotency-Key={r['headers'].get('Idempotency-Key', '-')}"
                    for r in records
                )
                or "(no requests)"
            )
        log = self.context.workpath / "controller.log"
        if log.exists():
            lines = [line for line in log.read_text(errors="replace").splitlines() if namespace in line]
            found["controller log (lines naming this scenario's namespace, last 20)"] = (
                "\n".join(lines[-20:]) or "(none)"
            )
        if not self.control.controller_alive():
            found["controller"] = "the controller process has exited"
        return found

    def _clean_up(self, namespace: str, hooks: dict[str, str]) -> None:
        """Delete the objects, not only the namespace: a bare API server never empties namespaces."""
        with contextlib.suppress(ApiException):
            self.custom.delete_collection_namespaced_custom_object(
                self.binding.group, self.binding.version, namespace, self.binding.plural
            )
        with contextlib.suppress(ApiException):
            self.core.delete_namespace(namespace)
        for path in hooks.values():
            with contextlib.suppress(OSError):
                self.sink.forget(path)


class Toucher:
    """Changes an annotation on the object at a fixed interval: each change is a watch event
    that wakes the controller, which must then do nothing early."""

    def __init__(self, api: client.CustomObjectsApi, binding: Binding, namespace: str, every: float) -> None:
        self._api, self._binding, self._namespace, self._every = api, binding, namespace, every
        self._stop = threading.Event()
        self.count = 0
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"touch-{namespace}", daemon=True)

    def start(self) -> Toucher:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            patch = {"metadata": {"annotations": {"conformance.notifications/touched": str(self.count + 1)}}}
            try:
                self._api.patch_namespaced_custom_object(
                    self._binding.group,
                    self._binding.version,
                    self._namespace,
                    self._binding.plural,
                    NAME,
                    patch,
                )
            except ApiException as err:
                self.error = f"HTTP {err.status} {err.reason}"
                continue
            self.count += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
