"""The observed timeline against the allowed windows: a row per attempt, built from the
judgement's measured times and gap verdicts, for the failure message and the reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from conformance.checks.judgement import OK, Judgement


@dataclass(frozen=True)
class TimelineRow:
    channel: str
    attempt: int
    at: float
    source: str
    outcome: str
    gap: float | None
    window: tuple[float, float] | None
    nominal: float | None
    verdict: str
    gap_range: tuple[float, float] | None = None
    """Every value the gap can have, given the timestamps' precision and the watch."""

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        for key in ("at", "gap", "nominal"):
            row[key] = round(row[key], 6) if row[key] is not None else None
        row["window"] = [round(x, 6) for x in self.window] if self.window else None
        del row["gap_range"]
        row["gapRange"] = [round(x, 6) for x in self.gap_range] if self.gap_range else None
        return row


def build(judgement: Judgement) -> list[TimelineRow]:
    rows = []
    for channel in judgement.scenario.channels:
        times = judgement.times[channel.name]
        outcomes = [a.outcome for a in judgement.mine(channel.name)]
        gaps = {gap.attempt: gap for gap in judgement.gaps[channel.name]}
        for index, interval in enumerate(times.intervals):
            gap = gaps.get(index + 1)
            rows.append(
                TimelineRow(
                    channel=channel.name,
                    attempt=index + 1,
                    at=judgement.after_creation(interval.low),
                    source=times.source,
                    outcome=outcomes[index] if index < len(outcomes) else "-",
                    gap=gap.estimate if gap else None,
                    window=(gap.window.low, gap.window.high) if gap else None,
                    nominal=gap.window.nominal if gap else None,
                    verdict=gap.verdict if gap else OK,
                    gap_range=(gap.range.low, gap.range.high) if gap else None,
                )
            )
    rows.sort(key=lambda row: (row.at, row.channel))
    return rows
