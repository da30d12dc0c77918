"""Part 1: the conformance suite's wall time against its floor, run exactly as
``make conformance`` runs it, with the memory of the control plane sampled meanwhile.

The run sets itself up in the process that runs pytest (control plane, sink, controller),
waits for the controller's first delivery, then starts every selected scenario at once,
each in a thread of its own; the test items only wait for their scenarios' outcomes. The
timeline plugin (``bench/timeline_plugin.py``) says when each of those phases happened.
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench import procfs
from bench.floor import SuiteFloor, report_ratio, scenario_floor
from bench.stats import Summary
from conformance.contract.tolerances import Tolerances
from conformance.environment import readiness
from conformance.environment.settings import DEFAULT_SCENARIOS
from conformance.run.runner import SETUPS
from conformance.scenarios.load import load

REPO = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5
MEMORY_TARGETS = {
    "kube-apiserver": "kube-apiserver",
    "etcd": "etcd",
    "controller": "reference_controller",
}

STARTUP = "python and pytest start-up"
CONTROL_PLANE = "control plane start-up"
ENVIRONMENT = "binding, CRDs, sink and controller start-up"
READINESS = "waiting for the controller's first delivery"
COLLECTION = "collection, until the first scenario starts"
SCENARIOS = "scenarios, from the first start to the last end"
OUTCOMES = "after the last scenario, until the session ends"
STOP = "report, stop controller, sink and control plane"
EXIT = "exit"
BEYOND = "scenarios beyond the longest scenario's floor"
"""Not a phase: how much longer the scenario phase took than the longest scenario's floor."""


@dataclass
class SuiteRun:
    wall: float
    returncode: int
    cpu_seconds: float
    report: dict[str, Any]
    timeline: list[dict[str, Any]]
    memory: dict[str, list[int]] = field(default_factory=dict)
    peak_hwm: dict[str, int] = field(default_factory=dict)
    output_tail: str = ""


def suite_arguments(workers: int, extra: Iterable[str] = ()) -> list[str]:
    """pytest's arguments, as ``make conformance`` passes them: ``-n WORKERS`` even for 0 (no
    xdist workers, the Makefile's default), which runs every test item in the main process."""
    return ["conformance/suite", "-n", str(workers), *extra]


def run_suite(workers: int, extra: list[str]) -> SuiteRun:
    """``pytest conformance/suite -n WORKERS`` in a child process, timed from spawn to exit."""
    with tempfile.TemporaryDirectory(prefix="nc-bench-suite-") as scratch:
        directory = Path(scratch)
        timeline_path = directory / "timeline.jsonl"
        command = [
            sys.executable,
            "-m",
            "pytest",
            *suite_arguments(workers),
            "-p",
            "no:cacheprovider",
            "-p",
            "bench.timeline_plugin",
            f"--nc-report-dir={directory / 'report'}",
            "-q",
            *extra,
        ]
        environment = dict(os.environ, BENCH_TIMELINE=str(timeline_path))
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        sampler = procfs.MemorySampler(process.pid, MEMORY_TARGETS).start()
        output, _ = process.communicate()
        wall = time.monotonic() - started
        sampler.stop()
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        report_path = directory / "report" / "conformance-report.yaml"
        if not report_path.exists():
            raise RuntimeError(f"the suite wrote no report; its output ends:\n{output[-3000:]}")
        report = yaml.safe_load(report_path.read_text())
        timeline = [json.loads(line) for line in timeline_path.read_text().splitlines() if line.strip()]
        return SuiteRun(
            wall, process.returncode, cpu, report, timeline, sampler.samples, sampler.peak_hwm, output[-3000:]
        )


def _events(timeline: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in timeline if e["event"] == kind]


def _readiness_seconds(environment: dict[str, Any]) -> float:
    """How long the run waited for the controller's first delivery: as measured, or the whole
    timeout when none came."""
    seconds = environment.get("controllerReadySeconds")
    if seconds is not None:
        return float(seconds)
    return readiness.TIMEOUT if environment.get("controllerNotReady") else 0.0


