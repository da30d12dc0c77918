from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from conformance.contract.tolerances import Tolerances
from conformance.reports import certification


def option(**values: Any) -> SimpleNamespace:
    defaults: dict[str, Any] = {"keyword": "", "markexpr": "", "maxfail": 0, "lf": False, "deselect": None}
    return SimpleNamespace(**{**defaults, **values})


def test_a_plain_run_deviates_in_nothing() -> None:
    assert certification.deviations(option(), Tolerances()) == []


def test_tighter_tolerances_are_allowed() -> None:
    assert certification.deviations(option(), Tolerances(epsilon=0.01, slack=0.5)) == []


@pytest.mark.parametrize(
    ("values", "tolerances", "text"),
    [
        ({"reruns": 2}, Tolerances(), "failed tests are re-run (--reruns 2)"),
        ({"count": 3}, Tolerances(), "every test is repeated (--count 3)"),
        ({"lf": True}, Tolerances(), "only the last run's failures are run (--lf)"),
        ({"failedfirst": True}, Tolerances(), "the last run's failures run first (--ff)"),
        ({"stepwise": True}, Tolerances(), "(--sw)"),
        ({"maxfail": 1}, Tolerances(), "the run stops after 1 failures (-x/--maxfail)"),
        ({"keyword": "backoff"}, Tolerances(), "tests are selected by name (-k 'backoff')"),
        ({"markexpr": "not slow"}, Tolerances(), "tests are selected by marker (-m 'not slow')"),
        ({"deselect": ["a::b"]}, Tolerances(), "tests are deselected (--deselect a::b)"),
        ({}, Tolerances(epsilon=0.2), "lower bounds are loosened: epsilon 200ms is above the certified 50ms"),
        ({}, Tolerances(slack=2.0), "upper bounds are loosened: slack 2000ms is above the certified 750ms"),
    ],
)
def test_each_deviation_is_named(values: dict[str, Any], tolerances: Tolerances, text: str) -> None:
    found = certification.deviations(option(**values), tolerances)
    assert len(found) == 1 and text in found[0]
    sentence = certification.refusal(found)
    assert sentence.startswith("Certification mode refuses this run: ") and sentence.endswith(".")
    assert sentence.count(".") == 1 + text.count(".")


def test_core_scenarios_left_out_are_named() -> None:
    missing = certification.unselected_core(["a", "b", "c", "d", "e", "f", "g"], ["b"])
    assert missing == ["a", "c", "d", "e", "f", "g"]
    assert (
        certification.not_selected_text(missing) == "6 core scenarios were not run: a, c, d, e, f and 1 more"
    )
    assert certification.unselected_core(["a"], ["a", "extra"]) == []


def test_mode_is_a_certification_only_when_nothing_deviated() -> None:
    clean = certification.mode(True, [], ["a", "b"], ["a", "b", "extra"], 0)
    assert clean == {"certification": True, "deviations": [], "reruns": 0}
    assert certification.mode(False, [], ["a"], ["a"], 0)["certification"] is False


def test_an_interrupted_certification_or_a_rerun_is_no_certification() -> None:
    interrupted = certification.mode(True, [], ["a", "b"], ["a"], 0)
    assert interrupted["certification"] is False
    assert interrupted["deviations"] == ["1 core scenarios were not run: b"]
    rerun = certification.mode(True, [], ["a"], ["a"], 2)
    assert rerun["certification"] is False
    assert rerun["deviations"] == ["2 test runs were repeated after failing"]


def test_a_subset_is_named_once() -> None:
    found = [certification.not_selected_text(["b"])]
    assert certification.mode(False, found, ["a", "b"], ["a"], 0)["deviations"] == found
