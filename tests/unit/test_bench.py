"""The benchmark's pure parts: statistics, the API server's counters, the suite's floor, phases,
lanes and profile buckets, and the write-up drawn from them."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

from bench import apimetrics
from bench import suite_speed as speed
from bench.floor import SuiteFloor, report_ratio, scenario_floor
from bench.stats import Summary, gaps, peak_rate, percentile
from bench.suite_profile import MAIN
from bench.suite_speed import (
    SuiteRun,
    gap,
    last_scenario,
    pack,
    phases,
    scenario_intervals,
    scenario_statistics,
    suite_arguments,
)
from conformance.contract.tolerances import Tolerances
from conformance.environment import readiness
from conformance.scenarios.load import load_file


def test_percentile_interpolates_between_ranks() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 0.5) == 3.0
    assert percentile(values, 1.0) == 5.0
    assert percentile(values, 0.9) == pytest.approx(4.6)
    assert percentile([7.0], 0.99) == 7.0


def test_percentile_refuses_nothing_and_fractions_outside_one() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 99)


def test_summary_of_samples() -> None:
    summary = Summary.of([10.0, 20.0, 30.0, 40.0])
    assert summary.count == 4
    assert (summary.min, summary.max, summary.mean, summary.p50) == pytest.approx((10.0, 40.0, 25.0, 25.0))
    assert summary.as_dict(digits=1)["p99"] == 39.7
    with pytest.raises(ValueError, match="no samples"):
        Summary.of([])


def test_gaps_and_peak_rate() -> None:
    assert gaps([1.0, 2.5, 4.5]) == [1.5, 2.0]
    assert gaps([1.0]) == []
    # four requests within 0.3s, then one a second later: a storm of four
    assert peak_rate([10.0, 10.1, 10.2, 10.3, 11.5]) == 4
    assert peak_rate([]) == 0


METRICS = """\
# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="notifications.conformance.dev",\
resource="notificationrequests",scope="resource",subresource="",verb="GET",version="v1alpha1"} 10
apiserver_request_total{code="200",component="apiserver",dry_run="",group="notifications.conformance.dev",\
resource="notificationrequests",scope="resource",subresource="status",verb="PUT",version="v1alpha1"} 4
apiserver_request_total{code="409",component="apiserver",dry_run="",group="notifications.conformance.dev",\
resource="notificationrequests",scope="resource",subresource="status",verb="PUT",version="v1alpha1"} 1
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="events",\
scope="resource",subresource="",verb="POST",version="v1"} 2
apiserver_request_sli_duration_seconds_count{group="",resource="events",verb="POST"} 2
"""


def test_request_counters_are_parsed_by_kind() -> None:
    counts = apimetrics.parse(METRICS)
    status = apimetrics.select(counts, group="notifications.conformance.dev")
    assert apimetrics.total(status, verbs=("PUT",), subresource="status") == 5
    assert apimetrics.total(status, verbs=("GET",)) == 10
    assert apimetrics.total(apimetrics.select(counts, resource="events")) == 2
    assert apimetrics.table(status)["PUT notificationrequests/status 409"] == 1


def test_request_counter_difference_keeps_only_what_changed() -> None:
    before = apimetrics.parse(METRICS)
    after = apimetrics.parse(METRICS.replace("} 10", "} 25"))
    assert apimetrics.table(apimetrics.difference(before, after)) == {"GET notificationrequests 200": 15}


SCENARIOS = """\
- name: slow-cap
  requirements: [NR-BACKOFF-LOWER]
  retryPolicy: {maxAttempts: 4, initialBackoff: 1s, backoffMultiplier: 2, maxBackoff: 2s, jitterPercent: 0}
  channels:
    - {name: hook, type: webhook, webhook: {timeout: 1s, respond: [{status: 200, delay: 3s}]}}
  expect: {phase: Failed}
- name: restarted
  flags: [disruptive]
  requirements: [NR-RESTART-SAFE]
  retryPolicy: {maxAttempts: 2, initialBackoff: 500ms, backoffMultiplier: 2, maxBackoff: 2s, jitterPercent: 0}
  actions: {restartAfter: {channel: archive, attempt: 1}}
  channels:
    - {name: archive, type: file, file: {writable: false}}
  expect: {phase: Failed}