def phases(run: SuiteRun, spawned: float) -> dict[str, float]:
    """Seconds spent in each phase of the run, from the timeline the plugin recorded (the main
    process's events) and, within the session's start, from the report's own measurements.
    The phases follow one another, so they add up to the wall time."""
    main = {e["event"]: e["time"] for e in run.timeline if e["worker"] == "main"}
    environment = run.report["environment"]
    scenarios, tests = _events(run.timeline, "scenario"), _events(run.timeline, "test")
    if scenarios:
        first = min(e["start"] for e in scenarios)
        last = max(e["end"] for e in scenarios)
    elif tests:  # no scenario ran (all skipped): the tests stand in for them
        first, last = min(e["start"] for e in tests), max(e["end"] for e in tests)
    else:
        first = last = main["sessionstart"]
    control_plane = float(environment.get("clusterStartSeconds") or 0.0)
    ready = _readiness_seconds(environment)
    session_start = main["sessionstart"] - main["configure"]
    result = {
        STARTUP: main["configure"] - spawned,
        CONTROL_PLANE: control_plane,
        ENVIRONMENT: session_start - control_plane - ready,
        READINESS: ready,
        COLLECTION: first - main["sessionstart"],
        SCENARIOS: last - first,
        OUTCOMES: main["sessionfinish"] - last,
        STOP: main["unconfigure"] - main["sessionfinish"],
        EXIT: spawned + run.wall - main["unconfigure"],
    }
    return {name: round(seconds, 3) for name, seconds in result.items()}


def gap(phases: dict[str, float], longest: float) -> list[tuple[str, float]]:
    """What the run spent beyond its floor (control-plane start-up + ``longest``, the longest
    scenario's floor), largest first: every phase but the control plane's start-up, and the
    scenario phase only for what it took beyond ``longest``. They add up to wall - floor."""
    parts = {name: seconds for name, seconds in phases.items() if name not in (CONTROL_PLANE, SCENARIOS)}
    parts[BEYOND] = phases[SCENARIOS] - longest
    return sorted(((name, round(seconds, 3)) for name, seconds in parts.items()), key=lambda p: -p[1])


