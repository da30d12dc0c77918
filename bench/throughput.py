"""Part 3: the controller's throughput and API efficiency, the reference beside the seed's
design (status written once per channel, no time guard), in the same run on the same
control plane.

Four workloads, each run once per design with a fresh controller process:

- ``succeed``: N notifications with console, file and webhook channels, all succeeding,
  created while the controller runs (so the benchmark's own creations can bound the rate);
- ``backlog``: the same N created while the controller is stopped, then the controller
  started: its drain rate, from its launch until all are terminal;
- ``fail``: M notifications whose webhook always answers 503, maxAttempts 4 (gaps 1s, 2s, 2s);
- ``fail-light``: the same with few notifications, so that no controller is saturated.

API requests are the kube-apiserver's own ``apiserver_request_total`` counters, read
before and after; attempts are counted at the sink and in each object's status.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kubernetes import client

from bench import apimetrics, harness, procfs
from bench.fleet import NamespaceWatch, create_all, files_in
from bench.profiler import Profile
from bench.stats import Summary, gaps, peak_rate, ratio
from clusters.local.controlplane import LocalControlPlane
from conformance.contract.tolerances import Tolerances
from conformance.observers.console import ConsoleLog
from conformance.observers.sink.recording import SinkClient
from conformance.scenarios import oracle
from conformance.scenarios.model import RetryPolicy

CREATE_THREADS = 8
MAX_ATTEMPTS = 4
POLICY = {
    "maxAttempts": MAX_ATTEMPTS,
    "initialBackoff": "1s",
    "backoffMultiplier": 2,
    "maxBackoff": "2s",
    "jitterPercent": 0,
}
NOMINAL_GAPS = tuple(
    oracle.nominal_gap(RetryPolicy.from_dict(POLICY), made) for made in range(1, MAX_ATTEMPTS)
)
"""1s, 2s, 2s, as the suite's oracle reads the policy."""


@dataclass(frozen=True)
class Workload:
    name: str
    notifications: int
    hook_fails: bool
    backlog: bool = False
    """Created while the controller is stopped; timed from its start."""

    @property
    def expected_hook_attempts(self) -> int:
        return MAX_ATTEMPTS if self.hook_fails else 1


