"""A failed scenario as text for the terminal: its violations, the observed timeline and
the diagnostics gathered when it failed."""

from __future__ import annotations

from conformance.checks.timeline import TimelineRow
from conformance.run.result import ScenarioResult


def failure_message(result: ScenarioResult) -> str:
    lines = [f"scenario {result.scenario.name!r} violated the contract:"]
    lines += [f"  {v}" for v in result.verdict.violations]
    lines += ["", "observed timeline (seconds after creation):", timeline_table(result.verdict.timeline)]
    for title, text in result.diagnostics.items():
        lines += ["", f"--- {title} ---", text]
    return "\n".join(lines)


def timeline_table(rows: list[TimelineRow]) -> str:
    header = (
        f"  {'channel':<12} {'#':>2} {'at':>8} {'gap':>8}  {'allowed':<19} {'outcome':<8} {'via':<7} verdict"
    )
    lines = [header]
    for row in rows:
        gap = f"{row.gap:.3f}" if row.gap is not None else "-"
        allowed = f"[{row.window[0]:.3f}, {row.window[1]:.3f}]" if row.window else "-"
        lines.append(
            f"  {row.channel:<12} {row.attempt:>2} {row.at:>8.3f} {gap:>8}  {allowed:<19} "
            f"{row.outcome:<8} {row.source:<7} {row.verdict}"
        )
    return "\n".join(lines)
