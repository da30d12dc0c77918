"""What counts as a console delivery: a stdout line holding the notification's subject and body."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from conformance.observers.console import ConsoleLog, is_delivery

SUBJECT = "console-delivers [nc-console-delivers-abc123]"
BODY = 'A single console channel is delivered exactly once and the notification ends "Sent".'


def test_the_reference_and_the_alert_controllers_lines_are_deliveries() -> None:
    reference = {
        "delivery": "console",
        "notification": "ns/n",
        "channel": "only",
        "subject": SUBJECT,
        "body": BODY,
    }
    alert = {"alert": "ns/n", "receiver": "only", "try": 1, "summary": SUBJECT, "details": BODY}
    assert is_delivery(json.dumps(reference), SUBJECT, BODY)
    assert is_delivery(json.dumps(alert), SUBJECT, BODY)
    assert is_delivery(f"{SUBJECT}: {BODY}", SUBJECT, BODY)


def test_a_log_line_naming_the_subject_alone_is_no_delivery() -> None:
    assert not is_delivery(f"attempt 1 on only for {SUBJECT}: delivered", SUBJECT, BODY)
    assert not is_delivery(json.dumps({"msg": "delivery attempt", "subject": SUBJECT}), SUBJECT, BODY)


def test_only_delivery_lines_are_counted(tmp_path: Path) -> None:
    log = ConsoleLog(tmp_path / "console.jsonl").open()
    log.append(f"INFO reconciling {SUBJECT}")
    log.append(json.dumps({"subject": SUBJECT, "body": BODY}))
    log.append(json.dumps({"subject": "other [nc-other]", "body": BODY}))
    log.close()
    assert [line for _, line in log.deliveries(SUBJECT, BODY)] == [
        json.dumps({"subject": SUBJECT, "body": BODY})
    ]
    assert len(log.lines()) == 3


def test_a_reader_of_the_log_learns_when_a_line_arrived_also_from_another_process(tmp_path: Path) -> None:
    """The writer's own instance is woken by each line; a reader (another instance, as in another
    process) finds it on its next read, with the time the writer stamped."""
    writer = ConsoleLog(tmp_path / "console.jsonl").open()
    reader = ConsoleLog(tmp_path / "console.jsonl")
    writer.append("an earlier line")
    later = threading.Timer(0.2, writer.append, ["probe [ns/restart-probe] delivered"])
    later.start()
    try:
        arrived = reader.arrival("probe [ns/restart-probe]", timeout=5)
        assert arrived is not None
        [(stamp, _)] = writer.lines_with("probe [ns/restart-probe]")
        assert arrived == stamp
        assert writer.arrival("probe [ns/restart-probe]", timeout=0) == stamp
        assert reader.arrival("never printed", timeout=0.1) is None
    finally:
        later.cancel()
        writer.close()


def test_a_line_still_being_written_is_read_once_it_is_complete(tmp_path: Path) -> None:
    path = tmp_path / "console.jsonl"
    whole = json.dumps({"time": 1.5, "line": "first"}) + "\n"
    partial = json.dumps({"time": 2.5, "line": "second [ns/n]"})
    path.write_text(whole + partial[:10])
    log = ConsoleLog(path)
    assert log.lines() == [(1.5, "first")]
    assert log.arrival("second [ns/n]", timeout=0) is None
    path.write_text(whole + partial + "\n")
    assert log.lines() == [(1.5, "first"), (2.5, "second [ns/n]")]
    assert log.arrival("second [ns/n]", timeout=0) == 2.5
