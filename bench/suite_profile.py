"""Where the suite's workers spend their wall time: the conformance suite run once more under
``py-spy record --subprocesses --idle`` (not the timed run), every sample of a worker's main
thread put into one category by the functions on its stack."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.profiler import py_spy

REPO = Path(__file__).resolve().parent.parent
RATE = 20
WORKER = "exec(eval(sys.stdin.readline()))"
"""How pytest-xdist (execnet) starts a worker; its command line says so."""

CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("quiet window after the terminal phase", ("StatusRecorder.hold",)),
    (
        "waiting for the controller's schedule",
        ("StatusRecorder.wait_terminal", "StatusRecorder.wait_for_attempt"),
    ),
    ("clean-up (objects, namespace, sink paths)", ("ScenarioRunner._clean_up",)),
    ("scenario set-up and verdict", ("ScenarioRunner.run",)),
    ("waiting for the run's lease", ("ControlClient.lease",)),
    ("test set-up (fixtures: API client, runner)", ("pytest_fixture_setup",)),
    ("pytest: other test phases and reports", ("runtestprotocol",)),
    ("idle, waiting for the next test", ("TestQueue.get",)),
    ("imports", ("_find_and_load",)),
    ("pytest's exit clean-up", ("gc_collect_harder",)),
    ("waiting to be given work", ("WorkerPool.integrate_as_primary_thread",)),
)
OTHER = "other"


def categorise(frames: list[str]) -> str:
    """The first category (in priority order) any of whose functions is on the stack (names only)."""
    names = set(frames)
    for category, functions in CATEGORIES:
        if any(function in names for function in functions):
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


def worker_stacks(raw: str) -> list[tuple[list[str], int]]:
    """The stacks of the thread that runs tests in each worker (function names only), with counts."""
    stacks = []
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = _frames(stack)
        processes = [f for f in frames if f.startswith("process ")]
        if not processes or WORKER not in processes[-1]:
            continue
        code = [frame.split(" (", 1)[0] for frame in frames[len(processes) :]]
        if code and code[0].startswith("<module>"):  # not execnet's receiver or a helper thread
            stacks.append((code, int(count_text)))
    return stacks


def fixture_set_up(raw: str, rate: int = RATE, top: int = 3) -> list[list[Any]]:
    """What fixture set-up spent its time in: the fixture and the calls below it, in worker-seconds."""
    counts: Counter[str] = Counter()
    for code, count in worker_stacks(raw):
        if "call_fixture_func" in code:
            index = code.index("call_fixture_func")
            counts[" → ".join(code[index + 1 : index + 5])] += count
    return [[path, round(count / rate, 1)] for path, count in counts.most_common(top)]


def worker_seconds(raw: str, rate: int = RATE) -> dict[str, float]:
    """Seconds of the workers' main threads per category, from collapsed ``--subprocesses`` stacks."""
    counts: Counter[str] = Counter()
    for code, count in worker_stacks(raw):
        counts[categorise(code)] += count
    return {category: round(count / rate, 1) for category, count in counts.most_common()}


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
            "conformance/suite",
            "-n",
            str(workers),
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
        seconds = worker_seconds(raw)
        return {
            "command": " ".join(command[command.index("--") + 2 :]),
            "returncode": completed.returncode,
            "rate": RATE,
            "workerSeconds": seconds,
            "totalWorkerSeconds": round(sum(seconds.values()), 1),
            "fixtureSetUp": fixture_set_up(raw),
        }
