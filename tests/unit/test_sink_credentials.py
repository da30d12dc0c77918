"""The recording sink checks bearer tokens, and notes when each request ended."""

from __future__ import annotations

import http.client
import socket
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.observers.sink.recording import RecordingSink, SinkClient


@pytest.fixture
def sink() -> Iterator[SinkClient]:
    server = RecordingSink().start()
    yield SinkClient(server.url)
    server.stop()


def connect(sink: SinkClient, timeout: float = 5.0) -> http.client.HTTPConnection:
    address = urllib.parse.urlsplit(sink.url)
    return http.client.HTTPConnection(address.hostname or "", address.port, timeout=timeout)


def post(sink: SinkClient, path: str, headers: dict[str, str] | None = None) -> int:
    connection = connect(sink)
    try:
        connection.request("POST", f"/hooks/{path}", body=b"{}", headers=headers or {})
        return connection.getresponse().status
    finally:
        connection.close()


def ended(sink: SinkClient, path: str, within: float = 5.0) -> dict[str, Any]:
    """The first record of ``path`` once the sink has noted its end."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        records = sink.records(path, at_least=1, wait=within)
        if "ended" in records[0]:
            return records[0]
    raise AssertionError(f"the sink never noted the end of the request to {path}")


def test_a_request_without_the_token_is_answered_401_and_recorded_so(sink: SinkClient) -> None:
    sink.script("ns/hook", [{"status": 503, "times": 1}, {"status": 200}], token="s3cret")
    assert post(sink, "ns/hook") == 401
    assert post(sink, "ns/hook", {"Authorization": "Bearer wrong"}) == 401
    assert post(sink, "ns/hook", {"Authorization": "Bearer s3cret"}) == 200
    records = sink.records("ns/hook")
    assert [(r["status"], r["authorized"]) for r in records] == [(401, False), (401, False), (200, True)]


def test_without_a_token_requests_are_not_judged_for_one(sink: SinkClient) -> None:
    sink.script("ns/open", [{"status": 200}])
    assert post(sink, "ns/open") == 200
    assert "authorized" not in sink.records("ns/open")[0]


def test_a_request_ends_when_it_is_answered(sink: SinkClient) -> None:
    sink.script("slow", [{"status": 200, "delaySeconds": 0.3}])
    assert post(sink, "slow") == 200
    record = ended(sink, "slow")
    assert record["ended"] - record["time"] >= 0.3


def test_a_request_ends_when_the_client_hangs_up_before_the_answer(sink: SinkClient) -> None:
    sink.script("hang", [{"status": 200, "delaySeconds": 5.0}])
    connection = connect(sink, timeout=0.3)
    connection.request("POST", "/hooks/hang", body=b"{}")
    with pytest.raises(socket.timeout):
        connection.getresponse()
    connection.close()
    closed = time.time()
    record = ended(sink, "hang")
    assert record["ended"] - record["time"] < 2.0, "noted at the hang-up, not at the scripted answer"
    assert record["ended"] >= closed - 0.05