def pack(intervals: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Intervals (each with ``start`` and ``end``) into as few lanes as they need: by start, each
    into the first lane whose last interval has ended. As many lanes as intervals overlap at most."""
    lanes: list[list[dict[str, Any]]] = []
    for interval in sorted(intervals, key=lambda i: (i["start"], i["end"])):
        for lane in lanes:
            if lane[-1]["end"] <= interval["start"]:
                lane.append(interval)
                break
        else:
            lanes.append([interval])
    return lanes


def scenario_intervals(run: SuiteRun) -> list[dict[str, Any]]:
    """Each scenario's run (the pool's call of ``ScenarioRunner.run``, clean-up included), in
    seconds after the first one started: its set-up turn, if the plugin saw it, and its own time
    as the report states it."""
    events = _events(run.timeline, "scenario")
    if not events:
        return []
    origin = min(e["start"] for e in events)
    own = {s["scenario"]: s["durationSeconds"] for s in run.report.get("scenarios") or []}
    intervals = []
    for event in events:
        interval: dict[str, Any] = {
            "name": event["scenario"],
            "start": round(event["start"] - origin, 3),
            "end": round(event["end"] - origin, 3),
            "own": own.get(event["scenario"], event.get("own")),
        }
        if "setUpStart" in event:
            interval["setUp"] = [
                round(event["setUpStart"] - origin, 3),
                round(event.get("setUpEnd", event["end"]) - origin, 3),
            ]
        intervals.append(interval)
    return intervals


def _summary(values: list[float]) -> dict[str, Any] | None:
    return Summary.of(values).as_dict() if values else None


def scenario_statistics(intervals: list[dict[str, Any]]) -> dict[str, Any]:
    """How the scenarios shared the run: how many were in flight at most, how long each waited
    for a set-up turn and held it, and what its run took beyond its own time (the wait for a
    turn, a disruptive scenario's own controller instance, clean-up)."""
    set_up = [i for i in intervals if i.get("setUp")]
    return {
        "inFlightPeak": len(pack(intervals)),
        "setUpWaitSeconds": _summary([i["setUp"][0] - i["start"] for i in set_up]),
        "setUpSeconds": _summary([i["setUp"][1] - i["setUp"][0] for i in set_up]),
        "beyondOwnSeconds": _summary(
            [i["end"] - i["start"] - i["own"] for i in intervals if i.get("own") is not None]
        ),
    }


def last_scenario(intervals: list[dict[str, Any]], floors: dict[str, float]) -> dict[str, Any] | None:
    """The scenario that ended last, which decides the scenario phase's length."""
    if not intervals:
        return None
    last = max(intervals, key=lambda i: i["end"])
    set_up = last.get("setUp")
    return {
        "name": last["name"],
        "start": last["start"],
        "end": last["end"],
        "setUpWait": round(set_up[0] - last["start"], 3) if set_up else None,
        "setUp": round(set_up[1] - set_up[0], 3) if set_up else None,
        "own": last.get("own"),
        "floor": floors.get(last["name"]),
    }


def measure(workers: int, extra: list[str]) -> dict[str, Any]:
    spawned = time.time()
    run = run_suite(workers, extra)
    report = run.report
    if not report.get("scenarios"):
        raise RuntimeError(f"no scenario ran; the suite's output ends:\n{run.output_tail}")
    scenarios = load([DEFAULT_SCENARIOS])
    startup = float(report["environment"]["clusterStartSeconds"])
    scoped = "{namespace}" in str(report["environment"].get("controller") or "")
    selected = {s["scenario"] for s in report["scenarios"]}
    tolerances = Tolerances()
    floors = tuple(scenario_floor(s, tolerances, scoped) for s in scenarios if s.name in selected)
    suite_floor = SuiteFloor(startup, floors)
    measured = {s["scenario"]: s["durationSeconds"] for s in report["scenarios"]}
    intervals = scenario_intervals(run)
    measured_phases = phases(run, spawned)
    return {
        "command": shlex.join(["pytest", *suite_arguments(workers, extra)]),
        "workers": workers,
        "scoped": scoped,
        "result": report["result"],
        "statistics": report["statistics"],
        "returncode": run.returncode,
        "wallSeconds": round(run.wall, 3),
        "cpuSeconds": round(run.cpu_seconds, 3),
        "controlPlaneStartSeconds": startup,
        "controllerReadySeconds": report["environment"].get("controllerReadySeconds"),
        "floor": {
            "seconds": round(suite_floor.floor, 3),
            "startup": startup,
            "longestScenario": suite_floor.longest.name,
            "longestSchedule": suite_floor.longest.schedule,
            "longestQuiet": suite_floor.longest.quiet,
            "aloneSeconds": round(sum(f.total for f in floors if f.alone), 3),
        },
        "ratio": round(run.wall / suite_floor.floor, 3),
        "reportRatio": report_ratio(report),
        "targetRatio": TARGET_RATIO,
        "phases": measured_phases,
        "gap": [list(part) for part in gap(measured_phases, suite_floor.longest.total)],
        "setUpsAtOnce": SETUPS,
        **scenario_statistics(intervals),
        "lastScenario": last_scenario(intervals, {f.name: round(f.total, 3) for f in floors}),
        "scenarios": [
            {
                "name": f.name,
                "floorSeconds": round(f.total, 3),
                "measuredSeconds": measured.get(f.name),
                "disruptive": f.disruptive,
                "alone": f.alone,
            }
            for f in sorted(floors, key=lambda f: -f.total)
        ],
        "lanes": pack(intervals),
        "memory": {
            name: {
                "rssPeakMiB": round(max(values) / 1024, 1),
                "rssMeanMiB": round(sum(values) / len(values) / 1024, 1),
                "hwmMiB": round(run.peak_hwm.get(name, 0) / 1024, 1),
                "samples": len(values),
            }
            for name, values in sorted(run.memory.items())
        },
        "outputTail": run.output_tail if run.returncode else "",
    }
