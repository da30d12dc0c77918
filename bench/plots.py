"""The figures of ``bench/results.md``, drawn with matplotlib (the ``bench`` extra) as PNG."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def suite_timeline(suite: dict[str, Any], path: Path) -> None:
    """Every scenario over time, packed into as few lanes as overlap (they run in threads of one
    process, not in workers), against the longest scenario's floor."""
    plt = _pyplot()
    lanes = suite["lanes"]
    fig, ax = plt.subplots(figsize=(10, 0.22 * len(lanes) + 1.8))
    disruptive = {s["name"] for s in suite["scenarios"] if s["disruptive"]}
    for row, lane in enumerate(lanes):
        for interval in lane:
            start, end = interval["start"], interval["end"]
            ax.barh(row, end - start, left=start, color="#c7c7c7", edgecolor="white")
            own_start = interval["setUp"][0] if interval.get("setUp") else start
            own_end = own_start + interval["own"] if interval.get("own") is not None else end
            color = "#d62728" if interval["name"] in disruptive else "#1f77b4"
            ax.barh(row, own_end - own_start, left=own_start, height=0.6, color=color, edgecolor="white")
            if interval.get("setUp"):
                set_up_start, set_up_end = interval["setUp"]
                ax.barh(row, set_up_end - set_up_start, left=set_up_start, height=0.6, color="#ff7f0e")
    ax.set_yticks(range(len(lanes)), [str(row + 1) for row in range(len(lanes))])
    ax.set_ylabel("lane (scenarios in flight)")
    scenario_floor = suite["floor"]["longestSchedule"] + suite["floor"]["longestQuiet"]
    label = f"longest scenario's floor ({scenario_floor:.1f}s)"
    ax.axvline(scenario_floor, color="black", linestyle="--", label=label)
    ax.set_xlabel(
        "seconds after the first scenario started; grey: its run (waiting for a set-up turn, clean-up), "
        "orange: its set-up, blue: its own time, red: a disruptive one's"
    )
    ax.set_title(
        f"conformance suite, -n {suite['workers']}: {sum(len(lane) for lane in lanes)} scenarios, "
        f"at most {len(lanes)} in flight"
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def scaling(scale: dict[str, Any], path: Path) -> None:
    """Wall time against scenarios in flight, with the scenario's own floor."""
    plt = _pyplot()
    levels = scale["levels"]
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [level["inFlight"] for level in levels]
    ax.plot(xs, [level["wallSeconds"] for level in levels], marker="o", label="wall time")
    ax.plot(xs, [level["scenarioSeconds"]["p50"] for level in levels], marker="s", label="scenario p50")
    ax.axhline(scale["scenarioFloorSeconds"], color="black", linestyle="--", label="scenario floor")
    ax.set_xscale("log")
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_xlabel(f"copies of {scale['scenario']} in flight")
    ax.set_ylabel("seconds")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def gap_errors(scale: dict[str, Any], path: Path) -> None:
    """Cumulative distribution of observed minus nominal gap, per load level."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    by_level: dict[int, list[float]] = {}
    for in_flight, _, _, error in scale["fidelity"]["rawGapErrorsMs"]:
        by_level.setdefault(in_flight, []).append(error)
    for in_flight, errors in sorted(by_level.items()):
        ordered = sorted(errors)
        ax.step(
            ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], label=f"{in_flight} in flight"
        )
    ax.axvline(scale["fidelity"]["targetP99Ms"], color="black", linestyle="--", label="p99 target")
    ax.set_xlabel("observed gap minus nominal gap (ms, sink clock)")
    ax.set_ylabel("fraction of gaps")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def efficiency(throughput: dict[str, Any], path: Path) -> None:
    """Reference against the seed's design: writes, requests and time per workload."""
    plt = _pyplot()
    metrics: list[tuple[str, Callable[[dict[str, Any]], float]]] = [
        ("status writes / notification", lambda r: r["api"]["statusWritesPerNotification"]),
        ("API requests / notification", lambda r: r["api"]["controllerRequestsPerNotification"]),
        ("seconds until all terminal", lambda r: r["secondsUntilAllTerminal"]),
        ("peak webhook requests / s", lambda r: r["storm"]["peakWebhookRequestsPerSecond"]),
    ]
    workloads = sorted(throughput)
    fig, axes = plt.subplots(1, len(metrics), figsize=(13, 3.6))
    for ax, (title, value) in zip(axes, metrics, strict=True):
        for offset, design, color in ((-0.2, "reference", "#2ca02c"), (0.2, "seed", "#d62728")):
            heights = [value(throughput[w][design]) for w in workloads]
            ax.bar([i + offset for i in range(len(workloads))], heights, width=0.4, label=design, color=color)
        ax.set_xticks(range(len(workloads)), workloads)
        ax.set_title(title, fontsize=10)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def retry_times(throughput: dict[str, Any], path: Path) -> None:
    """When each retry came after the notification's first attempt, reference against seed."""
    plt = _pyplot()
    workload = "fail-light" if "fail-light" in throughput else "fail"
    fig, axes = plt.subplots(2, 1, figsize=(8, 4.2), sharex=True)
    for ax, design, color in zip(axes, ("reference", "seed"), ("#2ca02c", "#d62728"), strict=True):
        offsets = throughput[workload][design]["storm"]["attemptOffsets"]
        for attempt in (2, 3, 4):
            xs = [offset for number, offset in offsets if number == attempt]
            ax.scatter(xs, [attempt] * len(xs), s=12, alpha=0.5, color=color)
        for due in (1.0, 3.0, 5.0):
            ax.axvline(due, color="black", linestyle=":", linewidth=1)
        ax.set_yticks((2, 3, 4))
        ax.set_ylabel(f"{design}\nattempt")
    axes[-1].set_xlabel("seconds after the first attempt (dotted: when the backoff allows the next one)")
    axes[0].set_title(f"webhook retries, {throughput[workload]['reference']['notifications']} notifications")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_all(results: dict[str, Any], directory: Path) -> dict[str, str]:
    """Draw every figure whose data the run has; returns figure name -> file name."""
    drawn = {}
    figures = (
        ("suite", "suite-timeline.png", suite_timeline),
        ("scaling", "scaling.png", scaling),
        ("scaling", "gap-errors.png", gap_errors),
        ("throughput", "api-efficiency.png", efficiency),
        ("throughput", "retry-times.png", retry_times),
    )
    for key, name, draw in figures:
        if key in results:
            draw(results[key], directory / name)
            drawn[name.removesuffix(".png")] = name
    return drawn
