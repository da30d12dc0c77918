"""Renders ``results.md`` from the measured results: every number in it comes from ``results.json``."""

from __future__ import annotations

from typing import Any

from conformance.contract.tolerances import Tolerances

EPSILON_MS = Tolerances().epsilon * 1000


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
                "suite wall time / floor",
                f"≤ {s['targetRatio']}",
                f"{s['ratio']} ({s['wallSeconds']} s / {s['floor']['seconds']} s)",
                _ok(s["ratio"] <= s["targetRatio"]),
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
    return _table(["target", "wanted", "measured", ""], rows)


def suite_profile_lines(profile: dict[str, Any] | None) -> list[str]:
    """The workers' wall time by what they were doing, from the py-spy run of the suite."""
    if not profile:
        return []
    if profile.get("error"):
        return [f"No profile of the suite: {profile['error']}.", ""]
    total = profile["totalWorkerSeconds"]
    lines = [
        f"Profile: the same suite run once more under `py-spy record --subprocesses --idle` at "
        f"{profile['rate']} Hz (a separate, untimed run; exit status {profile['returncode']}). Every sample "
        f"of the thread that runs tests in each xdist worker, by the functions on its stack, "
        f"{total:g} worker-seconds in all:",
        "",
    ]
    rows = [
        [name, seconds, f"{seconds / total:.0%}" if total else "-"]
        for name, seconds in profile["workerSeconds"].items()
    ]
    lines += _table(["what the worker was doing", "worker-seconds", "share"], rows)
    if profile.get("fixtureSetUp"):
        lines += [
            "Test set-up went mostly into: "
            + "; ".join(
                f"`{path}` ({seconds:g} worker-seconds)" for path, seconds in profile["fixtureSetUp"] if path
            )
            + ".",
            "",
        ]
    return lines


