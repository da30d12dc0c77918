"""``python -m bench``: run every benchmark and write ``bench/results.{json,md}`` with figures."""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import (
    controlplane,
    harness,
    machine,
    plots,
    project_tests,
    scaling,
    suite_profile,
    suite_speed,
    throughput,
    writeup,
)

HERE = Path(__file__).resolve().parent
PARTS = ("suite", "profile", "scaling", "throughput", "controlplane", "tests")


@dataclass(frozen=True)
class Scale:
    suite_args: tuple[str, ...]
    in_flight: tuple[int, ...]
    succeed: int
    fail: int
    fail_light: int
    startups: int


SCALES = {
    "full": Scale((), (10, 50, 200), 1000, 500, 20, 5),
    "small": Scale(("-k", "readonly-file or mixed-recovers or webhook-delivers"), (5, 20), 100, 50, 10, 2),
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(scale: Scale, workers: int, parts: set[str], test_workers: int) -> dict[str, Any]:
    meter = machine.LoadMeter()
    started = time.monotonic()
    results: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "scale": {
            "suiteArgs": list(scale.suite_args),
            "inFlight": list(scale.in_flight),
            "succeed": scale.succeed,
            "fail": scale.fail,
            "failLight": scale.fail_light,
            "startups": scale.startups,
        },
    }
    extra_startups: list[float] = []
    if "suite" in parts:
        log(f"part 1: the conformance suite with -n {workers}")
        results["suite"] = suite_speed.measure(workers, list(scale.suite_args))
        extra_startups.append(results["suite"]["controlPlaneStartSeconds"])
        suite = results["suite"]
        reported = suite["reportRatio"] or {}
        log(
            f"suite: {suite['wallSeconds']}s, floor {suite['floor']['seconds']}s; "
            f"its report: {reported.get('ratio')} times its floor of {reported.get('floorSeconds')}s"
        )
    if "profile" in parts:
        log("part 1, profiled: the suite once more under py-spy (not timed)")
        results["suiteProfile"] = suite_profile.measure(workers, list(scale.suite_args))
    if parts & {"scaling", "throughput"}:
        with (
            tempfile.TemporaryDirectory(prefix="nc-bench-") as workdir,
            harness.control_plane(Path(workdir)) as plane,
        ):
            extra_startups.append(plane.startup_seconds)
            if "scaling" in parts:
                log(f"parts 1 and 2: {', '.join(map(str, scale.in_flight))} scenarios in flight")
                results["scaling"] = scaling.measure(plane, scale.in_flight)
            if "throughput" in parts:
                log(
                    f"part 3: {scale.succeed} succeeding, {scale.fail} and {scale.fail_light} failing "
                    "notifications, two designs"
                )
                results["throughput"] = throughput.measure(plane, scale.succeed, scale.fail, scale.fail_light)
    if "controlplane" in parts:
        log(f"part 4: {scale.startups} control-plane start-ups")
        results["controlPlane"] = controlplane.measure(scale.startups, extra_startups)
        if "suite" in results:
            results["controlPlane"]["suiteMemory"] = results["suite"]["memory"]
    if "tests" in parts:
        log(f"part 5: the project's own tests with {test_workers} workers, as make test runs them")
        results["projectTests"] = project_tests.measure(test_workers)
    results["benchSeconds"] = round(time.monotonic() - started, 1)
    results["machine"] = meter.read()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="pytest-xdist workers for the suite; 0 = none, as `make conformance` (default 0)",
    )
    parser.add_argument(
        "--test-workers",
        type=int,
        default=6,
        help="pytest-xdist workers for the project's own tests, as make test (default 6)",
    )
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated subset of {', '.join(PARTS)}",
    )
    parser.add_argument(
        "--out", type=Path, default=HERE, help="folder for results.json, results.md and figures"
    )
    args = parser.parse_args(argv)
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = parts - set(PARTS)
    if unknown:
        parser.error(f"unknown part {sorted(unknown)[0]!r}")
    results = run(SCALES[args.scale], args.workers, parts, args.test_workers)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    figures = plots.draw_all(results, args.out)
    (args.out / "results.md").write_text(writeup.render(results, figures))
    log(f"wrote {args.out / 'results.md'} after {results['benchSeconds']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
