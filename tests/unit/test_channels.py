"""The reference controller's reading of Retry-After: whatever a receiver sends, status stays valid."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from reference_controller.channels import MAX_RETRY_AFTER, retry_after_seconds

NOW = datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("99999999", MAX_RETRY_AFTER),
        ("Fri, 15 Jan 2027 08:00:05 GMT", 5.0),
        ("Fri, 15 Jan 2027 07:59:00 GMT", 0.0),
        ("inf", None),
        ("NaN", None),
        ("-1", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    got = retry_after_seconds(header, now=NOW)
    assert got == seconds
    assert got is None or math.isfinite(got)


def test_now_defaults_to_the_clock() -> None:
    assert retry_after_seconds("Thu, 01 Jan 1970 00:00:00 GMT") == 0.0