def suite_section(
    s: dict[str, Any], profile: dict[str, Any] | None, scale: dict[str, Any] | None, figures: dict[str, str]
) -> list[str]:
    floor = s["floor"]
    lines = [
        "## 1. Suite speed",
        "",
        f"`{s['command']}` against the reference controller on a fresh local control plane, exactly as "
        f"`make conformance` runs it: **{s['wallSeconds']} s** wall time from spawning pytest to its exit "
        f"({s['statistics']['passed']} passed, {s['statistics']['failed']} failed, "
        f"{s['statistics']['skipped']} skipped; result {s['result']}), using {s['cpuSeconds']} CPU-seconds.",
        "",
        f"**Floor: {floor['seconds']} s** = control-plane start-up measured in this run "
        f"({floor['startup']} s) + the longest scenario, `{floor['longestScenario']}`: its backoff schedule "
        f"({floor['longestSchedule']:g} s, every gap at its nominal value, derived by the suite's oracle "
        "from the scenario file) and the quiet window the suite must then watch "
        f"({floor['longestQuiet']:g} s). "
        f"**Ratio {s['ratio']}** (target ≤ {s['targetRatio']}).",
        "",
        "Where the time goes (from a pytest plugin that timestamps each phase and test, "
        "`bench/timeline_plugin.py`):",
        "",
    ]
    lines += _table(["phase", "seconds"], [[name, value] for name, value in s["phases"].items()])
    lines += _figure(figures, "suite-timeline", "tests per xdist worker")
    lines += suite_profile_lines(profile)
    overhead = s["testOverheadSeconds"] or {}
    worst_excess = max(
        (
            x["measuredSeconds"] - x["floorSeconds"]
            for x in s["scenarios"]
            if x["measuredSeconds"] is not None
        ),
        default=0.0,
    )
    lines += [
        f"Each scenario took at most {worst_excess:.2f} s longer than its own floor (table below), so the "
        "controller keeps its schedule; the time goes into how scenarios are packed and into fixed costs. "
        "The workers were busy "
        f"{s['workerUtilisation']:.0%} of the scenario phase. A test takes longer than its scenario by "
        f"p50 {overhead.get('p50', '-')} s, max {overhead.get('max', '-')} s (grey in the figure): fixtures, "
        "reports, and the wait for the run's lease while a disruptive scenario is pending or running.",
        "",
    ]
    if floor["aloneSeconds"]:
        lines += [
            "Scenarios flagged disruptive run alone under the run's exclusive lease "
            f"({floor['aloneSeconds']:g} s of floors that cannot overlap anything), and before each one "
            "starts, the scenarios already running must drain.",
            "",
        ]
    lines += [
        f"The other scenarios' floors add up to {floor['sharedSumSeconds']:g} s, spread over the workers. "
        f"With this design the least possible wall time is **{floor['designFloorSeconds']} s** (start-up, "
        "then the disruptive scenarios one after another, the rest spread over the workers), "
        f"{floor['designFloorSeconds'] / floor['seconds']:.2f} times the floor before any fixed cost.",
        "",
        "What would close the gap, largest first:",
        "",
    ]
    if floor["aloneSeconds"]:
        lines.append(
            "- Give each disruptive scenario a controller of its own, restricted to its namespace "
            "(`--namespace`), so that restarting it disturbs nobody: no exclusive lease, no draining, and "
            f"the {floor['aloneSeconds']:g} s of serial scenarios overlap everything else."
        )
    first = s.get("firstTestSetUpSeconds")
    if first and first["p50"] > 1.0:
        cause = ""
        if profile and profile.get("fixtureSetUp"):
            cause = f" (the profile: `{profile['fixtureSetUp'][0][0]}`)"
        lines.append(
            f"- The first test on every worker waits p50 {first['p50']} s, max {first['max']} s before its "
            "scenario starts: session fixtures set up in all "
            f"{s['workers']} workers at once on two cores{cause}. "
            "That set-up is on the critical path of every worker; a lighter client for the runner (the "
            "kubernetes client builds a large API class on first use), or fewer worker processes, "
            "takes it off."
        )
    widest = scale["levels"][-1] if scale else None
    evidence = (
        f" (section 1b: {widest['inFlight']} scenarios in flight in one process against one controller "
        f"finished in {widest['wallSeconds']} s, {widest['ratioToScenarioFloor']} times one scenario's "
        "floor, "
        "on this machine)"
        if widest
        else ""
    )
    lines += [
        f"- More scenarios in flight than {s['workers']} workers: a scenario mostly waits (quiet window, "
        f"schedule){evidence}. Running scenarios as threads inside a few worker processes, or `-n` above the "
        "core count, brings the scenario phase down towards the longest scenario, as far as the controller "
        "keeps up.",
        "- The fixed costs in the phase table: starting and importing the xdist workers, and the stop "
        "sequence after the last test (the controller gets SIGTERM and a grace period; kube-apiserver and "
        "etcd shut down gracefully).",
        "",
    ]
    lines += _table(
        ["scenario", "floor (s)", "measured (s)", "runs alone"],
        [
            [x["name"], x["floorSeconds"], x["measuredSeconds"], "yes" if x["alone"] else ""]
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
    failing = "the webhook always answers 503, maxAttempts 4, backoff 1 s doubling, capped at 2 s"
    for name in ("succeed", "fail", "fail-light"):
        if name not in t:
            continue
        ref, seed, ratios = t[name]["reference"], t[name]["seed"], t[name]["seedOverReference"]
        title = failing if name.startswith("fail") else "all channels succeed"
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
    if "succeed" in t:
        lines += cpu_reading(t["succeed"], "succeed")
    return lines


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
        lines += suite_section(results["suite"], results.get("suiteProfile"), results.get("scaling"), figures)
    if "scaling" in results:
        lines += scaling_section(results["scaling"], figures)
        lines += fidelity_section(results["scaling"], results["machine"], figures)
    if "throughput" in results:
        lines += throughput_section(results["throughput"], figures)
    if "controlPlane" in results:
        lines += controlplane_section(results["controlPlane"])
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
