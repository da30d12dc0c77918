"""Renders ``results.md`` from the measured results: every number in it comes from ``results.json``."""

from __future__ import annotations

from typing import Any

from bench.suite_profile import WORKERS
from bench.suite_speed import (
    BEYOND,
    COLLECTION,
    ENVIRONMENT,
    EXIT,
    OUTCOMES,
    READINESS,
    SCENARIOS,
    STARTUP,
    STOP,
)
from conformance.contract.tolerances import Tolerances

EPSILON_MS = Tolerances().epsilon * 1000


THROUGHPUT_TARGET = 2 * 362.0
"""Twice the reference's deliveries per second before it read from its informer's cache."""
API_TARGET = 2.0
CREATE_BOUND = 0.9
"""Creating the notifications took this share of the time until all were terminal or more:
the controller kept up with the benchmark, which then measured its own creation rate."""


def _ok(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "**missed**")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _figure(figures: dict[str, str], name: str, caption: str) -> list[str]:
    return [f"![{caption}]({figures[name]})", ""] if name in figures else []


def machine_line(results: dict[str, Any]) -> str:
    m = results["machine"]
    return (
        f"Machine load: {m['cpus']} CPUs; load average {m['loadAverageStart']} at the start and "
        f"{m['loadAverageEnd']} at the end; the CPUs were {m['machineBusyFraction']:.0%} busy during the run,"
        " "
        f"{m['othersBusyFraction']:.0%} of that capacity used by processes other than the benchmark's "
        f"({m['othersCpuSeconds']} CPU-seconds against the benchmark's {m['benchmarkCpuSeconds']})."
    )


def summary(results: dict[str, Any]) -> list[str]:
    rows: list[list[Any]] = []
    if "suite" in results:
        s = results["suite"]
        rows.append(
            [
                "suite wall time from spawn / floor (oracle)",
                f"≤ {s['targetRatio']}",
                f"{s['ratio']} ({s['wallSeconds']} s / {s['floor']['seconds']} s)",
                _ok(s["ratio"] <= s["targetRatio"]),
            ]
        )
        reported = s.get("reportRatio")
        if reported:
            rows.append(
                [
                    "suite time / floor, as its summary line states it (report)",
                    f"≤ {s['targetRatio']}",
                    f"{reported['ratio']} ({reported['durationSeconds']} s / "
                    f"({reported['controlPlaneSeconds']} s + {reported['longestSeconds']} s))",
                    _ok(reported["ratio"] <= s["targetRatio"]),
                ]
            )
    if "scaling" in results:
        f = results["scaling"]["fidelity"]
        p99 = f["gapErrorMs"]["sink"]["p99"]
        rows.append(
            [
                f"gap error p99 ({f['gaps']} gaps)",
                f"≤ {f['targetP99Ms']:g} ms",
                f"{p99} ms",
                _ok(abs(p99) <= f["targetP99Ms"]),
            ]
        )
    if "scaling" in results:
        offset = results["scaling"]["fidelity"]["sinkMinusStatusMs"]
        rows.append(
            [
                "suite's measurement error (sink minus status), max",
                f"< {EPSILON_MS:g} ms (the epsilon it forgives)",
                f"{offset['max']} ms (p99 {offset['p99']} ms)",
                _ok(offset["max"] < EPSILON_MS),
            ]
        )
    if "throughput" in results and "succeed" in results["throughput"]:
        succeed = results["throughput"]["succeed"]["reference"]
        rate, created = succeed["deliveriesPerSecond"], succeed["createSeconds"]
        bounded = created >= CREATE_BOUND * succeed["secondsUntilAllTerminal"]
        rows.append(
            [
                f"deliveries per second, {succeed['notifications']} notifications x 3 channels, "
                "created while the controller runs",
                f"≥ {THROUGHPUT_TARGET:g}",
                f"{rate}" + (f" (bounded by the benchmark's own creations: {created} s)" if bounded else ""),
                _ok(rate >= THROUGHPUT_TARGET),
            ]
        )
        per = succeed["api"]["controllerRequestsPerNotification"]
        rows.append(["API requests per notification", "≤ 2", f"{per}", _ok(per <= API_TARGET)])
    if "throughput" in results and "backlog" in results["throughput"]:
        backlog = results["throughput"]["backlog"]["reference"]
        rate = backlog["deliveriesPerSecond"]
        rows.append(
            [
                f"deliveries per second, a backlog of {backlog['notifications']} x 3 channels, from the "
                "controller's start",
                f"≥ {THROUGHPUT_TARGET:g}",
                f"{rate} ({saturation(backlog, results['machine']['cpus'])})",
                _ok(rate >= THROUGHPUT_TARGET),
            ]
        )
    if "throughput" in results:
        fail = results["throughput"]["fail"]["reference"]
        n = fail["notifications"]
        exact = fail["attempts"]["exactAtSink"] == n and all(
            v == n for v in fail["attempts"]["exactInStatus"].values()
        )
        rows.append(
            [
                "attempts exactly as specified (always-failing channel)",
                f"{n} of {n} notifications",
                f"{fail['attempts']['exactAtSink']} at the sink, "
                f"{min(fail['attempts']['exactInStatus'].values())} in status",
                _ok(exact),
            ]
        )
        for name in ("fail", "fail-light"):
            if name not in results["throughput"]:
                continue
            storm = results["throughput"][name]["reference"]["storm"]
            rows.append(
                [
                    f"no retry storm, {results['throughput'][name]['reference']['notifications']} failing "
                    "(gaps below the lower bound in status; on the sink's clock)",
                    "0",
                    f"{storm['earlyGapsInStatus']}; {storm['earlyGaps']}",
                    _ok(storm["earlyGapsInStatus"] == 0),
                ]
            )
    if "controlPlane" in results:
        c = results["controlPlane"]
        rows.append(
            [
                f"control-plane start-up, max of {c['startupSeconds']['count']}",
                f"< {c['targetSeconds']:g} s",
                f"{c['startupSeconds']['max']} s",
                _ok(c["startupSeconds"]["max"] < c["targetSeconds"]),
            ]
        )
    if "projectTests" in results:
        t = results["projectTests"]
        rows.append(
            [
                f"`make test`'s pytest, {t.get('tests')} tests on {t['workers']} workers, from start to exit",
                f"≤ {t['targetSeconds']:g} s",
                f"{t['wallSeconds']} s ({_outcome(t)})",
                _ok(t["returncode"] == 0 and t["wallSeconds"] <= t["targetSeconds"]),
            ]
        )
    return _table(["target", "wanted", "measured", ""], rows)


