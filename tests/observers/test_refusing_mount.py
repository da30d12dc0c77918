"""The refusing filesystem on a real mount: every write refused with the asked errno, each request
stamped as it arrives, and no mount left behind, also when the suite dies."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.observers.refusals import attempts
from conformance.observers.refusing_mount import RefusingMount, available
from reference_controller.channels import Channels, Delivery, DeliveryError
from reference_controller.fileroot import FileRoot

pytestmark = pytest.mark.skipif(available() is not None, reason=f"no FUSE here: {available()}")


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "archive"
    path.mkdir()
    yield path
    assert not os.path.ismount(path)


@pytest.mark.parametrize("error", ["EROFS", "EACCES"])
def test_every_write_is_refused_with_the_scenarios_errno_and_stamped(directory: Path, error: str) -> None:
    mount = RefusingMount(directory, error)
    assert mount.mount(), mount.problem
    try:
        assert os.listdir(directory) == []
        assert not os.access(directory, os.W_OK)
        before = time.time()
        for write in (
            lambda: (directory / "final.json").write_text("{}"),
            lambda: os.open(directory / ".delivery-1", os.O_WRONLY | os.O_CREAT | os.O_EXCL),
            lambda: os.mkdir(directory / "staging"),
            lambda: os.symlink("/elsewhere", directory / "link"),
        ):
            with pytest.raises(OSError) as refused:
                write()
            assert refused.value.errno == getattr(errno, error)
        after = time.time()
        seen = mount.refusals()
    finally:
        mount.release()
    assert [r.op for r in seen] == ["access", "create", "create", "mkdir", "symlink"]
    assert {r.errno for r in seen} == {error}
    assert all(before <= r.time <= after for r in seen[1:])
    assert [r.time for r in seen] == sorted(r.time for r in seen)


def test_retries_are_one_attempt_each_stamped_while_the_write_waited(directory: Path) -> None:
    mount = RefusingMount(directory)
    assert mount.mount(), mount.problem
    spans = []
    try:
        for number in range(5):
            before = time.time()
            with pytest.raises(OSError):
                (directory / f"final.json.{os.getpid()}.{number}.tmp").write_text("{}")
            spans.append((before, time.time()))
            time.sleep(0.2)  # the backoff between two attempts, not a synchronisation
        seen = attempts(mount.refusals())
    finally:
        mount.release()
    assert len(seen) == len(spans)
    for (before, after), group in zip(spans, seen, strict=True):
        assert before <= group[0].time <= after


def test_the_reference_dates_a_refused_file_attempt_no_later_than_the_filesystem_saw_it(
    directory: Path,
) -> None:
    """The controller dates the attempt just before it asks for the file, the filesystem when the
    request arrives: so a retry scheduled from the controller's date is never early on the suite's."""
    mount = RefusingMount(directory)
    assert mount.mount(), mount.problem
    channels = Channels(FileRoot(str(directory.parent)), lambda namespace, ref: "")
    channel = {"name": "archive", "type": "file", "file": {"directory": str(directory)}}
    try:
        before = time.time()
        with pytest.raises(DeliveryError) as failed:
            channels.deliver(Delivery("ns", "note", "uid-1", {"subject": "hi"}, channel, 1))
        seen = mount.refusals()
    finally:
        mount.release()
    created = next(r for r in seen if r.op == "create")
    assert failed.value.sent is not None
    assert before <= failed.value.sent <= created.time


def test_unmounting_waits_out_a_directory_held_open(directory: Path) -> None:
    mount = RefusingMount(directory)
    assert mount.mount(), mount.problem
    held = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        mount.release()
    finally:
        os.close(held)
    assert not os.path.ismount(directory)


def test_the_filesystem_unmounts_itself_when_the_suite_dies(directory: Path, tmp_path: Path) -> None:
    suite = tmp_path / "suite.py"
    suite.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        "from conformance.observers.refusing_mount import RefusingMount\n"
        "assert RefusingMount(Path(sys.argv[1])).mount()\n"
        "print('mounted', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, str(suite), str(directory)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "mounted"
    assert os.path.ismount(directory)
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while os.path.ismount(directory) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.ismount(directory)


def test_a_missing_mount_point_is_one_sentence(tmp_path: Path) -> None:
    mount = RefusingMount(tmp_path / "missing")
    assert not mount.mount()
    assert mount.problem and "\n" not in mount.problem
