"""The file observer on a real directory: each delivery counted once under its final name, however
the writer names its temporary files, over many writes."""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.observers.files import FileObserver

FINAL = "nc-ns.notification.archive.json"
WRITES = 300

Writer = Callable[[Path, int], None]


def _replace_from(temporary: Path, directory: Path) -> None:
    temporary.write_text('{"subject": "x"}')
    os.replace(temporary, directory / FINAL)


def pid_numbered(directory: Path, number: int) -> None:
    """<final>.<pid>.<n>.tmp, then a rename, as kopf-based controllers commonly write."""
    _replace_from(directory / f"{FINAL}.{os.getpid()}.{number}.tmp", directory)


def go_create_temp(directory: Path, number: int) -> None:
    """os.CreateTemp(dir, final + ".tmp*"), then os.Rename."""
    _replace_from(directory / f"{FINAL}.tmp{secrets.randbelow(10**9)}", directory)


def go_hidden(directory: Path, number: int) -> None:
    """A hidden ".<final>.NNN" temporary, as Go atomic-write helpers name it."""
    _replace_from(directory / f".{FINAL}.{secrets.randbelow(10**9)}", directory)


def renamed_while_open(directory: Path, number: int) -> None:
    """NamedTemporaryFile, replaced into place before it is closed."""
    with tempfile.NamedTemporaryFile("w", dir=directory, delete=False) as handle:
        handle.write('{"subject": "x"}')
        handle.flush()
        os.replace(handle.name, directory / FINAL)


def in_place(directory: Path, number: int) -> None:
    """The final name written directly, truncated each time."""
    (directory / FINAL).write_text('{"subject": "x"}')


WRITERS = [pid_numbered, go_create_temp, go_hidden, renamed_while_open, in_place]
TICK = 0.01
"""File times come from the kernel's coarse clock, which may be one tick (at most 10 ms) behind."""


@pytest.mark.parametrize("write", WRITERS)
def test_a_delivery_is_dated_when_it_landed(write: Writer, tmp_path: Path) -> None:
    observer = FileObserver(tmp_path).start()
    try:
        before = time.time()
        write(tmp_path, 1)
        after = time.time()
    finally:
        [landed] = observer.stop()
    assert before - TICK <= landed <= after


@pytest.mark.parametrize("write", WRITERS)
def test_many_writes_are_counted_once_each(write: Writer, tmp_path: Path) -> None:
    """A later file may replace an earlier one before its event is read: the earlier is then dated
    no later than that reading, but never before it was written."""
    observer = FileObserver(tmp_path).start()
    started = []
    try:
        for number in range(WRITES):
            started.append(time.time())
            write(tmp_path, number)
    finally:
        landed = observer.stop()
        stopped = time.time()
    assert len(landed) == WRITES
    assert all(begun - TICK <= at <= stopped for begun, at in zip(started, landed, strict=True))


def test_temporary_files_that_are_removed_or_moved_away_are_no_deliveries(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    channel = tmp_path / "channel"
    channel.mkdir()
    observer = FileObserver(channel).start()
    try:
        for number in range(50):
            (channel / f"{FINAL}.{number}.tmp").write_text("{}")
            (channel / f"{FINAL}.{number}.tmp").unlink()
            (channel / f".{FINAL}.{number}").write_text("{}")
            os.rename(channel / f".{FINAL}.{number}", elsewhere / str(number))
    finally:
        landed = observer.stop()
    assert landed == []
    assert observer.stop() == [], "stopping twice is harmless"