def _manifests(
    workload: Workload, namespace: str, directory: Path, sink: SinkClient
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    spec = harness.binding()
    manifests, paths = [], {}
    for index in range(workload.notifications):
        name = f"n-{index:05d}"
        path = paths[name] = f"{namespace}/{name}"
        if workload.hook_fails:
            sink.script(path, [{"status": 503}])
        channels = [
            {"name": "console", "type": "console"},
            {"name": "archive", "type": "file", "directory": str(directory)},
            {"name": "hook", "type": "webhook", "url": sink.hook_url(path), "timeout": "5s"},
        ]
        manifests.append(
            spec.render(
                name=name,
                namespace=namespace,
                subject=f"bench {name} [{namespace}]",
                body="benchmark notification",
                channels=channels,
                retry=POLICY,
            )
        )
    return manifests, paths


def run_workload(plane: LocalControlPlane, design: str, workload: Workload) -> dict[str, Any]:
    """One workload against a fresh controller of ``design``; all counts from outside it."""
    spec = harness.binding()
    api_client = harness.api_client_for(plane.kubeconfig_path)
    custom = client.CustomObjectsApi(api_client)
    core = client.CoreV1Api(api_client)
    namespace = f"bench-{workload.name}-{design}-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        with harness.run_environment(plane, design) as (environment, context):
            assert environment.controller is not None
            sink = SinkClient(context.sink_url)
            directory = context.workpath / namespace
            directory.mkdir()
            manifests, paths = _manifests(workload, namespace, directory, sink)
            watch = NamespaceWatch(custom, spec, namespace).start()
            if workload.backlog:
                with environment.controller_stopped():
                    create_all(custom, spec, namespace, manifests, CREATE_THREADS)
                    before = apimetrics.read(api_client)
                    started = created = time.time()
            assert environment.controller is not None
            meter = procfs.CpuMeter(harness.process_ids(plane, environment))
            profile = Profile(environment.controller.pid).start()
            try:
                if not workload.backlog:
                    before = apimetrics.read(api_client)
                    started = time.time()
                    created = create_all(custom, spec, namespace, manifests, CREATE_THREADS)
                deadline = 120.0 + workload.notifications * 0.5
                if not watch.wait_terminal(workload.notifications, deadline):
                    raise RuntimeError(
                        f"{design}/{workload.name}: only {watch.terminal()} of {workload.notifications} "
                        f"notifications reached a terminal phase within {deadline:.0f}s"
                    )
                finished = max(h.terminal_at or 0.0 for h in watch.objects.values())
                cpu = meter.read()
                profiled = profile.stop(finished - started)
                # let late writes and retries land before counting: a storm would show up here
                time.sleep(Tolerances().quiet_max)
                after = apimetrics.read(api_client)
                hwm = procfs.status_kib(environment.controller.pid, "VmHWM")
            finally:
                watch.stop()
                profile.close()
            objects = custom.list_namespaced_custom_object(spec.group, spec.version, namespace, spec.plural)
            records = {name: sink.records(path) for name, path in paths.items()}
            console_lines = (
                len(_console_lines(Path(context.console_log), namespace)) if context.console_log else 0
            )
            files = files_in(directory)
            summary = _summarise(
                design,
                workload,
                started,
                created,
                finished,
                before,
                after,
                hwm,
                watch,
                objects,
                records,
                console_lines,
                files,
            )
            return {**summary, "cpuSeconds": cpu, "controllerProfile": profiled}
    finally:
        harness.delete_all(api_client, namespace)
        core.delete_namespace(namespace)
        api_client.close()


def _console_lines(path: Path, namespace: str) -> list[str]:
    return [line for _, line in ConsoleLog(path).lines_with(f"[{namespace}]")]


def _summarise(
    design: str,
    workload: Workload,
    started: float,
    created: float,
    finished: float,
    before: apimetrics.Counts,
    after: apimetrics.Counts,
    hwm_kib: int | None,
    watch: NamespaceWatch,
    objects: Any,
    records: dict[str, list[dict[str, Any]]],
    console_lines: int,
    files: int,
) -> dict[str, Any]:
    n = workload.notifications
    spec = harness.binding()
    requests = apimetrics.difference(before, after)
    ours = apimetrics.select(requests, group=spec.group)
    events = apimetrics.select(requests, resource="events")
    background = sum(requests.values()) - sum(ours.values()) - sum(events.values())
    creates = apimetrics.total(ours, verbs=("POST",), subresource="")
    status_writes = apimetrics.total(ours, verbs=("PUT", "PATCH"), subresource="status")
    conflicts = sum(v for k, v in ours.items() if k.subresource == "status" and k.code == "409")
    controller_requests = sum(ours.values()) - creates + sum(events.values())
    hook_attempts = [len(records[name]) for name in sorted(records)]
    status_attempts: dict[str, list[int]] = {"console": [], "archive": [], "hook": []}
    phases: dict[str, int] = {}
    status_gaps: list[float] = []
    for obj in objects["items"]:
        status = obj.get("status") or {}
        phases[status.get("phase", "none")] = phases.get(status.get("phase", "none"), 0) + 1
        for channel, counts in status_attempts.items():
            counts.append(sum(a["channel"] == channel for a in status.get("deliveryAttempts") or []))
        hook = sorted(
            (a for a in status.get("deliveryAttempts") or [] if a["channel"] == "hook"),
            key=lambda a: a["attempt"],
        )
        times = [datetime.fromisoformat(a["timestamp"].replace("Z", "+00:00")).timestamp() for a in hook]
        status_gaps += [g - nominal for g, nominal in zip(gaps(times), NOMINAL_GAPS, strict=False)]
    expected = {"console": 1, "archive": 1, "hook": workload.expected_hook_attempts}
    exact = {
        "sink": sum(count == expected["hook"] for count in hook_attempts),
        **{
            channel: sum(c == expected[channel] for c in counts)
            for channel, counts in status_attempts.items()
        },
    }
    sink_times = sorted(r["time"] for rs in records.values() for r in rs)
    hook_gaps = [
        g - nominal
        for rs in records.values()
        for g, nominal in zip(gaps([r["time"] for r in rs]), NOMINAL_GAPS, strict=False)
    ]
    lower = Tolerances().epsilon
    watched_writes = [max(len(h.writes) - 1, 0) for h in watch.objects.values()]  # the first is ADDED
    deliveries = sum(hook_attempts) + console_lines + files
    elapsed = finished - started
    return {
        "design": design,
        "workload": workload.name,
        "notifications": n,
        "createSeconds": round(created - started, 3),
        "secondsUntilAllTerminal": round(elapsed, 3),
        "deliveriesPerSecond": round(deliveries / elapsed, 1),
        "deliveries": {"webhook": sum(hook_attempts), "console": console_lines, "files": files},
        "phases": phases,
        "attempts": {
            "expectedPerNotification": expected,
            "exactAtSink": exact["sink"],
            "exactInStatus": {k: exact[k] for k in status_attempts},
            "sinkTotal": sum(hook_attempts),
            "statusTotal": {k: sum(v) for k, v in status_attempts.items()},
            "sinkMax": max(hook_attempts, default=0),
        },
        "api": {
            "byKind": apimetrics.table(ours) | apimetrics.table(events),
            "controllerRequests": controller_requests,
            "controllerRequestsPerNotification": round(controller_requests / n, 3),
            "statusWrites": status_writes,
            "statusWritesPerNotification": round(status_writes / n, 3),
            "statusConflicts": conflicts,
            "readsPerNotification": round(apimetrics.total(ours, verbs=("GET",)) / n, 3),
            "watchedWritesPerNotification": round(sum(watched_writes) / n, 3),
            "backgroundRequests": background,
        },
        "storm": {
            "peakWebhookRequestsPerSecond": peak_rate(sink_times),
            "gapErrorMs": Summary.of([g * 1000 for g in hook_gaps]).as_dict() if hook_gaps else None,
            "earlyGaps": sum(g < -lower for g in hook_gaps),
            "earlyGapsInStatus": sum(g < -lower for g in status_gaps),
            "gaps": len(hook_gaps),
            "attemptOffsets": [
                [index + 1, round(r["time"] - rs[0]["time"], 3)]
                for rs in records.values()
                for index, r in enumerate(rs)
                if index
            ]
            if workload.hook_fails
            else [],
        },
        "controllerPeakMemoryMiB": round(hwm_kib / 1024, 1) if hwm_kib else None,
    }


def compare(reference: dict[str, Any], seed: dict[str, Any]) -> dict[str, float | None]:
    """Seed over reference: how many more writes, requests, attempts and how much more time."""

    def r(a: float, b: float) -> float | None:
        value = ratio(a, b)
        return round(value, 3) if value is not None else None

    return {
        "statusWrites": r(seed["api"]["statusWrites"], reference["api"]["statusWrites"]),
        "controllerRequests": r(seed["api"]["controllerRequests"], reference["api"]["controllerRequests"]),
        "webhookAttempts": r(seed["attempts"]["sinkTotal"], reference["attempts"]["sinkTotal"]),
        "time": r(seed["secondsUntilAllTerminal"], reference["secondsUntilAllTerminal"]),
        "peakWebhookRequestsPerSecond": r(
            seed["storm"]["peakWebhookRequestsPerSecond"], reference["storm"]["peakWebhookRequestsPerSecond"]
        ),
    }


def measure(plane: LocalControlPlane, succeed: int, fail: int, fail_light: int) -> dict[str, Any]:
    """``fail_light``: the failing workload again with few notifications, where neither controller is
    saturated, so that what the time guard does is not hidden by queueing."""
    workloads = (
        Workload("succeed", succeed, False),
        Workload("backlog", succeed, False, backlog=True),
        Workload("fail", fail, True),
        Workload("fail-light", fail_light, True),
    )
    results: dict[str, dict[str, Any]] = {}
    for workload in workloads:
        for design in (harness.REFERENCE, harness.SEED):
            results.setdefault(workload.name, {})[design] = run_workload(plane, design, workload)
    return {
        name: {
            **by_design,
            "seedOverReference": compare(by_design[harness.REFERENCE], by_design[harness.SEED]),
        }
        for name, by_design in results.items()
    }