def _outcome(t: dict[str, Any]) -> str:
    if "tests" not in t:
        return f"no JUnit report; exit status {t['returncode']}"
    failed = t["failures"] + t["errors"]
    return f"{t['tests'] - failed - t['skipped']} passed, {failed} failed, {t['skipped']} skipped"


def project_tests_section(t: dict[str, Any]) -> list[str]:
    lines = [
        "## 5. The project's own tests",
        "",
        f"`{t['command']}` (what `make test` runs after lint and type checks): {t['wallSeconds']} s from "
        f"start to exit, {t.get('pytestSeconds')} s by pytest's own clock; {_outcome(t)}.",
        "",
    ]
    if t["tail"]:
        lines += ["Its last line: `" + t["tail"][0] + "`", ""]
    if t.get("failed"):
        lines += ["Failed: " + ", ".join(f"`{name}`" for name in t["failed"]) + ".", ""]
        for name, why in t.get("why", {}).items():
            lines += [f"- `{name}`:", *[f"  - {line}" for line in why], ""]
    return lines


def suite_profile_lines(profile: dict[str, Any] | None) -> list[str]:
    """The threads' wall time by what they were doing, from the py-spy run of the suite."""
    if not profile:
        return []
    if profile.get("error"):
        return [f"No profile of the suite: {profile['error']}.", ""]
    totals = profile["totals"]
    groups = [f"{group} ({totals[group]:g} thread-seconds)" for group in profile["threadSeconds"]]
    lines = [
        f"Profile: the same suite run once more under `py-spy record --subprocesses --idle` at "
        f"{profile['rate']} Hz (a separate, untimed run; exit status {profile['returncode']}). Every sample "
        "of the threads of the process that runs pytest, by the functions on its stack: its main thread "
        "sets the run up, collects, runs the test items (which wait for their scenarios' outcomes) and "
        "ends the run; each scenario runs in a scenario thread of its own"
        + ("; with -n, the test items run in the xdist workers' test threads" if WORKERS in totals else "")
        + ". Helper threads (watches, observers, the control server), the controller and the sink are "
        f"left out. In all: {', '.join(groups)}.",
        "",
    ]
    for group, seconds in profile["threadSeconds"].items():
        total = totals[group]
        rows = [[name, value, f"{value / total:.0%}" if total else "-"] for name, value in seconds.items()]
        lines += _table([group, "thread-seconds", "share"], rows)
    calls = [f"`{path}` ({seconds:g} thread-seconds)" for path, seconds in profile.get("setUpCalls") or []]
    if calls:
        lines += ["The scenarios' set-up and verdict went mostly into: " + "; ".join(calls) + ".", ""]
    return lines


def _seconds(summary: dict[str, Any] | None) -> str:
    return f"p50 {summary['p50']} s, max {summary['max']} s" if summary else "not recorded"


