"""Part 4: the local control plane's start-up time with cached binaries, and the record
of the one-time cold build."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.stats import Summary
from clusters.local import assets
from clusters.local.controlplane import LocalControlPlane

STARTUP_TARGET = 8.0
EARLIER_COLD_BUILD = {
    "seconds": 177,
    "how": "the assets module's own log of a cold build (empty Go build cache) on this 2-core machine, "
    "before build records were kept; not re-measured by make bench",
}


def startups(count: int) -> tuple[list[float], list[float]]:
    """Start and stop a fresh control plane ``count`` times: seconds until ready, and to stop."""
    starts, stops = [], []
    for _ in range(count):
        with tempfile.TemporaryDirectory(prefix="nc-bench-start-") as workdir:
            plane = LocalControlPlane(workdir=Path(workdir))
            try:
                plane.start()
                starts.append(plane.startup_seconds)
            finally:
                stopping = time.monotonic()
                plane.stop()
                stops.append(time.monotonic() - stopping)
    return starts, stops


def cold_build() -> dict[str, Any]:
    """The build record the assets module writes next to the binaries, or the earlier measurement."""
    found = assets.find()
    record = found.directory / assets.BUILD_RECORD if found else None
    if record is not None and record.exists():
        return {**json.loads(record.read_text()), "how": f"recorded by the build itself in {record}"}
    return dict(EARLIER_COLD_BUILD)


def measure(count: int, extra: list[float]) -> dict[str, Any]:
    """``extra``: start-ups measured elsewhere in this run (the suite's, the benchmark's own)."""
    fresh, stops = startups(count)
    measured = fresh + extra
    binaries = assets.find()
    return {
        "startupSeconds": Summary.of(measured).as_dict(),
        "startupSamples": [round(s, 3) for s in measured],
        "freshStarts": len(fresh),
        "stopSeconds": Summary.of(stops).as_dict() if stops else None,
        "targetSeconds": STARTUP_TARGET,
        "binaries": str(binaries.directory) if binaries else None,
        "binariesOrigin": binaries.origin if binaries else None,
        "coldBuild": cold_build(),
    }
