"""Parts 1 and 2: how wall time grows with the number of scenarios in flight, and how
closely the reference controller keeps its backoff schedule.

Design: N copies of one representative scenario (``mixed-recovers``: console, a
healthy webhook, and a webhook that fails twice and is retried after 1s and 2s)
are run at once through the suite's own ``ScenarioRunner``, each in its own
namespace with its own watch, sink paths and verdict, against one reference
controller. Every gap is measured twice: on the sink's clock (when the request
arrived) and from the attempt timestamps the controller recorded in status.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bench import harness, procfs
from bench.floor import scenario_floor
from bench.profiler import Profile
from bench.stats import Summary
from clusters.local.controlplane import LocalControlPlane
from conformance.contract.tolerances import Tolerances
from conformance.environment.settings import DEFAULT_SCENARIOS
from conformance.observers.observation import SINK
from conformance.run.result import ScenarioResult
from conformance.run.runner import ScenarioRunner
from conformance.scenarios import oracle
from conformance.scenarios.load import load
from conformance.scenarios.model import Scenario

SCENARIO = "mixed-recovers"
GAP_TARGET_P99 = 0.050


@dataclass
class GapSample:
    """One retry gap of one channel, measured on both clocks."""

    channel: str
    attempt: int
    nominal: float
    sink: float | None
    status: float


@dataclass
class LevelResult:
    in_flight: int
    wall: float
    passed: int
    durations: list[float]
    gaps: list[GapSample] = field(default_factory=list)
    clock_offsets: list[float] = field(default_factory=list)
    """Sink receive time minus the attempt time recorded in status, per webhook attempt."""
    failures: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds each process used during the level."""
    profile: dict[str, Any] | None = None


def representative() -> Scenario:
    return next(s for s in load([DEFAULT_SCENARIOS]) if s.name == SCENARIO)


def samples(result: ScenarioResult) -> tuple[list[GapSample], list[float]]:
    """The gaps and clock offsets of one scenario run."""
    scenario, observed = result.scenario, result.observed
    gaps: list[GapSample] = []
    offsets: list[float] = []
    for channel in scenario.channels:
        recorded = sorted((a for a in observed.attempts if a.channel == channel.name), key=lambda a: a.number)
        seen = [e.time for e in observed.external.get(channel.name, []) if e.source == SINK]
        if len(seen) == len(recorded):
            offsets += [s - a.time for s, a in zip(seen, recorded, strict=True)]
        for index in range(1, len(recorded)):
            nominal = oracle.window(
                scenario.retry_policy, index, Tolerances(), retry_after=oracle.retry_after(channel, index)
            ).nominal
            sink_gap = seen[index] - seen[index - 1] if len(seen) == len(recorded) else None
            status_gap = recorded[index].time - recorded[index - 1].time
            gaps.append(GapSample(channel.name, index + 1, nominal, sink_gap, status_gap))
    return gaps, offsets


def run_level(
    runner: ScenarioRunner, scenario: Scenario, in_flight: int, pids: dict[str, int], profile: bool
) -> LevelResult:
    """``in_flight`` copies of ``scenario`` started together; wall time until the last verdict.
    The CPU time of the processes in ``pids`` is measured; with ``profile``, the controller is profiled."""
    start = threading.Barrier(in_flight + 1)
    meter = procfs.CpuMeter(pids)
    profiler = Profile(pids["controller"]).start() if profile else None

    def one() -> ScenarioResult:
        start.wait()
        return runner.run(scenario)

    try:
        with ThreadPoolExecutor(in_flight, thread_name_prefix="scenario") as pool:
            futures = [pool.submit(one) for _ in range(in_flight)]
            start.wait()
            began = time.monotonic()
            results = [f.result() for f in futures]
            wall = time.monotonic() - began
    except BaseException:
        if profiler is not None:
            profiler.close()
        raise
    level = LevelResult(
        in_flight, wall, sum(r.verdict.passed for r in results), [r.duration for r in results]
    )
    level.cpu = meter.read()
    level.profile = profiler.stop(wall) if profiler is not None else None
    for result in results:
        gaps, offsets = samples(result)
        level.gaps += gaps
        level.clock_offsets += offsets
        level.failures += [str(v) for v in result.verdict.violations]
    return level


def summarise_gaps(gaps: list[GapSample]) -> dict[str, Any]:
    """Observed minus nominal gap, in milliseconds, on each clock."""
    sink = [(g.sink - g.nominal) * 1000 for g in gaps if g.sink is not None]
    status = [(g.status - g.nominal) * 1000 for g in gaps]
    return {
        "sink": Summary.of(sink).as_dict() if sink else None,
        "status": Summary.of(status).as_dict() if status else None,
    }


def measure(plane: LocalControlPlane, levels: tuple[int, ...]) -> dict[str, Any]:
    scenario = representative()
    floor = scenario_floor(scenario, Tolerances())
    results: list[LevelResult] = []
    with harness.run_environment(plane, harness.REFERENCE) as (environment, context):
        pids = harness.process_ids(plane, environment)
        api_client = harness.api_client_for(plane.kubeconfig_path, pool=max(levels) + 32)
        try:
            runner = ScenarioRunner(context, harness.binding(), api_client, environment)
            for in_flight in levels:
                results.append(run_level(runner, scenario, in_flight, pids, in_flight == max(levels)))
        finally:
            api_client.close()
    all_gaps = [g for level in results for g in level.gaps]
    offsets = [o * 1000 for level in results for o in level.clock_offsets]
    return {
        "scenario": SCENARIO,
        "scenarioFloorSeconds": round(floor.total, 3),
        "scenarioScheduleSeconds": floor.schedule,
        "levels": [
            {
                "inFlight": level.in_flight,
                "wallSeconds": round(level.wall, 3),
                "ratioToScenarioFloor": round(level.wall / floor.total, 3),
                "passed": level.passed,
                "scenarioSeconds": Summary.of(level.durations).as_dict(),
                "gapErrorMs": summarise_gaps(level.gaps),
                "violations": level.failures[:10],
                "violationCount": len(level.failures),
                "cpuSeconds": level.cpu,
                "controllerProfile": level.profile,
            }
            for level in results
        ],
        "fidelity": {
            "gaps": len(all_gaps),
            "gapErrorMs": summarise_gaps(all_gaps),
            "targetP99Ms": GAP_TARGET_P99 * 1000,
            "sinkMinusStatusMs": Summary.of(offsets).as_dict() if offsets else None,
            "earlyOnlyOnTheSinkClock": sum(
                g.sink is not None
                and g.sink - g.nominal < -Tolerances().epsilon
                and g.status - g.nominal >= -Tolerances().epsilon
                for g in all_gaps
            ),
            "earlyInStatus": sum(g.status - g.nominal < -Tolerances().epsilon for g in all_gaps),
            "rawGapErrorsMs": [
                [level.in_flight, g.channel, g.attempt, round((g.sink - g.nominal) * 1000, 3)]
                for level in results
                for g in level.gaps
                if g.sink is not None
            ],
        },
    }
