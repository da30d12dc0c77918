"""The channel observers behind the one Observer interface, on real directories, a real
console log and a real sink: what each provisions, sees and covers."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.observers.channels import Scope, channel_observers
from conformance.observers.console import ConsoleLog, ConsoleObserver
from conformance.observers.file_channels import FileChannels
from conformance.observers.observation import CONSOLE, FILE, SINK
from conformance.observers.observer import Coverage
from conformance.observers.sink.observer import SinkObserver
from conformance.observers.sink.recording import RecordingSink, SinkClient
from conformance.scenarios.model import ChannelSpec, SinkStep

CONSOLE_CHANNEL = ChannelSpec("stdout", "console")
FILE_CHANNEL = ChannelSpec("archive", "file")
HOOK = ChannelSpec("hook", "webhook", responses=(SinkStep(503, times=1), SinkStep(200)), timeout=2.0)


@pytest.fixture
def sink() -> Iterator[SinkClient]:
    server = RecordingSink().start()
    yield SinkClient(server.url)
    server.stop()


def post(url: str) -> int:
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={"Idempotency-Key": "k"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_each_observer_provisions_only_its_own_channel_type(tmp_path: Path, sink: SinkClient) -> None:
    log = ConsoleLog(tmp_path / "console.jsonl")
    scope = Scope("ns", tmp_path, sink, log, None)
    observers = channel_observers(scope)
    provided = {
        channel.name: [sorted(observer.provision(channel)) for observer in observers]
        for channel in (CONSOLE_CHANNEL, FILE_CHANNEL, HOOK)
    }
    assert provided == {
        "stdout": [[], [], []],
        "archive": [[], ["directory"], []],
        "hook": [["timeout", "url"], [], []],
    }
    covered = {name: coverage for observer in observers for name, coverage in observer.covers().items()}
    assert covered == {
        "stdout": Coverage.SUCCESSES,
        "archive": Coverage.SUCCESSES,
        "hook": Coverage.EVERY_ATTEMPT,
    }
    for observer in observers:
        observer.stop()
        observer.release(keep=False)


def test_the_sink_observer_sees_every_request_and_judges_it_by_the_script(sink: SinkClient) -> None:
    observer = SinkObserver(sink, "ns", {})
    values = observer.provision(HOOK)
    assert values == {"url": sink.hook_url("ns/hook"), "timeout": "2s"}
    observer.start()
    assert [post(values["url"]), post(values["url"])] == [503, 200]
    seen = observer.stop()
    assert [(e.channel, e.source, e.succeeded, e.detail, e.key) for e in seen.events] == [
        ("hook", SINK, False, "HTTP 503", "k"),
        ("hook", SINK, True, "HTTP 200", "k"),
    ]
    assert observer.stop() == seen
    assert "POST -> 503 Idempotency-Key=k" in observer.diagnostics()["sink log for hook"]
    observer.release(keep=True)
    assert len(sink.records("ns/hook")) == 2
    observer.release(keep=False)
    assert sink.records("ns/hook") == []


def test_the_file_observer_gives_each_channel_a_directory_and_sees_what_is_written(tmp_path: Path) -> None:
    observer = FileChannels(tmp_path, None)
    values = observer.provision(FILE_CHANNEL)
    directory = Path(values["directory"])
    assert directory == tmp_path / "archive" and directory.is_dir()
    observer.start()
    (directory / "n.json").write_text("{}")
    written = os.stat(directory / "n.json").st_mtime_ns / 1e9
    seen = observer.stop()
    assert [(e.channel, e.source, e.succeeded, e.time) for e in seen.events] == [
        ("archive", FILE, True, written)
    ]
    assert seen.mechanisms == {}


def test_a_file_channel_that_cannot_be_written_gets_a_read_only_directory(tmp_path: Path) -> None:
    observer = FileChannels(tmp_path, None)
    directory = Path(observer.provision(ChannelSpec("archive", "file", writable=False))["directory"])
    try:
        with pytest.raises(OSError):
            (directory / "n.json").write_text("{}")
        mechanisms = observer.stop().mechanisms
        assert list(mechanisms) == ["archive"] and mechanisms["archive"]
    finally:
        observer.release(keep=True)
    (directory / "n.json").write_text("{}")  # writable again, even when kept


def test_the_console_observer_sees_the_delivery_lines_of_the_scenario(tmp_path: Path) -> None:
    log = ConsoleLog(tmp_path / "console.jsonl").open()
    observer = ConsoleObserver(log, "subject [ns-1]", "body")
    assert observer.provision(CONSOLE_CHANNEL) == {}
    observer.start()
    log.append("subject [ns-1]: body")
    log.append("subject [ns-2]: body")
    log.append("INFO attempt 1 for subject [ns-1]")
    log.close()
    seen = observer.stop()
    assert [(e.channel, e.source) for e in seen.events] == [("stdout", CONSOLE)]


def test_without_the_controllers_stdout_console_channels_are_not_covered(tmp_path: Path) -> None:
    observer = ConsoleObserver(None, "subject [ns-1]", "body")
    observer.provision(CONSOLE_CHANNEL)
    assert observer.covers() == {}
    assert observer.stop().events == ()
