"""Where the suite's threads spend their wall time: the conformance suite run once more under
``py-spy record --subprocesses --idle`` (not the timed run), every sample of the threads of
the process that runs pytest put into one category by the functions on its stack.

That process sets the run up, then runs every scenario in a thread of its own
(``ScenarioPool._run``); its main thread runs the test items, which wait for their scenarios'
outcomes (``ScenarioPool.outcome``). With pytest-xdist workers, the test items run in the
workers instead and ask the main process for the outcomes (``ControlClient.outcome``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.profiler import py_spy
from bench.suite_speed import suite_arguments

REPO = Path(__file__).resolve().parent.parent
RATE = 20
WORKER = "exec(eval(sys.stdin.readline()))"
"""How pytest-xdist (execnet) starts a worker; its command line says so."""

Categories = tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]
"""(category, alternatives): a stack is in the category when all of an alternative's functions
are on it."""

MAIN, SCENARIOS, WORKERS = "main thread", "scenario threads", "xdist workers' test threads"
OTHER = "other"
SET_UP = "set-up and verdict (namespace, channels, object; checks)"

MAIN_CATEGORIES: Categories = (
    ("tests waiting for their scenario's outcome", (("ScenarioPool.outcome",),)),
    ("control plane start-up", (("LocalControlPlane.start",), ("KindCluster.start",))),
    ("waiting for the controller's first delivery", (("RunEnvironment._wait_ready",),)),
    ("CRDs, sink and controller start-up", (("RunEnvironment.start",),)),
    ("session start: binding, scenarios, certification checks", (("Session._start",),)),
    ("collection", (("Session.perform_collect",),)),
    ("stopping the controller, sink and control plane", (("RunEnvironment.stop",),)),
    ("report and the session's end", (("Session.pytest_sessionfinish",),)),
    ("xdist: handing tests to the workers", (("DSession.loop_once",),)),
    ("pytest: other test phases and reports", (("runtestprotocol",),)),
    ("imports", (("_find_and_load",),)),
    ("pytest's exit clean-up", (("gc_collect_harder",),)),
)
SCENARIO_CATEGORIES: Categories = (
    ("waiting for the run's exclusive lease", (("Leases.acquire",),)),
    ("own controller instance: start and stop", (("RunEnvironment.instance_for",),)),
    ("restarting the controller", (("RunEnvironment.restart",),)),
    ("quiet window after the terminal phase", (("StatusRecorder.hold",),)),
    (
        "waiting for the controller's schedule",
        (("StatusRecorder.wait_terminal",), ("StatusRecorder.wait_for_attempt",)),
    ),
    ("waiting for a set-up turn", (("ScenarioRunner._run", "Semaphore.acquire"),)),
    ("clean-up (objects, namespace, sink paths)", (("ScenarioRunner._clean_up",),)),
    (SET_UP, (("ScenarioRunner._run",),)),
)
WORKER_CATEGORIES: Categories = (
    ("tests waiting for their scenario's outcome", (("ControlClient.outcome",),)),
    ("test set-up (fixtures)", (("pytest_fixture_setup",),)),
    ("pytest: other test phases and reports", (("runtestprotocol",),)),
    ("idle, waiting for the next test", (("TestQueue.get",),)),
    ("imports", (("_find_and_load",),)),
    ("pytest's exit clean-up", (("gc_collect_harder",),)),
    ("waiting to be given work", (("WorkerPool.integrate_as_primary_thread",),)),
)
GROUPS = {MAIN: MAIN_CATEGORIES, SCENARIOS: SCENARIO_CATEGORIES, WORKERS: WORKER_CATEGORIES}


def categorise(frames: list[str], categories: Categories) -> str:
    """The first category (in priority order) one of whose alternatives is on the stack (names only)."""
    names = set(frames)
    for category, alternatives in categories:
        if any(all(function in names for function in alternative) for alternative in alternatives):
            return category
    return OTHER


def _frames(stack: str) -> list[str]:
    """Split a collapsed stack; a process frame's quoted command line may itself hold ';'."""
    frames: list[str] = []
    for part in stack.split(";"):
        if frames and frames[-1].startswith("process ") and frames[-1].count('"') % 2:
            frames[-1] += ";" + part
        else:
            frames.append(part)
    return frames