"""


def test_floor_adds_busy_attempts_nominal_gaps_and_quiet_window(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.yaml"
    path.write_text(SCENARIOS)
    slow, restarted = (scenario_floor(s, Tolerances()) for s in load_file(path))
    # each attempt times out after 1s, and the gaps 1s, 2s, 2s are at least that long
    assert slow.schedule == pytest.approx(1.0 + 2.0 + 2.0 + 1.0)
    assert slow.quiet == pytest.approx(2.0 + 0.75)
    assert not slow.alone and not slow.disruptive
    # with a {namespace} command, a disruptive scenario has an instance of its own: it overlaps
    assert restarted.schedule == pytest.approx(0.5) and restarted.disruptive and not restarted.alone
    suite = SuiteFloor(startup=3.0, scenarios=(slow, restarted))
    assert suite.longest is slow
    assert suite.floor == pytest.approx(3.0 + 6.0 + 2.75)


def test_a_disruptive_scenario_runs_alone_only_without_a_namespace_command(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.yaml"
    path.write_text(SCENARIOS)
    slow, restarted = (scenario_floor(s, Tolerances(), scoped=False) for s in load_file(path))
    assert restarted.alone and not slow.alone


def test_report_ratio_is_the_summary_lines_duration_over_start_up_and_longest_measured() -> None:
    report = {
        "statistics": {"durationSeconds": 30.0},
        "environment": {"clusterStartSeconds": 5.0},
        "scenarios": [
            {"scenario": "a", "durationSeconds": 7.5},
            {"scenario": "b", "durationSeconds": 15.0},
        ],
    }
    assert report_ratio(report) == {
        "durationSeconds": 30.0,
        "controlPlaneSeconds": 5.0,
        "longestScenario": "b",
        "longestSeconds": 15.0,
        "floorSeconds": 20.0,
        "ratio": 1.5,
    }
    assert report_ratio({**report, "scenarios": []}) is None
    assert report_ratio({**report, "environment": {}}) is None


def _interval(name: str, start: float, end: float) -> dict[str, Any]:
    return {"name": name, "start": start, "end": end}


def test_scenarios_pack_into_as_few_lanes_as_overlap() -> None:
    lanes = pack(
        [
            _interval("long", 0.0, 10.0),
            _interval("short", 0.1, 2.0),
            _interval("after-short", 2.0, 5.0),
            _interval("third", 1.0, 3.0),
            _interval("late", 6.0, 9.0),
        ]
    )
    assert [[i["name"] for i in lane] for lane in lanes] == [
        ["long"],
        ["short", "after-short", "late"],
        ["third"],
    ]
    assert pack([]) == []


def _suite_run(timeline: list[dict[str, Any]], wall: float, **environment: Any) -> SuiteRun:
    report = {
        "environment": {"clusterStartSeconds": 4.0, "controllerReadySeconds": 1.5, **environment},
        "scenarios": [
            {"scenario": "slow", "durationSeconds": 10.0},
            {"scenario": "quick", "durationSeconds": 2.0},
        ],
        "statistics": {"durationSeconds": wall - 2.0},
    }
    return SuiteRun(wall, 0, 1.0, report, timeline)


SPAWNED = 1000.0
TIMELINE = [
    {"event": "configure", "time": 1001.0, "worker": "main"},
    {"event": "sessionstart", "time": 1009.0, "worker": "main"},
    {"event": "collected", "time": 1009.5, "tests": 2, "worker": "main"},
    {"event": "test", "test": "s::t[slow]", "start": 1009.6, "end": 1021.4, "time": 1021.4, "worker": "main"},
    {
        "event": "test",
        "test": "s::t[quick]",
        "start": 1021.4,
        "end": 1021.4,
        "time": 1021.4,
        "worker": "main",
    },
    {
        "event": "scenario",
        "scenario": "slow",
        "start": 1010.0,
        "end": 1021.0,
        "setUpStart": 1010.0,
        "setUpEnd": 1010.5,
        "own": 10.0,
        "time": 1021.0,
        "worker": "main",
    },
    {
        "event": "scenario",
        "scenario": "quick",
        "start": 1010.0,
        "end": 1013.0,
        "setUpStart": 1010.5,
        "setUpEnd": 1011.0,
        "own": 2.0,
        "time": 1013.0,
        "worker": "main",
    },
    {"event": "sessionfinish", "time": 1021.5, "worker": "main"},
    {"event": "unconfigure", "time": 1024.5, "worker": "main"},
]


def test_phases_follow_each_other_from_spawn_to_exit() -> None:
    run = _suite_run(TIMELINE, wall=25.0)
    measured = phases(run, SPAWNED)
    assert measured == {
        speed.STARTUP: 1.0,
        speed.CONTROL_PLANE: 4.0,
        speed.ENVIRONMENT: 8.0 - 4.0 - 1.5,
        speed.READINESS: 1.5,
        speed.COLLECTION: 1.0,
        speed.SCENARIOS: 11.0,
        speed.OUTCOMES: 0.5,
        speed.STOP: 3.0,
        speed.EXIT: 0.5,
    }
    assert sum(measured.values()) == pytest.approx(run.wall)
    # a controller that never delivered: the run waited the whole timeout
    silent = _suite_run(TIMELINE, wall=25.0, controllerReadySeconds=None, controllerNotReady="no")
    assert phases(silent, SPAWNED)[speed.READINESS] == readiness.TIMEOUT


def test_the_gap_to_the_floor_is_every_fixed_cost_and_the_scenarios_overrun_largest_first() -> None:
    run = _suite_run(TIMELINE, wall=25.0)
    measured = phases(run, SPAWNED)
    parts = gap(measured, longest=9.5)
    assert parts[0] == (speed.STOP, 3.0)
    assert dict(parts)[speed.BEYOND] == pytest.approx(11.0 - 9.5)
    assert speed.CONTROL_PLANE not in dict(parts) and speed.SCENARIOS not in dict(parts)
    assert sum(seconds for _, seconds in parts) == pytest.approx(run.wall - (4.0 + 9.5))
    assert [seconds for _, seconds in parts] == sorted((seconds for _, seconds in parts), reverse=True)


def test_scenario_intervals_turns_and_the_last_to_end() -> None:
    intervals = scenario_intervals(_suite_run(TIMELINE, wall=25.0))
    assert intervals == [
        {"name": "slow", "start": 0.0, "end": 11.0, "own": 10.0, "setUp": [0.0, 0.5]},
        {"name": "quick", "start": 0.0, "end": 3.0, "own": 2.0, "setUp": [0.5, 1.0]},
    ]
    statistics = scenario_statistics(intervals)
    assert statistics["inFlightPeak"] == 2
    assert statistics["setUpWaitSeconds"]["max"] == 0.5
    assert statistics["setUpSeconds"]["p50"] == 0.5
    assert statistics["beyondOwnSeconds"]["max"] == 1.0
    assert last_scenario(intervals, {"slow": 9.5}) == {
        "name": "slow",
        "start": 0.0,
        "end": 11.0,
        "setUpWait": 0.0,
        "setUp": 0.5,
        "own": 10.0,
        "floor": 9.5,
    }
    assert last_scenario([], {}) is None


def test_suite_arguments_are_make_conformances() -> None:
    assert suite_arguments(0) == ["conformance/suite", "-n", "0"]
    assert suite_arguments(4, ["-k", "x"]) == ["conformance/suite", "-n", "4", "-k", "x"]


def test_turns_note_when_each_thread_held_a_set_up_turn() -> None:
    from bench.timeline_plugin import Turns

    turns = Turns(threading.BoundedSemaphore(1))
    held: dict[str, list[float]] = {}

    def hold(name: str) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(turns)
            time.sleep(0.05)
        held[name] = turns.take()

    threads = [threading.Thread(target=hold, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (a_got, a_gave), (b_got, b_gave) = held["a"], held["b"]
    assert a_got < a_gave and b_got < b_gave
    assert a_gave <= b_got or b_gave <= a_got  # one turn: never held at once
    assert turns.take() == []


def _row(name: str, floor: float, measured: float, disruptive: bool) -> dict[str, Any]:
    return {
        "name": name,
        "floorSeconds": floor,
        "measuredSeconds": measured,
        "disruptive": disruptive,
        "alone": False,
    }


def _suite_results() -> dict[str, Any]:
    run = _suite_run(TIMELINE, wall=25.0, controller="run --namespace {namespace}")
    intervals = scenario_intervals(run)
    measured = phases(run, SPAWNED)
    return {
        "command": "pytest conformance/suite -n 0",
        "workers": 0,
        "scoped": True,
        "result": "success",
        "statistics": {"passed": 2, "failed": 0, "skipped": 0, "durationSeconds": 23.0},
        "wallSeconds": 25.0,
        "cpuSeconds": 12.0,
        "controllerReadySeconds": 1.5,
        "floor": {
            "seconds": 13.5,
            "startup": 4.0,
            "longestScenario": "slow",
            "longestSchedule": 7.0,
            "longestQuiet": 2.5,
            "aloneSeconds": 0.0,
        },
        "ratio": 1.852,
        "reportRatio": report_ratio(run.report),
        "targetRatio": 1.5,
        "phases": measured,
        "gap": [list(part) for part in gap(measured, 9.5)],
        "setUpsAtOnce": 3,
        **scenario_statistics(intervals),
        "lastScenario": last_scenario(intervals, {"slow": 9.5, "quick": 1.5}),
        "scenarios": [
            {
                "name": "slow",
                "floorSeconds": 9.5,
                "measuredSeconds": 10.0,
                "disruptive": False,
                "alone": False,
            },
            {
                "name": "quick",
                "floorSeconds": 1.5,
                "measuredSeconds": 2.0,
                "disruptive": True,
                "alone": False,
            },
        ],
        "lanes": pack(intervals),
    }


def test_suite_section_says_what_the_numbers_say() -> None:
    from bench.writeup import suite_section, summary

    suite = _suite_results()
    profile = {
        "rate": 20,
        "returncode": 0,
        "threadSeconds": {MAIN: {"tests waiting for their scenario's outcome": 12.0}},
        "totals": {MAIN: 12.0},
        "setUpCalls": [],
    }
    text = "\n".join(suite_section(suite, profile, {}))
    assert "at most 2 in flight" in text
    assert "so the disruptive scenario got a controller instance of its own" in text
    assert "No scenario had to run alone." in text
    assert "The run took 11.5 s more than its floor." in text
    assert "The last to end was `slow` (floor 9.5 s)" in text
    assert "**1.643** times its floor of 14.0 s" in text  # 23 s over 4 s + 10 s, from the report
    assert "xdist" not in text.replace("collecting the test items", "")
    gap_lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert gap_lines[0].startswith(f"- {speed.STOP}: 3 s, 26%")
    rows = "\n".join(summary({"suite": suite}))
    assert "| 1.852 (25.0 s / 13.5 s) | **missed** |" in rows
    assert "1.643 (23.0 s / (4.0 s + 10.0 s))" in rows


def test_suite_timeline_draws_each_scenario_in_its_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import plots

    plt, fig, ax = MagicMock(), MagicMock(), MagicMock()
    plt.subplots.return_value = (fig, ax)
    monkeypatch.setattr(plots, "_pyplot", lambda: plt)
    plots.suite_timeline(_suite_results(), Path("timeline.png"))
    bars = [(call.args[0], call.args[1], call.kwargs["left"]) for call in ax.barh.call_args_list]
    # each scenario: its run, its own time from its set-up turn on, its set-up; quick ends first
    assert bars == [
        (0, 3.0, 0.0),
        (0, 2.0, 0.5),
        (0, 0.5, 0.5),
        (1, 11.0, 0.0),
        (1, 10.0, 0.0),
        (1, 0.5, 0.0),
    ]
    assert ax.axvline.call_args.args == (9.5,)
    fig.savefig.assert_called_once()


MAIN_PROCESS = 'process 10:"python -m pytest conformance/suite -n 0"'
SCENARIO_THREAD = (
    f"{MAIN_PROCESS};Thread._bootstrap (threading.py:1);Thread.run (threading.py:2);"
    "ScenarioPool._run (pool.py:3);attempt (session.py:4);attempt (outcome.py:5);"
    "ScenarioRunner.run (runner.py:6)"
)
WORKER_PROCESS = f'{MAIN_PROCESS};process 11:"python -u -c import sys;exec(eval(sys.stdin.readline()))"'
COLLAPSED = f"""\
{SCENARIO_THREAD};ScenarioRunner._run (runner.py:7);ScenarioRunner._observe (runner.py:8);\
StatusRecorder.hold (status.py:9) 40
{SCENARIO_THREAD};ScenarioRunner._run (runner.py:7);ExitStack.enter_context (contextlib.py:1);\
Semaphore.acquire (threading.py:3);Condition.wait (threading.py:4) 30
{SCENARIO_THREAD};ScenarioRunner._run (runner.py:7);Credentials.provide (credentials.py:1) 5
{SCENARIO_THREAD};_GeneratorContextManager.__enter__ (contextlib.py:1);\
RunEnvironment.instance_for (run_environment.py:1);Future.result (_base.py:1) 8
{MAIN_PROCESS};_run_module_as_main (<frozen runpy>:1);<module> (__main__.py:1);\
runtestprotocol (runner.py:1);wait (plugin.py:2);ScenarioPool.outcome (pool.py:3);\
Future.result (_base.py:4) 90
{MAIN_PROCESS};_run_module_as_main (<frozen runpy>:1);Session._start (session.py:1);\
RunEnvironment.start (run_environment.py:1);RunEnvironment._wait_ready (run_environment.py:2) 20
{MAIN_PROCESS};Thread._bootstrap (threading.py:1);StatusRecorder._run (status.py:7) 99
{WORKER_PROCESS};<module> (<string>:1);runtestprotocol (runner.py:1);ControlClient.outcome (control.py:6) 10
{MAIN_PROCESS};process 12:"python -m reference_controller";Manager._work (manager.py:1) 50
"""


def test_suite_profile_counts_the_main_thread_scenario_threads_and_workers_apart() -> None:
    from bench.suite_profile import SCENARIOS as SCENARIO_THREADS
    from bench.suite_profile import SET_UP, WORKERS, set_up_calls, thread_seconds

    assert thread_seconds(COLLAPSED, rate=10) == {
        MAIN: {
            "tests waiting for their scenario's outcome": 9.0,
            "waiting for the controller's first delivery": 2.0,
        },
        SCENARIO_THREADS: {
            "quiet window after the terminal phase": 4.0,
            "waiting for a set-up turn": 3.0,
            "own controller instance: start and stop": 0.8,
            SET_UP: 0.5,
        },
        WORKERS: {"tests waiting for their scenario's outcome": 1.0},
    }
    assert set_up_calls(COLLAPSED, rate=10) == [["Credentials.provide", 0.5]]


def test_profile_summary_shares_of_busy_samples() -> None:
    from bench.profiler import summarise

    raw = (
        "Manager._work (/x/reference_controller/manager.py:10);"
        "loads (/usr/lib/python3.11/json/__init__.py:346) 3\n"
        "Manager._work (/x/reference_controller/manager.py:10);"
        "RESTClientObject.request (/v/lib/python3.11/site-packages/kubernetes/client/rest.py:9) 1\n"
    )
    summary = summarise(raw, seconds=2.0, rate=2)
    assert summary["samples"] == 4
    assert summary["busyThreadsAverage"] == 1.0
    assert summary["selfByLibrary"] == [["json", 0.75], ["kubernetes", 0.25]]
    assert summary["inclusiveByFunction"][0] == ["Manager._work (reference_controller)", 1.0]


def test_seed_design_runs_with_the_suite_default_command_otherwise_unchanged() -> None:
    from bench.harness import REFERENCE, SEED, controller_command
    from conformance.environment.settings import DEFAULT_CONTROLLER

    assert controller_command(REFERENCE) == DEFAULT_CONTROLLER
    seed = controller_command(SEED)
    assert "-m tests.broken_controllers per-channel-writes" in seed
    assert seed.replace("-m tests.broken_controllers per-channel-writes", "-m reference_controller") == (
        DEFAULT_CONTROLLER
    )


def test_a_drain_rate_is_read_with_how_busy_the_cores_were() -> None:
    from bench.writeup import saturation

    run = {
        "secondsUntilAllTerminal": 5.0,
        "cpuSeconds": {"etcd": 0.5, "kube-apiserver": 4.5, "controller": 4.0},
    }
    assert (
        saturation(run, 2) == "90% of 2 cores busy: kube-apiserver 4.5, controller 4, etcd 0.5 CPU-s in 5 s"
    )


def test_the_project_tests_part_reads_junit_and_states_the_target(tmp_path: Path) -> None:
    from bench.project_tests import counts
    from bench.writeup import project_tests_section, summary

    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite tests="700" failures="1" errors="0" skipped="2" time="241.5">'
        '<testcase classname="tests.a" name="test_ok"/>'
        '<testcase classname="tests.a" name="test_bad"><failure message="no"/></testcase>'
        '<testcase classname="tests.b" name="test_suite"><failure message="assert 1 == 0">'
        "E   scenario 'x' violated the contract:\nE     [NR-BACKOFF-UPPER] channel 'hook' attempt 2 came late"
        "</failure></testcase>"
        "</testsuite></testsuites>"
    )
    found = counts(junit)
    assert found == {
        "tests": 700,
        "failures": 1,
        "errors": 0,
        "skipped": 2,
        "pytestSeconds": 241.5,
        "failed": ["tests.a::test_bad", "tests.b::test_suite"],
        "why": {
            "tests.a::test_bad": ["no"],
            "tests.b::test_suite": ["[NR-BACKOFF-UPPER] channel 'hook' attempt 2 came late"],
        },
    }
    run = {"command": "pytest tests -n 6", "workers": 6, "returncode": 1, "wallSeconds": 250.0}
    run |= {"targetSeconds": 300.0, "tail": ["1 failed, 697 passed"], **found}
    rows = "\n".join(summary({"projectTests": run}))
    assert "| ≤ 300 s | 250.0 s (697 passed, 1 failed, 2 skipped) | **missed** |" in rows
    section = "\n".join(project_tests_section(run))
    assert "Its last line: `1 failed, 697 passed`" in section
    assert "Failed: `tests.a::test_bad`, `tests.b::test_suite`." in section
    assert "- `tests.b::test_suite`:\n  - [NR-BACKOFF-UPPER] channel 'hook' attempt 2 came late" in section