def _design(s: dict[str, Any]) -> str:
    """How this run was organised, in the terms of its own numbers."""
    disruptive = [x["name"] for x in s["scenarios"] if x["disruptive"]]
    ready = s.get("controllerReadySeconds")
    text = (
        "The process that runs pytest sets the run up (control plane, CRDs, recording sink, controller), "
        "waits until the controller has delivered one notification of its own"
        + (f" ({ready} s here)" if ready is not None else " (none came here; the scenarios started anyway)")
        + ", then starts every selected scenario at once, each in a thread of its own: the longest first, "
        f"the disruptive ones last, at most {s['setUpsAtOnce']} setting up at a time. "
    )
    text += (
        "The test items ran in the main process and only waited for their scenarios' outcomes. "
        if s["workers"] == 0
        else f"The test items ran in {s['workers']} xdist workers, which asked the main process for "
        "the outcomes. "
    )
    if disruptive and s["scoped"]:
        which = (
            "the disruptive scenario"
            if len(disruptive) == 1
            else f"each of the {len(disruptive)} disruptive scenarios"
        )
        text += (
            f"The controller command takes `{{namespace}}`, so {which} got a controller instance of its "
            "own, scoped to its namespace, and overlapped the others. "
        )
    alone = [x["name"] for x in s["scenarios"] if x["alone"]]
    if alone:
        text += (
            f"{len(alone)} scenarios held the run's exclusive lease ({s['floor']['aloneSeconds']:g} s of "
            "floors that could overlap nothing): " + ", ".join(f"`{name}`" for name in alone) + ". "
        )
    else:
        text += "No scenario had to run alone."
    return text.rstrip()


def _beyond(s: dict[str, Any]) -> str:
    """Why the scenario phase lasted longer than the longest scenario's floor: the last one to end."""
    last = s.get("lastScenario")
    floor = s["floor"]
    longest = floor["longestSchedule"] + floor["longestQuiet"]
    text = (
        f"the scenario phase lasted {s['phases'][SCENARIOS]:g} s against the {longest:g} s floor of the "
        f"longest scenario, `{floor['longestScenario']}`"
    )
    if not last:
        return text + "."
    text += (
        f". The last to end was `{last['name']}` (floor {last['floor']} s): it started "
        f"{last['start']:g} s after the first"
    )
    if last["setUpWait"] is not None:
        text += (
            f", waited {last['setUpWait']:g} s for one of the {s['setUpsAtOnce']} set-up turns and "
            f"set up in {last['setUp']:g} s"
        )
    if last["own"] is not None:
        after = last["end"] - last["start"] - (last["setUpWait"] or 0.0) - last["own"]
        text += f"; its own time was {last['own']:g} s, and its run ended {after:.2f} s after that (clean-up"
        disruptive = {x["name"] for x in s["scenarios"] if x["disruptive"]}
        own_instance = last["name"] in disruptive and s["scoped"]
        text += ", stopping its own controller instance)" if own_instance else ")"
    return text + "."


def _gap_lines(s: dict[str, Any]) -> list[str]:
    """What the run spent beyond its floor, largest first, each part said in words."""
    collection = "collecting the test items" + (
        f" and starting {s['workers']} xdist workers" if s["workers"] else ""
    )
    meaning = {
        STARTUP: "the interpreter, pytest and its plugins, before the session starts",
        ENVIRONMENT: "the rest of the session's start: loading the scenarios and the binding, installing "
        "the CRDs, starting the recording sink and launching the shared controller",
        READINESS: "no scenario starts before the controller delivered one notification of its own "
        "(`conformance/environment/readiness.py`), so that none judges its first attempt against the "
        "controller's start-up; this is that start-up, on the critical path",
        COLLECTION: f"{collection}; the scenarios start when collection finishes",
        BEYOND: _beyond(s),
        OUTCOMES: "from the last scenario's end to the session's end: the last test items get the "
        "outcomes they waited for, and pytest reports them",
        STOP: "writing the reports, then stopping the controller, the sink, kube-apiserver and etcd, one "
        "after another, each with SIGTERM and a grace period",
        EXIT: "after pytest's last hook: the interpreter's shut-down",
    }
    difference = s["wallSeconds"] - s["floor"]["seconds"]
    lines = [
        f"The run took {difference:.1f} s more than its floor. Where they went, largest first (every "
        "phase above but the control plane's start-up, and the scenario phase only for what it took "
        "beyond the longest scenario's floor; together they make up the difference):",
        "",
    ]
    for name, seconds in s["gap"]:
        share = f", {seconds / difference:.0%}" if difference > 0 else ""
        lines.append(f"- {name}: {seconds:g} s{share}: {meaning.get(name, '')}".rstrip(": "))
    return [*lines, ""]