def thread_stacks(raw: str) -> list[tuple[str, list[str], int]]:
    """The stacks of the threads that matter (function names only), each with its group and
    count: the main process's main thread and its scenario threads, and each xdist worker's
    thread that runs tests. Helper threads (watches, observers, the control server), the
    controller and the sink are left out."""
    stacks = []
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = _frames(stack)
        processes = [f for f in frames if f.startswith("process ")]
        code = [frame.split(" (", 1)[0] for frame in frames[len(processes) :]]
        if not processes or not code:
            continue
        if len(processes) == 1:  # the process py-spy started: pytest's main process
            if "ScenarioPool._run" in code:
                stacks.append((SCENARIOS, code, int(count_text)))
            elif not code[0].startswith("Thread._bootstrap"):
                stacks.append((MAIN, code, int(count_text)))
        elif WORKER in processes[-1] and code[0].startswith("<module>"):  # not execnet's receiver
            stacks.append((WORKERS, code, int(count_text)))
    return stacks


def thread_seconds(raw: str, rate: int = RATE) -> dict[str, dict[str, float]]:
    """Thread-seconds per group and category, from collapsed ``--subprocesses`` stacks."""
    counts: dict[str, Counter[str]] = {}
    for group, code, count in thread_stacks(raw):
        counts.setdefault(group, Counter())[categorise(code, GROUPS[group])] += count
    return {
        group: {category: round(count / rate, 1) for category, count in counter.most_common()}
        for group, counter in sorted(counts.items(), key=lambda kv: list(GROUPS).index(kv[0]))
    }


def set_up_calls(raw: str, rate: int = RATE, top: int = 3) -> list[list[Any]]:
    """What the scenario threads' set-up and verdict spent their time in: the calls below
    ``ScenarioRunner._run``, in thread-seconds."""
    counts: Counter[str] = Counter()
    for group, code, count in thread_stacks(raw):
        if group == SCENARIOS and categorise(code, SCENARIO_CATEGORIES) == SET_UP:
            index = code.index("ScenarioRunner._run")
            counts[" → ".join(code[index + 1 : index + 5])] += count
    return [[path, round(count / rate, 1)] for path, count in counts.most_common(top) if path]


def measure(workers: int, extra: list[str]) -> dict[str, Any]:
    binary = py_spy()
    if binary is None:
        return {"error": "py-spy is not installed (pip install -e '.[bench]')"}
    with tempfile.TemporaryDirectory(prefix="nc-bench-profile-") as scratch:
        output = Path(scratch) / "suite.txt"
        command = [
            binary,
            "record",
            "--subprocesses",
            "--idle",
            "--nonblocking",
            "--rate",
            str(RATE),
            "--format",
            "raw",
            "--output",
            str(output),
            "--",
            sys.executable,
            "-m",
            "pytest",
            *suite_arguments(workers),
            "-p",
            "no:cacheprovider",
            f"--nc-report-dir={Path(scratch) / 'report'}",
            "-q",
            *extra,
        ]
        completed = subprocess.run(
            command, cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900
        )
        if not output.exists():
            return {"error": f"py-spy wrote no profile: {(completed.stderr or completed.stdout)[-300:]}"}
        raw = output.read_text()
        seconds = thread_seconds(raw)
        return {
            "command": " ".join(command[command.index("--") + 2 :]),
            "returncode": completed.returncode,
            "rate": RATE,
            "threadSeconds": seconds,
            "totals": {group: round(sum(values.values()), 1) for group, values in seconds.items()},
            "setUpCalls": set_up_calls(raw),
        }
