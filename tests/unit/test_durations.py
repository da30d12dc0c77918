from __future__ import annotations

import pytest

from conformance.contract import durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90.0), ("250ms", 0.25), ("1m30s", 90.0), ("1.5s", 1.5), ("2h", 7200.0), ("1us", 1e-6)],
)
def test_parses_durations(text: str, seconds: float) -> None:
    assert durations.parse(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "5 s", "1x", "s", "1s2"])
def test_rejects_non_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        durations.parse(text)


def test_bare_numbers_need_a_unit() -> None:
    with pytest.raises(ValueError, match="needs a unit"):
        durations.parse(3)
