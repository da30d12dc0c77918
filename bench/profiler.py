"""A sampling CPU profile of a running process (py-spy, from the ``bench`` extra), summarised
by where the samples landed: which library a busy thread was in, and which functions."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

RATE = 50
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
GENERIC = {"Thread._bootstrap", "Thread._bootstrap_inner", "Thread.run", "_worker", "<module>", "run"}


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def library(file: str) -> str:
    """The package or standard-library module a source file belongs to."""
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    match = re.search(r"/lib/python3\.\d+/(?P<module>[^/]+)", file)
    if match:
        return match["module"].removesuffix(".py")
    if file.startswith("/"):
        return Path(file).parent.name or Path(file).stem  # a project file outside the working directory
    return file.split("/", 1)[0].removesuffix(".py") if "/" in file else file.removesuffix(".py")


def summarise(raw: str, seconds: float, rate: int = RATE, top: int = 10) -> dict[str, Any]:
    """Collapsed stacks (``frame;frame;... count``) to shares of the busy samples."""
    total = 0
    leaf_library: Counter[str] = Counter()
    leaf_function: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [m for m in (_FRAME.match(f) for f in stack.split(";")) if m]
        if not frames:
            continue
        total += count
        leaf = frames[-1]
        leaf_library[library(leaf["file"])] += count
        leaf_function[f"{leaf['function']} ({library(leaf['file'])})"] += count
        for name in {f"{m['function']} ({library(m['file'])})" for m in frames}:
            if name.split(" (")[0] not in GENERIC:
                inclusive[name] += count

    def shares(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(count / total, 3)] for name, count in counter.most_common(top)] if total else []

    return {
        "samples": total,
        "busyThreadsAverage": round(total / (seconds * rate), 3) if seconds else None,
        "selfByLibrary": shares(leaf_library),
        "selfByFunction": shares(leaf_function),
        "inclusiveByFunction": shares(inclusive),
    }


class Profile:
    """``py-spy record`` attached to ``pid`` until ``stop()``; nonblocking, so the target never pauses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.error: str | None = None
        self._directory = Path(tempfile.mkdtemp(prefix="nc-bench-profile-"))
        self._output = self._directory / "profile.txt"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Profile:
        binary = py_spy()
        if binary is None:
            self.error = "py-spy is not installed (pip install -e '.[bench]')"
            return self
        self._process = subprocess.Popen(
            [
                binary,
                "record",
                "--pid",
                str(self.pid),
                "--rate",
                str(RATE),
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(self._output),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        return self

    def stop(self, seconds: float) -> dict[str, Any]:
        """Stop sampling and summarise ``seconds`` of it."""
        try:
            if self._process is None:
                return {"error": self.error}
            self._process.send_signal(signal.SIGINT)
            try:
                _, stderr = self._process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                _, stderr = self._process.communicate()
            if not self._output.exists():
                return {"error": f"py-spy wrote no profile: {stderr.decode(errors='replace').strip()[-300:]}"}
            return summarise(self._output.read_text(), seconds)
        finally:
            self._process = None
            shutil.rmtree(self._directory, ignore_errors=True)

    def close(self) -> None:
        """Stop py-spy without a summary, when the measurement failed."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
        shutil.rmtree(self._directory, ignore_errors=True)
