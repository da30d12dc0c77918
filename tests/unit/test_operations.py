"""Pure parts of running the reference controller: Lease decisions, bind addresses, Event texts."""

from __future__ import annotations

import pytest

from reference_controller.endpoints import BindAddressError, parse_bind_address
from reference_controller.events import event_name, phase_message
from reference_controller.leaderelection import Timing, claimed, may_take

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("holder", "unchanged_for", "allowed"),
    [
        (None, 0.0, True),  # a new Lease
        ("", 0.0, True),  # released by its last holder
        ("me", 0.0, True),  # renewing
        ("other", 14.9, False),  # another leader, still renewing as far as we can tell
        ("other", 15.0, True),  # its record has not changed for a whole lease duration
    ],
)
def test_may_take(holder: str | None, unchanged_for: float, allowed: bool) -> None:
    spec = {"holderIdentity": holder} if holder is not None else {}
    assert may_take(spec, "me", unchanged_for, 15.0) is allowed


def test_claimed_counts_transitions_and_keeps_the_acquire_time_while_renewing() -> None:
    taken = claimed({"holderIdentity": "other", "leaseTransitions": 4}, "me", NOW, 15)
    assert taken["holderIdentity"] == "me" and taken["leaseTransitions"] == 5
    assert taken["acquireTime"] == taken["renewTime"] == "2027-01-15T08:00:00.000000Z"
    renewed = claimed(taken, "me", NOW + 2, 15)
    assert renewed["leaseTransitions"] == 5 and renewed["acquireTime"] == taken["acquireTime"]
    assert renewed["renewTime"] == "2027-01-15T08:00:02.000000Z" and renewed["leaseDurationSeconds"] == 15


@pytest.mark.parametrize("timing", [Timing(10, 10, 2), Timing(15, 10, 10), Timing(15, 10, 0)])
def test_timing_must_leave_room_to_renew(timing: Timing) -> None:
    with pytest.raises(ValueError, match="lease duration > renew deadline > retry period"):
        timing.check()


@pytest.mark.parametrize(
    ("text", "address"),
    [(":8080", ("", 8080)), ("127.0.0.1:0", ("127.0.0.1", 0)), ("[::1]:9090", ("::1", 9090)), ("0", None)],
)
def test_bind_addresses(text: str, address: tuple[str, int] | None) -> None:
    assert parse_bind_address(text) == address


@pytest.mark.parametrize("text", ["8080", "localhost", ":http", ":70000", ""])
def test_bad_bind_addresses(text: str) -> None:
    with pytest.raises(BindAddressError, match="is not HOST:PORT, :PORT or 0"):
        parse_bind_address(text)


def test_one_event_name_per_notification_and_phase() -> None:
    obj = {"metadata": {"name": "n" * 250 + "-x", "uid": "0123456789abcdef"}}
    name = event_name(obj, "PartiallySent")
    assert name.endswith(".01234567.partiallysent") and len(name) <= 253
    obj = {"metadata": {"name": "a-" * 100 + "b", "uid": "0123456789abcdef"}}
    assert ".." not in event_name(obj, "Sent") and "-." not in event_name(obj, "Sent")


def test_phase_message_says_where_each_channel_stands() -> None:
    status = {
        "phase": "Retrying",
        "channels": [
            {"name": "hook", "state": "Retrying", "attempts": 1, "nextAttemptTime": "2027-01-15T08:00:02Z"},
            {"name": "log", "state": "Delivered", "attempts": 1},
        ],
        "deliveryAttempts": [
            {"channel": "hook", "attempt": 1, "error": "POST http://x/: HTTP 503"},
            {"channel": "log", "attempt": 1},
        ],
    }
    assert phase_message(status) == (
        "Retrying: hook retrying after 1 attempt(s), next at 2027-01-15T08:00:02Z "
        "(POST http://x/: HTTP 503); log delivered after 1 attempt(s)"
    )