def suite_section(s: dict[str, Any], profile: dict[str, Any] | None, figures: dict[str, str]) -> list[str]:
    floor = s["floor"]
    lines = [
        "## 1. Suite speed",
        "",
        f"`{s['command']}` against the reference controller on a fresh local control plane, exactly as "
        f"`make conformance` runs it: **{s['wallSeconds']} s** wall time from spawning pytest to its exit "
        f"({s['statistics']['passed']} passed, {s['statistics']['failed']} failed, "
        f"{s['statistics']['skipped']} skipped; result {s['result']}), using {s['cpuSeconds']} CPU-seconds.",
        "",
        _design(s),
        "",
        f"**Floor: {floor['seconds']} s** = control-plane start-up measured in this run "
        f"({floor['startup']} s) + the longest scenario, `{floor['longestScenario']}`: its backoff schedule "
        f"({floor['longestSchedule']:g} s, every gap at its nominal value, derived by the suite's oracle "
        "from the scenario file) and the quiet window the suite must then watch "
        f"({floor['longestQuiet']:g} s). "
        f"**Ratio {s['ratio']}** (wall time from spawn over this floor; target ≤ {s['targetRatio']}).",
        "",
    ]
    reported = s.get("reportRatio")
    if reported:
        lines += [
            "The run's own summary line reads the same idea from its report: its duration "
            f"({reported['durationSeconds']} s, from pytest's configuration to the report at the session's "
            f"end) over the control "
            f"plane's start-up ({reported['controlPlaneSeconds']} s) plus the longest scenario as measured "
            f"(`{reported['longestScenario']}`, {reported['longestSeconds']} s): "
            f"**{reported['ratio']}** times its floor of {reported['floorSeconds']} s.",
            "",
        ]
    lines += [
        "Where the time goes (from a pytest plugin that timestamps each phase, test and scenario, "
        "`bench/timeline_plugin.py`; the session start's parts from the report):",
        "",
    ]
    lines += _table(["phase", "seconds"], [[name, value] for name, value in s["phases"].items()])
    lines += _figure(figures, "suite-timeline", "scenarios over time, packed into lanes")
    lines += suite_profile_lines(profile)
    measured = [x for x in s["scenarios"] if x["measuredSeconds"] is not None]
    worst = max(measured, key=lambda x: x["measuredSeconds"] - x["floorSeconds"], default=None)
    text = (
        f"The {len(s['scenarios'])} scenarios ran concurrently, at most {s['inFlightPeak']} in flight at "
        f"once (the figure's lanes). Waiting for a set-up turn: {_seconds(s['setUpWaitSeconds'])}; "
        f"set-up: {_seconds(s['setUpSeconds'])}; a scenario's run beyond its own time (the wait for a "
        "turn, a disruptive scenario's own controller instance, clean-up): "
        f"{_seconds(s['beyondOwnSeconds'])}."
    )
    if worst is not None:
        text += (
            f" A scenario's own time exceeded its floor by at most "
            f"{worst['measuredSeconds'] - worst['floorSeconds']:.2f} s (`{worst['name']}`; table below)."
        )
    lines += [text, ""]
    lines += _gap_lines(s)
    alone = any(x["alone"] for x in s["scenarios"])
    lines += _table(
        ["scenario", "floor (s)", "measured (s)", "disruptive", *(["runs alone"] if alone else [])],
        [
            [
                x["name"],
                x["floorSeconds"],
                x["measuredSeconds"],
                "yes" if x["disruptive"] else "",
                *(["yes" if x["alone"] else ""] if alone else []),
            ]
            for x in s["scenarios"]
        ],
    )
    return lines


def scaling_section(scale: dict[str, Any], figures: dict[str, str]) -> list[str]:
    lines = [
        "### 1b. Scenarios in flight",
        "",
        f"N copies of `{scale['scenario']}` (console, a healthy webhook, and a webhook that fails twice "
        f"and is retried after 1 s and 2 s) started at the same moment through the suite's own "
        "`ScenarioRunner`, each in its own namespace with its own watch, sink paths and verdict, as threads "
        "of one process against one reference controller. Wall time runs from the start until the last "
        f"verdict; the scenario's own floor is {scale['scenarioFloorSeconds']:g} s "
        f"({scale['scenarioScheduleSeconds']:g} s schedule + quiet window).",
        "",
    ]
    rows = []
    for level in scale["levels"]:
        sink = level["gapErrorMs"]["sink"] or {}
        rows.append(
            [
                level["inFlight"],
                level["wallSeconds"],
                level["ratioToScenarioFloor"],
                f"{level['passed']}/{level['inFlight']}",
                level["scenarioSeconds"]["p50"],
                level["scenarioSeconds"]["max"],
                sink.get("p99", "-"),
            ]
        )
    lines += _table(
        [
            "in flight",
            "wall (s)",
            "wall / floor",
            "passed",
            "scenario p50 (s)",
            "scenario max (s)",
            "gap error p99 (ms)",
        ],
        rows,
    )
    lines += _figure(figures, "scaling", "wall time against scenarios in flight")
    lines += ["CPU-seconds each process used during each level:", ""]
    names = sorted({name for level in scale["levels"] for name in level["cpuSeconds"]})
    lines += _table(
        ["in flight", "wall (s)", *names],
        [
            [lv["inFlight"], lv["wallSeconds"], *(lv["cpuSeconds"].get(n, "-") for n in names)]
            for lv in scale["levels"]
        ],
    )
    widest = scale["levels"][-1]
    lines += profile_lines(widest.get("controllerProfile"), f"at {widest['inFlight']} in flight")
    for level in scale["levels"]:
        if level["violations"]:
            lines += [
                f"Violations at {level['inFlight']} in flight ({level['violationCount']}; the first ten):",
                "",
            ]
            lines += [*(f"- {v}" for v in level["violations"]), ""]
    return lines


