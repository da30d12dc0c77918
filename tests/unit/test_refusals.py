"""Which requests a failing file channel's filesystem refused make up one delivery attempt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.observers.refusals import ERRNOS, Refusal, attempts, grouping_horizon, read_log
from conformance.scenarios.model import FILE_ERRORS


def refused(at: float, op: str = "create", name: str = "x") -> Refusal:
    return Refusal(at, op, name, 7, "EROFS")


def starts(refusals: list[Refusal], within: float = 0.1) -> list[float]:
    return [group[0].time for group in attempts(refusals, within)]


def test_probes_and_metadata_changes_are_not_attempts() -> None:
    probes = [refused(1.0, "access", ""), refused(2.0, "setattr", ""), refused(3.0, "setxattr", "user.x")]
    assert attempts(probes) == []


def test_a_probe_then_a_create_is_one_attempt_stamped_at_the_create() -> None:
    assert starts([refused(1.0, "access", ""), refused(1.0004, "create", ".delivery-1")]) == [1.0004]


def test_a_fallback_to_the_final_name_belongs_to_the_same_attempt() -> None:
    """mkdir of a scratch folder, create of a temporary file, then create of the final name."""
    one = [
        refused(5.0, "mkdir", ".staging"),
        refused(5.002, "create", "f.1.tmp"),
        refused(5.003, "create", "f"),
    ]
    [group] = attempts(one)
    assert [r.op for r in group] == ["mkdir", "create", "create"]


def test_retries_a_backoff_apart_are_separate_attempts_in_time_order() -> None:
    retries = [
        refused(t, op) for t, op in [(4.0, "create"), (1.0, "create"), (2.0, "mknod"), (2.0005, "create")]
    ]
    assert starts(retries) == [1.0, 2.0, 4.0]


def test_every_kind_of_entry_creation_marks_an_attempt() -> None:
    ops = ["create", "mknod", "mkdir", "symlink", "link", "rename"]
    assert starts([refused(i, op) for i, op in enumerate(ops)]) == [float(i) for i in range(len(ops))]


def test_requests_join_an_attempt_only_while_each_follows_the_last_closely() -> None:
    assert starts([refused(0.0), refused(0.09), refused(0.18), refused(0.30)]) == [0.0, 0.30]


@pytest.mark.parametrize(("backoff", "horizon"), [(1.0, 0.1), (0.2, 0.05), (0.0, 0.0)])
def test_the_grouping_horizon_stays_well_below_the_shortest_backoff(backoff: float, horizon: float) -> None:
    assert grouping_horizon(backoff) == pytest.approx(horizon)


def test_the_log_is_read_back_skipping_a_line_cut_short(tmp_path: Path) -> None:
    log = tmp_path / "refusals.jsonl"
    record = {"time": 1.5, "op": "create", "name": "a", "pid": 3, "errno": "EACCES"}
    log.write_text(json.dumps(record) + "\n" + '{"time": 2.0, "op": "cre')
    assert read_log(log) == [Refusal(1.5, "create", "a", 3, "EACCES")]
    assert read_log(tmp_path / "missing.jsonl") == []


def test_the_filesystem_answers_every_errno_a_scenario_may_ask_for() -> None:
    assert tuple(ERRNOS) == FILE_ERRORS
