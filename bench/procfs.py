"""Memory of real processes, read from ``/proc/<pid>/status`` (Linux)."""

from __future__ import annotations

import os
import resource
import threading
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")


def status_kib(pid: int, field_name: str) -> int | None:
    """A ``VmRSS``/``VmHWM``-style field in KiB, or None when the process is gone."""
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return None


def _parent(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name may hold spaces and parentheses: fields follow the last ')'
    return int(stat.rsplit(")", 1)[1].split()[1])


def _name(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def descendants(root: int) -> dict[int, str]:
    """Every living descendant of ``root``: pid -> command name."""
    parents: dict[int, int] = {}
    for entry in os.listdir(PROC):
        if entry.isdigit() and (parent := _parent(int(entry))) is not None:
            parents[int(entry)] = parent
    found: dict[int, str] = {}
    frontier = {root}
    while frontier:
        children = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
        for pid in children:
            found[pid] = _name(pid)
        frontier = children
    return found


def label_of(pid: int, name: str, targets: dict[str, str]) -> str | None:
    """The label of the first target whose text is the command name or, failing that, appears
    in the command line (``python -m reference_controller`` is a python process)."""
    for label, text in targets.items():
        if name == text:
            return label
    command = _cmdline(pid)
    return next((label for label, text in targets.items() if f" {text} " in f" {command} "), None)


@dataclass
class MemorySampler:
    """Samples the RSS of ``root``'s descendants every ``interval`` seconds; ``targets`` maps a
    label to a command name or a word of the command line."""

    root: int
    targets: dict[str, str]
    interval: float = 0.5
    samples: dict[str, list[int]] = field(default_factory=dict)
    peak_hwm: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for pid, name in descendants(self.root).items():
                label = label_of(pid, name, self.targets)
                if label is None:
                    continue
                rss = status_kib(pid, "VmRSS")
                hwm = status_kib(pid, "VmHWM")
                if rss is not None:
                    self.samples.setdefault(label, []).append(rss)
                if hwm is not None:
                    self.peak_hwm[label] = max(self.peak_hwm.get(label, 0), hwm)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a living process, or None when it is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds each named process (and this one, as ``benchmark``) used since the meter was made."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = self._now()

    def _now(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        now = {"benchmark": usage.ru_utime + usage.ru_stime}
        for name, pid in self.pids.items():
            seconds = cpu_seconds(pid)
            if seconds is not None:
                now[name] = seconds
        return now

    def read(self) -> dict[str, float]:
        now = self._now()
        return {name: round(now[name] - self.start[name], 2) for name in now if name in self.start}