def fidelity_miss(scale: dict[str, Any], machine: dict[str, Any]) -> list[str]:
    """Where the late retries come from, when the target is missed, and what would close the gap."""
    target = scale["fidelity"]["targetP99Ms"]
    missed = [
        lv for lv in scale["levels"] if lv["gapErrorMs"]["sink"] and lv["gapErrorMs"]["sink"]["p99"] > target
    ]
    if not missed:
        return []
    worst = missed[-1]
    cpu = worst["cpuSeconds"]
    share = sum(cpu.values()) / (worst["wallSeconds"] * machine["cpus"])
    text = (
        f"The target is missed at {', '.join(str(lv['inFlight']) for lv in missed)} in flight. The status "
        "clock shows the same lateness as the sink, so the retries really are late "
        f"({scale['fidelity']['earlyInStatus']} gaps early in status). At "
        f"{worst['inFlight']} in flight the experiment's processes used {sum(cpu.values()):.1f} "
        "CPU-seconds in "
        f"{worst['wallSeconds']} s ({_cpu(cpu)}), {share:.0%} of the two cores. "
    )
    if share > 0.6:
        text += (
            "The controller and the API server cannot keep up: each retry round of the reference costs a "
            "status PUT (its reads come from the informer's cache, section 3), and the API server spends "
            "more CPU on it and on the watches than the controller. "
        )
    else:
        text += (
            "That is not enough to explain the lateness by their own demand: every step of a retry (the "
            "queue's timer, a worker, a delivery thread, the PUT) must also win a core from the "
            f"other users' processes ({machine['othersBusyFraction']:.0%} of the machine during this run). "
        )
    text += (
        "What would close the gap: first a machine not shared with other test runs (a re-run on one "
        "tells how much is left); then fewer API requests per round (a status patch of the new attempts "
        "only, Events only on terminal phases)."
    )
    return [text, ""]


def fidelity_section(scale: dict[str, Any], machine: dict[str, Any], figures: dict[str, str]) -> list[str]:
    f = scale["fidelity"]
    sink, status, offset = f["gapErrorMs"]["sink"], f["gapErrorMs"]["status"], f["sinkMinusStatusMs"]
    lines = [
        "## 2. Timing fidelity",
        "",
        f"Observed gap minus nominal gap, over the {f['gaps']} retry gaps of section 1b (all load levels), "
        "in milliseconds. *Sink* is what the suite judges by: the time the recording sink received each "
        "request. *Status* uses the attempt timestamps the controller recorded (microseconds).",
        "",
    ]
    lines += _table(
        ["clock", "gaps", "p50", "p90", "p99", "max", "min"],
        [
            ["sink", sink["count"], sink["p50"], sink["p90"], sink["p99"], sink["max"], sink["min"]],
            [
                "status",
                status["count"],
                status["p50"],
                status["p90"],
                status["p99"],
                status["max"],
                status["min"],
            ],
        ],
    )
    lines += [
        f"Target: p99 ≤ {f['targetP99Ms']:g} ms: {_ok(abs(sink['p99']) <= f['targetP99Ms'])}. "
        "A positive error is a late retry (the controller's queue and the API server under load); "
        "an early one would be a contract violation. Per load level:",
        "",
        *(
            f"- {lv['inFlight']} in flight: p50 {lv['gapErrorMs']['sink']['p50']} ms, "
            f"p99 {lv['gapErrorMs']['sink']['p99']} ms, max {lv['gapErrorMs']['sink']['max']} ms"
            for lv in scale["levels"]
            if lv["gapErrorMs"]["sink"]
        ),
        "",
        *fidelity_miss(scale, machine),
        f"Gaps early on the sink's clock but not in status (the suite's measurement error, not the "
        f"controller): {f['earlyOnlyOnTheSinkClock']}; gaps early in the controller's own status: "
        f"{f['earlyInStatus']}.",
        "",
        f"The suite's own measurement error, sink receive time minus the attempt time in status, over "
        f"{offset['count']} webhook attempts: p50 {offset['p50']} ms, p99 {offset['p99']} ms, max "
        f"{offset['max']} ms (min {offset['min']} ms). The reference dates an attempt once its request was "
        "written to the socket, and the sink stamps each request with the kernel's receive time of its "
        "first bytes (SO_TIMESTAMPNS, so a handler thread waiting for a core does not count): the "
        "difference is at most zero, and as negative as the controller's delay between writing and "
        "stamping; a gap on the sink's clock is never shorter than the one in status. The suite forgives "
        "50 ms below a gap's lower bound (`--nc-epsilon`), and compares status with outside observations "
        "within 250 ms.",
        "",
    ]
    if offset["max"] >= EPSILON_MS or f["earlyOnlyOnTheSinkClock"]:
        lines += [
            f"The error reached {offset['max']} ms, against the {EPSILON_MS:g} ms the suite forgives: "
            "when the "
            "sink stamps an attempt late, the next gap looks short by as much, and a correct controller can "
            f"fail NR-BACKOFF-LOWER on the sink's clock ({f['earlyOnlyOnTheSinkClock']} such gaps here; the "
            "violations listed in section 1b show whether one became a failed scenario). With the kernel's "
            "receive time on the sink's side, what is left is the controller's own delay between stamping "
            "and sending when it is short of CPU, which the status clock cannot see either; an epsilon "
            "set from this measurement would absorb it.",
            "",
        ]
    lines += _figure(figures, "gap-errors", "distribution of gap errors")
    return lines


