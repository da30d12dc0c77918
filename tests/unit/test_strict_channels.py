"""The Broadcast controller's deliveries: whole stdout lines and atomic files, one per attempt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from examples.strict_controller import api, channels

BROADCAST: api.Broadcast = {
    "metadata": {"namespace": "ns", "name": "b"},
    "spec": {"subject": "hello [ns]", "body": "the body"},
}


def test_a_console_delivery_is_one_stdout_line_with_subject_and_body(
    capsys: pytest.CaptureFixture[str],
) -> None:
    channels.deliver(BROADCAST, {"type": "console"}, 1)
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {
        "broadcast": "ns/b",
        "target": "console",
        "attempt": 1,
        "subject": "hello [ns]",
        "body": "the body",
    }


def test_each_attempt_leaves_one_final_file_and_no_temporary(tmp_path: Path) -> None:
    for number in (1, 2):
        channels.deliver(BROADCAST, {"type": "file", "directory": str(tmp_path)}, number)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ns.b.1.json", "ns.b.2.json"]
    assert json.loads((tmp_path / "ns.b.2.json").read_text())["attempt"] == 2


def test_the_temporary_file_is_named_after_the_final_one() -> None:
    assert channels.temporary_name("ns.b.1.json", 4242, 7) == "ns.b.1.json.4242.7.tmp"


def test_a_file_system_error_fails_the_attempt_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "ns.b.1.json").mkdir()  # the final name is taken by a directory: the rename fails
    with pytest.raises(channels.DeliveryError, match=r"cannot write ns\.b\.1\.json in .*: Is a directory"):
        channels.deliver(BROADCAST, {"type": "file", "directory": str(tmp_path)}, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["ns.b.1.json"]


def test_a_directory_that_cannot_be_written_fails_the_attempt(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(
        channels.DeliveryError, match=r"cannot create a file in .*: No such file or directory"
    ):
        channels.deliver(BROADCAST, {"type": "file", "directory": str(missing)}, 1)
