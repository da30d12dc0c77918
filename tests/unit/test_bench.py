"""The benchmark's pure parts: statistics, the API server's counters, the suite's floor."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import apimetrics
from bench.floor import SuiteFloor, scenario_floor
from bench.stats import Summary, gaps, peak_rate, percentile
from conformance.contract.tolerances import Tolerances
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
    assert not slow.alone
    assert restarted.schedule == pytest.approx(0.5) and restarted.alone
    suite = SuiteFloor(startup=3.0, scenarios=(slow, restarted), workers=8)
    assert suite.longest is slow
    assert suite.floor == pytest.approx(3.0 + 6.0 + 2.75)
    assert suite.design_floor == pytest.approx(3.0 + restarted.total + slow.total)


WORKER_PROCESS = (
    'process 10:"python -m pytest";process 11:"python -u -c import sys;exec(eval(sys.stdin.readline()))"'
)
COLLAPSED = f"""\
{WORKER_PROCESS};<module> (<string>:1);runtestprotocol (runner.py:1);run (plugin.py:2);\
ScenarioRunner.run (runner.py:3);ScenarioRunner._observe (runner.py:4);StatusRecorder.hold (status.py:5) 40
{WORKER_PROCESS};<module> (<string>:1);runtestprotocol (runner.py:1);ControlClient.lease (control.py:6) 10
{WORKER_PROCESS};<module> (<string>:1);_find_and_load (<frozen>:1) 20
{WORKER_PROCESS};Thread._bootstrap (threading.py:1);StatusRecorder._run (status.py:7) 99
process 10:"python -m pytest";<module> (<string>:1);StatusRecorder.hold (status.py:5) 77
"""


def test_suite_profile_counts_only_the_thread_that_runs_tests_in_workers() -> None:
    from bench.suite_profile import worker_seconds

    assert worker_seconds(COLLAPSED, rate=10) == {
        "quiet window after the terminal phase": 4.0,
        "imports": 2.0,
        "waiting for the run's lease": 1.0,
    }


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
