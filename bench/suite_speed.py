"""Part 1: the conformance suite's wall time against its floor, run exactly as
``make conformance`` runs it, with the memory of the control plane sampled meanwhile."""

from __future__ import annotations

import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench import procfs
from bench.floor import SuiteFloor, scenario_floor
from bench.stats import Summary
from conformance.contract.tolerances import Tolerances
from conformance.environment.settings import DEFAULT_SCENARIOS
from conformance.scenarios.load import load

REPO = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5
MEMORY_TARGETS = {
    "kube-apiserver": "kube-apiserver",
    "etcd": "etcd",
    "controller": "reference_controller",
}


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


def run_suite(workers: int, extra: list[str]) -> SuiteRun:
    """``pytest conformance/suite -n WORKERS`` in a child process, timed from spawn to exit."""
    with tempfile.TemporaryDirectory(prefix="nc-bench-suite-") as scratch:
        directory = Path(scratch)
        timeline_path = directory / "timeline.jsonl"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "conformance/suite",
            "-n",
            str(workers),
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


def phases(run: SuiteRun, spawned: float) -> dict[str, float]:
    """Seconds spent in each phase of the run, from the timeline the plugin recorded."""
    main = {e["event"]: e["time"] for e in run.timeline if e["worker"] == "main"}
    tests = [e for e in run.timeline if e["event"] == "test"]
    first = min(e["start"] for e in tests)
    last = max(e["end"] for e in tests)
    result = {
        "python and pytest start-up": main["configure"] - spawned,
        "control plane, CRDs, sink and controller": main["sessionstart"] - main["configure"],
        "workers start and collect": first - main["sessionstart"],
        "scenarios": last - first,
        "workers finish": main["sessionfinish"] - last,
        "report, stop controller, sink and control plane": main["unconfigure"] - main["sessionfinish"],
        "exit": spawned + run.wall - main["unconfigure"],
    }
    return {name: round(seconds, 3) for name, seconds in result.items()}


def worker_lanes(run: SuiteRun, kind: str = "test") -> dict[str, list[tuple[str, float, float]]]:
    """For each xdist worker, its tests (or the scenarios inside them) as (name, start, end) in
    seconds after the first test started."""
    tests = [e for e in run.timeline if e["event"] == "test"]
    origin = min(e["start"] for e in tests)
    lanes: dict[str, list[tuple[str, float, float]]] = {}
    for event in sorted((e for e in run.timeline if e["event"] == kind), key=lambda e: e["start"]):
        name = event["scenario"] if kind == "scenario" else event["test"].split("[", 1)[-1].rstrip("]")
        lanes.setdefault(event["worker"], []).append((name, event["start"] - origin, event["end"] - origin))
    return lanes


def measure(workers: int, extra: list[str]) -> dict[str, Any]:
    spawned = time.time()
    run = run_suite(workers, extra)
    scenarios = load([DEFAULT_SCENARIOS])
    startup = float(run.report["environment"]["clusterStartSeconds"])
    selected = {s["scenario"] for s in run.report["scenarios"]}
    tolerances = Tolerances()
    floors = tuple(scenario_floor(s, tolerances) for s in scenarios if s.name in selected)
    suite_floor = SuiteFloor(startup, floors, workers)
    measured = {s["scenario"]: s["durationSeconds"] for s in run.report["scenarios"]}
    lanes = worker_lanes(run)
    scenario_lanes = worker_lanes(run, "scenario")
    protocol = {name: end - start for lane in lanes.values() for name, start, end in lane}
    inside = {name: end - start for lane in scenario_lanes.values() for name, start, end in lane}
    overheads = [protocol[name] - inside[name] for name in inside if name in protocol]
    first_set_up = [
        scenario_lanes[worker][0][1] - tests[0][1]
        for worker, tests in lanes.items()
        if scenario_lanes.get(worker)
    ]
    busy = sum(end - start for lane in lanes.values() for _, start, end in lane)
    span = max(end for lane in lanes.values() for _, _, end in lane)
    return {
        "command": shlex.join(["pytest", "conformance/suite", "-n", str(workers), *extra]),
        "workers": workers,
        "result": run.report["result"],
        "statistics": run.report["statistics"],
        "returncode": run.returncode,
        "wallSeconds": round(run.wall, 3),
        "cpuSeconds": round(run.cpu_seconds, 3),
        "controlPlaneStartSeconds": startup,
        "floor": {
            "seconds": round(suite_floor.floor, 3),
            "startup": startup,
            "longestScenario": suite_floor.longest.name,
            "longestSchedule": suite_floor.longest.schedule,
            "longestQuiet": suite_floor.longest.quiet,
            "designFloorSeconds": round(suite_floor.design_floor, 3),
            "aloneSeconds": round(suite_floor.alone_sum, 3),
            "sharedSumSeconds": round(sum(f.total for f in floors if not f.alone), 3),
        },
        "ratio": round(run.wall / suite_floor.floor, 3),
        "targetRatio": TARGET_RATIO,
        "phases": phases(run, spawned),
        "workerUtilisation": round(busy / (span * len(lanes)), 3) if span else None,
        "testOverheadSeconds": Summary.of(overheads).as_dict() if overheads else None,
        "firstTestSetUpSeconds": Summary.of(first_set_up).as_dict() if first_set_up else None,
        "scenarios": [
            {
                "name": f.name,
                "floorSeconds": round(f.total, 3),
                "measuredSeconds": measured.get(f.name),
                "alone": f.alone,
            }
            for f in sorted(floors, key=lambda f: -f.total)
        ],
        "lanes": {
            w: [[n, round(s, 3), round(e, 3)] for n, s, e in lane] for w, lane in sorted(lanes.items())
        },
        "scenarioLanes": {
            w: [[n, round(s, 3), round(e, 3)] for n, s, e in lane]
            for w, lane in sorted(scenario_lanes.items())
        },
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
