"""Deliveries are files that land under their final names, whatever the temporary names were."""

from __future__ import annotations

from conformance.observers.landings import (
    CLOSED,
    CLOSED_UNWRITTEN,
    MOVED_IN,
    MOVED_OUT,
    OPENED,
    REMOVED,
    Landings,
)

FINAL = "ns.notification.archive.json"


def fed(*events: tuple[str, str, float]) -> list[float]:
    landings = Landings()
    for event, name, at in events:
        landings.feed(event, name, at)
    return landings.times()


def temp_then_rename(temp: str, at: float) -> list[tuple[str, str, float]]:
    return [
        (OPENED, temp, at),
        (CLOSED, temp, at + 0.001),
        (MOVED_OUT, temp, at + 0.002),
        (MOVED_IN, FINAL, at + 0.002),
    ]


def test_a_temporary_file_renamed_into_place_is_one_delivery_dated_by_the_rename() -> None:
    assert fed(*temp_then_rename(f"{FINAL}.4242.1.tmp", 10.0)) == [10.002]


def test_each_rename_into_place_is_a_delivery_even_when_it_replaces_the_last() -> None:
    events = temp_then_rename(f"{FINAL}.tmp123", 10.0) + temp_then_rename(f".{FINAL}.456", 12.0)
    assert fed(*events) == [10.002, 12.002]


def test_writing_the_final_name_in_place_is_a_delivery_each_time() -> None:
    events = [(OPENED, FINAL, 1.0), (CLOSED, FINAL, 1.1), (OPENED, FINAL, 3.0), (CLOSED, FINAL, 3.1)]
    assert fed(*events) == [1.1, 3.1]


def test_a_file_renamed_while_open_arrives_once() -> None:
    """NamedTemporaryFile + os.replace inside the with block: the close comes under the final name."""
    temp = "tmpab12cd"
    events = [(OPENED, temp, 1.0), (MOVED_OUT, temp, 1.2), (MOVED_IN, FINAL, 1.2), (CLOSED, FINAL, 1.3)]
    assert fed(*events) == [1.2]


def test_a_temporary_file_that_disappears_is_no_delivery() -> None:
    removed = [(OPENED, "x.tmp", 1.0), (CLOSED, "x.tmp", 1.1), (REMOVED, "x.tmp", 1.2)]
    renamed_away = [(OPENED, "y.tmp", 2.0), (CLOSED, "y.tmp", 2.1), (MOVED_OUT, "y.tmp", 2.2)]
    assert fed(*removed, *renamed_away) == []


def test_reading_a_delivered_file_is_no_delivery() -> None:
    events = [*temp_then_rename("t", 1.0), (OPENED, FINAL, 2.0), (CLOSED_UNWRITTEN, FINAL, 2.1)]
    assert fed(*events) == [1.002]


def test_a_file_moved_in_from_elsewhere_is_a_delivery() -> None:
    assert fed((MOVED_IN, FINAL, 5.0)) == [5.0]
