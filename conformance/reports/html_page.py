"""The HTML report: one self-contained page a person reads instead of logs.

Rendered from the YAML report's data alone (so ``notification-conformance report``
can render it again later), with every scenario's timeline drawn as inline SVG:
a lane per channel, a mark per attempt at its time after creation, the window
the contract allowed for it as a shaded band, and an attempt outside its window
in red, next to the forbidden stretch it fell into.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"
FILENAME = "conformance-report.html"
WIDTH = 960.0
LEFT = 150.0
RIGHT = 24.0
TOP = 28.0
ROW = 20.0
LANE_PADDING = 6.0
BOTTOM = 22.0
LABEL_ROW = 12.0
LABEL_CHAR = 5.5
"""About the width of a character of a moment's 10px label."""
STEPS = (0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600)


@dataclass
class Attempt:
    """One attempt's row in its channel's lane: its mark, and the bands that governed it."""

    number: int
    y: float
    at: float
    x: float
    outcome: str
    verdict: str
    title: str
    violation: str = ""
    bands: list[Band] = field(default_factory=list)


@dataclass
class Band:
    x: float
    width: float
    start: float
    end: float
    kind: str
    """``window`` (allowed) or ``forbidden`` (too early: between the previous attempt and the window)."""
    title: str


@dataclass
class Lane:
    channel: str
    y: float
    height: float
    attempts: list[Attempt] = field(default_factory=list)


@dataclass
class Moment:
    name: str
    at: float
    x: float
    label: str
    row: int = 0
    """Labels of moments close together go on rows of their own, below one another."""
    label_y: float = 0.0


UNCERTAIN = 1e-3
"""A gap known no better than this (coarse timestamps) says so in its mark's title."""
MOMENTS = {
    "terminal": "terminal phase",
    "deleted": "deleted",
    "restarted": "controller restarted",
    "resumed": "restarted controller works again",
}
QUIET_AFTER = {"terminal": "NR-QUIET-AFTER-TERMINAL", "deleted": "NR-QUIET-AFTER-DELETE"}


@dataclass
class Picture:
    id: str
    width: float
    height: float
    left: float
    right: float
    top: float
    row_height: float
    lanes: list[Lane]
    ticks: list[tuple[float, str]]
    seconds: float
    moments: list[Moment]


def element_id(scenario: str) -> str:
    return "timeline-" + re.sub(r"[^A-Za-z0-9_-]+", "-", scenario)


def _step(seconds: float) -> float:
    return next((step for step in STEPS if seconds / step <= 10), STEPS[-1])


def _violation_for(row: dict[str, Any], violations: list[dict[str, Any]]) -> str:
    """The first violation that concerns this attempt of this channel."""
    found = next(
        (v for v in violations if v.get("channel") == row["channel"] and v.get("attempt") == row["attempt"]),
        None,
    )
    return f"[{found['requirement']}] {found['message']}" if found else ""


def _title(row: dict[str, Any]) -> str:
    gap = f", {row['gap']:.3f}s after attempt {row['attempt'] - 1}" if row["gap"] is not None else ""
    known = row.get("gapRange")
    if known and known[1] - known[0] > UNCERTAIN:
        gap += f" (between {known[0]:.3f}s and {known[1]:.3f}s, as far as the timestamps tell)"
    allowed = f"; allowed gap [{row['window'][0]:.3f}s, {row['window'][1]:.3f}s]" if row["window"] else ""
    return (
        f"{row['channel']} attempt {row['attempt']} at {row['at']:.3f}s{gap}{allowed}: "
        f"{row['outcome']} (seen via {row['source']})"
    )


def _quiet_violations(scenario: dict[str, Any]) -> dict[tuple[str, str], tuple[float, str]]:
    """(moment, channel) -> (when, first violation): channels attempted after they had to be quiet."""
    found: dict[tuple[str, str], tuple[float, str]] = {}
    for moment, requirement in QUIET_AFTER.items():
        at = scenario.get("moments", {}).get(moment)
        for violation in scenario["violations"]:
            channel = violation.get("channel")
            if at is not None and violation["requirement"] == requirement and channel is not None:
                text = f"[{requirement}] {violation['message']}"
                found.setdefault((moment, channel), (float(at), text))
    return found