def _early(storm: dict[str, Any]) -> str:
    return f"{storm['earlyGaps']} / {storm['earlyGapsInStatus']} of {storm['gaps']}"


def _phases(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {phase}" for phase, count in sorted(counts.items()))


def _row(label: str, reference: Any, seed: Any, ratio: Any = "") -> list[Any]:
    return [label, reference, seed, ratio]


def throughput_section(t: dict[str, Any], figures: dict[str, str]) -> list[str]:
    lines = [
        "## 3. Controller throughput and API efficiency",
        "",
        "Each workload runs once with the reference controller and once with the seed's design (status "
        "written once per channel, no time guard: `per-channel-writes` in "
        "`tests/broken_controllers/defects.py`), one after the other on the same control plane, each with "
        "a fresh controller process launched with the suite's default command. Channels: console, a file "
        "channel and a webhook to the recording sink. API requests are the kube-apiserver's own "
        "`apiserver_request_total` counters read before and after (creations by the benchmark excluded); "
        "attempts are counted at the sink and in each object's status; peak memory is the controller's "
        "VmHWM.",
        "",
    ]
    titles = {
        "succeed": "all channels succeed",
        "backlog": "all channels succeed, created while the controller was stopped (timed from its start)",
        "fail": "the webhook always answers 503, maxAttempts 4, backoff 1 s doubling, capped at 2 s",
    }
    titles["fail-light"] = titles["fail"]
    for name, title in titles.items():
        if name not in t:
            continue
        ref, seed, ratios = t[name]["reference"], t[name]["seed"], t[name]["seedOverReference"]
        lines += [f"### {ref['notifications']} notifications: {title}", ""]
        rows = [
            _row(
                "seconds until all terminal",
                ref["secondsUntilAllTerminal"],
                seed["secondsUntilAllTerminal"],
                ratios["time"],
            ),
            _row("deliveries per second", ref["deliveriesPerSecond"], seed["deliveriesPerSecond"]),
            _row(
                "status writes per notification",
                ref["api"]["statusWritesPerNotification"],
                seed["api"]["statusWritesPerNotification"],
                ratios["statusWrites"],
            ),
            _row(
                "API requests per notification",
                ref["api"]["controllerRequestsPerNotification"],
                seed["api"]["controllerRequestsPerNotification"],
                ratios["controllerRequests"],
            ),
            _row(
                "reads (GET) per notification",
                ref["api"]["readsPerNotification"],
                seed["api"]["readsPerNotification"],
            ),
            _row("status conflicts (409)", ref["api"]["statusConflicts"], seed["api"]["statusConflicts"]),
            _row(
                "writes seen by a watch, per notification",
                ref["api"]["watchedWritesPerNotification"],
                seed["api"]["watchedWritesPerNotification"],
            ),
            _row(
                "webhook attempts at the sink",
                ref["attempts"]["sinkTotal"],
                seed["attempts"]["sinkTotal"],
                ratios["webhookAttempts"],
            ),
            _row(
                "notifications with exactly the expected attempts (sink)",
                ref["attempts"]["exactAtSink"],
                seed["attempts"]["exactAtSink"],
            ),
            _row(
                "... in status (console, file, webhook)",
                " / ".join(str(v) for v in ref["attempts"]["exactInStatus"].values()),
                " / ".join(str(v) for v in seed["attempts"]["exactInStatus"].values()),
            ),
            _row(
                "retry gaps below the lower bound: sink clock / status",
                _early(ref["storm"]),
                _early(seed["storm"]),
            ),
            _row(
                "peak webhook requests in one second",
                ref["storm"]["peakWebhookRequestsPerSecond"],
                seed["storm"]["peakWebhookRequestsPerSecond"],
                ratios["peakWebhookRequestsPerSecond"],
            ),
            _row("final phases", _phases(ref["phases"]), _phases(seed["phases"])),
            _row(
                "controller peak memory (MiB)",
                ref["controllerPeakMemoryMiB"],
                seed["controllerPeakMemoryMiB"],
            ),
        ]
        if ref["storm"]["gapErrorMs"]:
            rows.append(
                _row(
                    "retry gap error p50 / p99 (ms)",
                    f"{ref['storm']['gapErrorMs']['p50']} / {ref['storm']['gapErrorMs']['p99']}",
                    f"{seed['storm']['gapErrorMs']['p50']} / {seed['storm']['gapErrorMs']['p99']}",
                )
            )
        lines += _table(["", "reference", "seed's design", "seed / reference"], rows)
        kinds = sorted(set(ref["api"]["byKind"]) | set(seed["api"]["byKind"]))
        lines += ["API server counters (verb, resource, code):", ""]
        lines += _table(
            ["request", "reference", "seed's design"],
            [[k, ref["api"]["byKind"].get(k, 0), seed["api"]["byKind"].get(k, 0)] for k in kinds],
        )
    lines += _figure(figures, "api-efficiency", "reference against the seed's design")
    lines += _figure(figures, "retry-times", "when retries came, reference against the seed's design")
    for name in ("fail", "fail-light"):
        if name in t:
            lines += failing_reading(t[name])
    for name in ("succeed", "backlog"):
        if name in t:
            lines += cpu_reading(t[name], name)
    return lines


def saturation(run: dict[str, Any], cpus: int) -> str:
    """How much of the machine the run's processes used while it ran: near all of it, and the rate
    is what these cores allow the controller and the API server together."""
    seconds = run["secondsUntilAllTerminal"]
    used = sum(run["cpuSeconds"].values())
    busy = used / (cpus * seconds)
    return f"{busy:.0%} of {cpus} cores busy: {_cpu(run['cpuSeconds'])} CPU-s in {seconds:g} s"


def failing_reading(fail: dict[str, Any]) -> list[str]:
    """What the failing workload shows, in words drawn from its numbers."""
    ref, seed = fail["reference"], fail["seed"]
    n = ref["notifications"]
    text = (
        f"Reading the failing workload with {n} notifications: the reference made exactly "
        f"{ref['attempts']['expectedPerNotification']['hook']} webhook attempts "
        f"for {ref['attempts']['exactAtSink']} of {n} notifications, "
        f"with {ref['storm']['earlyGapsInStatus']} of {ref['storm']['gaps']} retry gaps below their lower "
        f"bound in its status ({ref['storm']['earlyGaps']} on the sink's clock, whose error is discussed in "
        "section 2). "
        f"The seed's design made exactly maxAttempts attempts for {seed['attempts']['exactAtSink']} of "
        f"{seed['notifications']}, so its bug is not the count but the timing: "
        f"{seed['storm']['earlyGaps']} of its {seed['storm']['gaps']} retry gaps came before their lower "
        f"bound (gap error p50 {seed['storm']['gapErrorMs']['p50']} ms)."
    )
    if seed["storm"]["earlyGaps"] < seed["storm"]["gaps"] / 2:
        text += (
            " That so few of its gaps were early shows the controller saturated: each immediate retry waited "
            "behind the other notifications' work for longer than its backoff, so the queue, not a timer, "
            "spaced its attempts."
        )
    text += (
        f" The reference wrote status {ref['api']['statusWritesPerNotification']:g} times per notification, "
        f"once per round, against {seed['api']['statusWritesPerNotification']:g}; it read "
        f"{ref['api']['readsPerNotification']:g} times against {seed['api']['readsPerNotification']:g}, "
        "because each of its own writes wakes it once more "
        "and the time guard turns that wake-up into a requeue."
    )
    return [text, ""]


def _cpu(seconds: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:g}" for name, value in sorted(seconds.items(), key=lambda kv: -kv[1]))


def profile_lines(profile: dict[str, Any] | None, where: str) -> list[str]:
    if not profile:
        return []
    if profile.get("error"):
        return [f"No profile of the controller {where}: {profile['error']}.", ""]

    def shares(rows: list[list[Any]], count: int = 6) -> str:
        return ", ".join(f"{name} {share:.0%}" for name, share in rows[:count])

    return [
        f"Profile of the controller {where} (py-spy at 50 Hz, {profile['samples']} non-idle samples, "
        f"{profile['busyThreadsAverage']} threads busy on average): self time by library: "
        f"{shares(profile['selfByLibrary'])}; by function, inclusive: "
        f"{shares(profile['inclusiveByFunction'])}.",
        "",
    ]


def cpu_reading(succeed: dict[str, Any], name: str) -> list[str]:
    ref, seed = succeed["reference"], succeed["seed"]
    lines = [
        f"Where the time goes in the `{name}` workload: CPU-seconds used while the notifications were "
        f"worked on ({ref['secondsUntilAllTerminal']} s for the reference): {_cpu(ref['cpuSeconds'])}; "
        f"for the seed's design ({seed['secondsUntilAllTerminal']} s): {_cpu(seed['cpuSeconds'])}. "
        "The machine has "
        "two cores, shared with the benchmark's own process (sink, watch) and with other users (see the "
        "load line at the top).",
        "",
    ]
    return lines + profile_lines(ref.get("controllerProfile"), f"during the reference's `{name}` run")


def controlplane_section(c: dict[str, Any]) -> list[str]:
    s, build = c["startupSeconds"], c["coldBuild"]
    lines = [
        "## 4. Control plane",
        "",
        f"Start-up with cached binaries ({c['binariesOrigin']}: `{c['binaries']}`), from "
        "`LocalControlPlane.start()` to `/readyz` and the `default` namespace: "
        f"{s['count']} starts ({c['freshStarts']} on their own, the others the suite's and the "
        "benchmark's own), "
        f"mean {s['mean']} s, p50 {s['p50']} s, max {s['max']} s; "
        f"target < {c['targetSeconds']:g} s: {_ok(s['max'] < c['targetSeconds'])}. "
        f"Samples: {', '.join(str(x) for x in c['startupSamples'])} s."
        + (
            " Stopping it (SIGTERM, kube-apiserver's graceful shutdown, then etcd): "
            f"p50 {c['stopSeconds']['p50']} s, "
            f"max {c['stopSeconds']['max']} s."
            if c.get("stopSeconds")
            else ""
        ),
        "",
        f"Cold build of kube-apiserver and etcd from Go modules: **{build['seconds']} s** ({build['how']}). "
        "`make bench` does not rebuild; the assets module now writes `build.json` beside the binaries after "
        "every build, and this section reports it when present.",
        "",
    ]
    if "suiteMemory" in c:
        lines += [
            "Memory during the conformance suite (RSS sampled every 0.5 s from `/proc/<pid>/status`):",
            "",
        ]
        lines += _table(
            ["process", "peak RSS (MiB)", "mean RSS (MiB)", "VmHWM (MiB)", "samples"],
            [
                [name, m["rssPeakMiB"], m["rssMeanMiB"], m["hwmMiB"], m["samples"]]
                for name, m in c["suiteMemory"].items()
            ],
        )
    return lines


def render(results: dict[str, Any], figures: dict[str, str]) -> str:
    scale = results["scale"]
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {results['date']} in {results['benchSeconds']} s "
        f"(Python {results['python']}); the numbers below are in `results.json` beside this file.",
        "",
        machine_line(results),
        "",
        f"Scale: suite arguments {scale['suiteArgs'] or 'none (the full run)'}; "
        f"{', '.join(map(str, scale['inFlight']))} scenarios in flight; {scale['succeed']} succeeding and "
        f"{scale['fail']} and {scale['failLight']} failing notifications; "
        f"{scale['startups']} extra control-plane starts.",
        "",
    ]
    lines += summary(results)
    if "suite" in results:
        lines += suite_section(results["suite"], results.get("suiteProfile"), figures)
    if "scaling" in results:
        lines += scaling_section(results["scaling"], figures)
        lines += fidelity_section(results["scaling"], results["machine"], figures)
    if "throughput" in results:
        lines += throughput_section(results["throughput"], figures)
    if "controlPlane" in results:
        lines += controlplane_section(results["controlPlane"])
    if "projectTests" in results:
        lines += project_tests_section(results["projectTests"])
    lines += [
        "## Reproduce",
        "",
        "```sh",
        "make bench                      # everything, about 4-5 minutes on 2 cores",
        "make bench BENCH_SCALE=small    # a quick pass while developing",
        ".venv/bin/python -m bench --parts throughput --out /tmp/bench   # one part, elsewhere",
        "```",
        "",
    ]
    return "\n".join(lines)
