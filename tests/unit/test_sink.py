"""The recording sink on a loopback port: scripted answers and server-side receive times."""

from __future__ import annotations

import email.utils
import http.client
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.observers.sink.recording import RecordingSink, SinkClient, SinkError, SinkProcess


@pytest.fixture
def sink() -> Iterator[SinkClient]:
    server = RecordingSink().start()
    yield SinkClient(server.url)
    server.stop()


def post(url: str, timeout: float = 5) -> int:
    request = urllib.request.Request(url, data=b'{"x": 1}', method="POST", headers={"Idempotency-Key": "k1"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_fail_twice_then_succeed(sink: SinkClient) -> None:
    sink.script("ns/hook", [{"status": 503, "times": 2}, {"status": 200}])
    assert [post(sink.hook_url("ns/hook")) for _ in range(4)] == [503, 503, 200, 200]
    records = sink.records("ns/hook")
    assert [r["status"] for r in records] == [503, 503, 200, 200]
    assert records[0]["headers"]["Idempotency-Key"] == "k1"
    assert records[0]["body"] == '{"x": 1}'
    times = [r["time"] for r in records]
    assert times == sorted(times)


def test_paths_are_independent_and_default_to_success(sink: SinkClient) -> None:
    sink.script("a", [{"status": 500}])
    assert post(sink.hook_url("a")) == 500
    assert post(sink.hook_url("b")) == 200
    assert len(sink.records("a")) == 1
    assert len(sink.records("b")) == 1


def test_retry_after_header(sink: SinkClient) -> None:
    sink.script("r", [{"status": 429, "retryAfter": "2"}])
    request = urllib.request.Request(sink.hook_url("r"), data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.headers["Retry-After"] == "2"


def test_retry_after_as_an_http_date_names_the_first_whole_second_that_far_ahead(sink: SinkClient) -> None:
    sink.script("d", [{"status": 503, "retryAfter": "2", "retryAfterAs": "http-date"}])
    request = urllib.request.Request(sink.hook_url("d"), data=b"", method="POST")
    before = time.time()
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    after = time.time()
    date = email.utils.parsedate_to_datetime(caught.value.headers["Retry-After"]).timestamp()
    assert date.is_integer()
    assert before + 2 <= date < after + 3


def test_a_hang_up_reads_the_request_and_answers_nothing_on_a_listener_of_its_own(sink: SinkClient) -> None:
    """Each connection to that listener serves one request, so no client ever reuses one."""
    url = sink.script("h", [{"hangUp": True, "times": 1}, {"status": 200}])
    assert urllib.parse.urlsplit(url).port != urllib.parse.urlsplit(sink.url).port
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=5)
    connection.request("POST", parts.path, body=b"{}")
    with pytest.raises(http.client.RemoteDisconnected):
        connection.getresponse()
    connection.close()
    answered = http.client.HTTPConnection(parts.netloc, timeout=5)
    answered.request("POST", parts.path, body=b"{}")
    response = answered.getresponse()
    assert (response.status, response.getheader("Connection")) == (200, "close")
    response.read()
    answered.close()
    [hung_up, served] = sink.records("h")
    assert (hung_up["hungUp"], hung_up["status"], hung_up["body"]) == (True, 0, "{}")
    assert hung_up["time"] <= hung_up["ended"] < served["time"]
    assert "hungUp" not in served
    sink.forget("h")
    with pytest.raises(OSError):
        socket.create_connection((parts.hostname, parts.port), timeout=5).close()


def test_waiting_for_records_returns_when_one_arrives(sink: SinkClient) -> None:
    threading.Timer(0.2, post, args=(sink.hook_url("w"),)).start()
    before = time.monotonic()
    records = sink.records("w", at_least=1, wait=10)
    assert len(records) == 1
    assert time.monotonic() - before < 10


def test_a_hanging_answer_is_recorded_when_received(sink: SinkClient) -> None:
    sink.script("slow", [{"status": 200, "delaySeconds": 1.0}])
    sent = time.time()
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        post(sink.hook_url("slow"), timeout=0.2)
    records = sink.records("slow")
    assert len(records) == 1
    assert records[0]["time"] - sent < 0.2


def test_forget_clears_a_path(sink: SinkClient) -> None:
    post(sink.hook_url("f"))
    sink.forget("f")
    assert sink.records("f") == []


def test_a_204_answer_leaves_a_kept_alive_connection_clean(sink: SinkClient) -> None:
    """A body after 204 would be read as the start of the next answer on the same connection."""
    sink.script("ns/kept", [{"status": 204, "times": 1}, {"status": 410}])
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(sink.url).netloc, timeout=5)
    try:
        statuses = []
        for _ in range(2):
            connection.request("POST", "/hooks/ns/kept", body=b"{}")
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
    finally:
        connection.close()
    assert statuses == [204, 410]


def test_an_observer_sees_each_delivery_before_it_is_answered() -> None:
    answered: list[int] = []
    seen: list[tuple[str, int, int]] = []
    server = RecordingSink(observer=lambda path, record: seen.append((path, record["status"], len(answered))))
    server.start()
    try:
        client = SinkClient(server.url)
        client.script("ns/watched", [{"status": 500, "times": 1}, {"status": 200}])
        for _ in range(2):
            answered.append(post(client.hook_url("ns/watched")))
    finally:
        server.stop()
    assert seen == [("ns/watched", 500, 0), ("ns/watched", 200, 1)]
    assert answered == [500, 200]


def test_the_sink_as_a_process_of_its_own_records_and_goes_away(tmp_path: Path) -> None:
    process = SinkProcess("127.0.0.1", tmp_path / "sink.log").start()
    try:
        sink = SinkClient(process.url)
        sink.script("ns/hook", [{"status": 503}])
        before = time.time()
        assert post(sink.hook_url("ns/hook")) == 503
        [record] = sink.records("ns/hook")
        assert before <= record["time"] <= time.time()
    finally:
        process.stop()
    with pytest.raises(urllib.error.URLError):
        post(sink.hook_url("ns/hook"), timeout=1)


def test_a_sink_process_that_cannot_listen_says_why(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match=r"^Cannot assign requested address$"):
        SinkProcess("192.0.2.1", tmp_path / "sink.log").start()


def test_a_request_is_stamped_when_its_first_bytes_arrived(sink: SinkClient) -> None:
    """The kernel's receive time, not the moment a handler thread got round to it."""
    host, port = urllib.parse.urlsplit(sink.url).netloc.split(":")
    with socket.create_connection((host, int(port))) as connection:
        first = time.time()
        connection.sendall(b"POST /hooks/ns/slow HTTP/1.1\r\n")
        time.sleep(0.3)
        connection.sendall(b"Host: sink\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        assert connection.recv(1024).startswith(b"HTTP/1.1 200 ")
    [record] = sink.records("ns/slow", at_least=1, wait=5)
    assert first <= record["time"] < first + 0.1