def picture(scenario: dict[str, Any]) -> Picture:
    """Lay out one scenario's timeline in SVG units: a lane per channel, a row per attempt."""
    rows = scenario["timeline"]
    channels = list(dict.fromkeys(row["channel"] for row in rows))
    by_channel = {
        c: sorted((r for r in rows if r["channel"] == c), key=lambda r: r["attempt"]) for c in channels
    }
    ends: list[float] = [max(0.0, float(row["at"])) for row in rows]
    for mine in by_channel.values():
        for previous, row in itertools.pairwise(mine):
            if row["window"]:
                ends.append(float(previous["at"]) + float(row["window"][1]))
    moments = scenario.get("moments", {})
    ends += [float(at) for at in moments.values()]
    seconds = max([1.0, *ends]) * 1.05
    plot = WIDTH - LEFT - RIGHT

    def x(at: float) -> float:
        return round(LEFT + max(0.0, at) / seconds * plot, 2)

    def band(start: float, end: float, kind: str, title: str) -> Band:
        return Band(x(start), max(1.5, x(end) - x(start)), round(start, 6), round(end, 6), kind, title)

    quiet = _quiet_violations(scenario)
    lanes = []
    y = TOP
    for channel in channels:
        mine = by_channel[channel]
        lane = Lane(channel, y, LANE_PADDING * 2 + ROW * len(mine))
        for position, row in enumerate(mine):
            attempt = Attempt(
                number=row["attempt"],
                y=y + LANE_PADDING + ROW * position + ROW / 2,
                at=row["at"],
                x=x(row["at"]),
                outcome=row["outcome"],
                verdict=row["verdict"],
                title=_title(row),
                violation=_violation_for(row, scenario["violations"]) if row["verdict"] != "ok" else "",
            )
            for (moment, quiet_channel), (moment_at, text) in quiet.items():
                if quiet_channel == channel and row["at"] > moment_at and attempt.verdict == "ok":
                    attempt.verdict, attempt.violation = f"after {MOMENTS[moment]}", text
            previous = mine[position - 1] if position else None
            if previous is not None and row["window"]:
                low, high = (previous["at"] + bound for bound in row["window"])
                if row["verdict"] == "early":
                    attempt.bands.append(
                        band(
                            previous["at"],
                            low,
                            "forbidden",
                            f"{channel} attempt {row['attempt']} was not allowed before {low:.3f}s",
                        )
                    )
                attempt.bands.append(
                    band(
                        low,
                        high,
                        "window",
                        f"{channel} attempt {row['attempt']} was allowed from {low:.3f}s to {high:.3f}s "
                        f"({row['window'][0]:.3f}s to {row['window'][1]:.3f}s after attempt "
                        f"{previous['attempt']})",
                    )
                )
            lane.attempts.append(attempt)
        lanes.append(lane)
        y += lane.height
    step = _step(seconds)
    ticks = [(x(i * step), f"{i * step:g}s") for i in range(int(seconds / step) + 1)]
    marked = _label_rows(
        [
            Moment(name, at, x(at), f"{MOMENTS.get(name, name)} at {at:.3f}s")
            for name, at in sorted(moments.items(), key=lambda item: item[1])
        ]
    )
    rows = max((moment.row for moment in marked), default=0)
    height = max(y, TOP + ROW) + BOTTOM + rows * LABEL_ROW
    for mark in marked:
        mark.label_y = height - 6 - (rows - mark.row) * LABEL_ROW
    return Picture(
        id=element_id(scenario["scenario"]),
        width=WIDTH,
        height=height,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        row_height=ROW,
        lanes=lanes,
        ticks=ticks,
        seconds=seconds,
        moments=marked,
    )


def _label_rows(moments: list[Moment]) -> list[Moment]:
    """Each label ends just left of its moment's line, on the first row where it overlaps none."""
    ends: list[float] = []
    for moment in moments:
        start = moment.x - 4 - len(moment.label) * LABEL_CHAR
        row = next((r for r, end in enumerate(ends) if end + 4 <= start), len(ends))
        if row == len(ends):
            ends.append(0.0)
        ends[row] = moment.x - 4
        moment.row = row
    return moments


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(report: dict[str, Any]) -> str:
    scenarios = sorted(report["scenarios"], key=lambda s: (s["passed"], s["scenario"]))
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            scenarios=[(scenario, picture(scenario)) for scenario in scenarios],
        )
    )


def write(report: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILENAME
    path.write_text(render(report))
    return path
