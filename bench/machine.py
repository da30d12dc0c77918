"""How busy the machine was while the benchmark ran: its own CPU time against everyone's."""

from __future__ import annotations

import os
import resource
from pathlib import Path


def _busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return (total - idle) / ticks, total / ticks


def _own_seconds() -> float:
    """CPU time of this process and every descendant it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class LoadMeter:
    """Started before the benchmark, read after every process it started has been reaped."""

    def __init__(self) -> None:
        self.busy, self.total = _busy_seconds()
        self.own = _own_seconds()
        self.load_start = os.getloadavg()

    def read(self) -> dict[str, float | int | None]:
        busy, total = _busy_seconds()
        own = _own_seconds() - self.own
        machine = busy - self.busy
        span = total - self.total
        cpus = os.cpu_count() or 1
        return {
            "cpus": cpus,
            "loadAverageStart": round(self.load_start[0], 2),
            "loadAverageEnd": round(os.getloadavg()[0], 2),
            "machineBusyFraction": round(machine / span, 3) if span else None,
            "benchmarkCpuSeconds": round(own, 1),
            "othersCpuSeconds": round(max(machine - own, 0.0), 1),
            "othersBusyFraction": round(max(machine - own, 0.0) / span, 3) if span else None,
        }
