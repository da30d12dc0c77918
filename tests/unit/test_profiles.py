"""Profiles under a binding's limits: not applicable is never a failure, a refusal is the binding's error,
and a feature checked inside other tests still gets its result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.reports import document, html_page, profiles
from conformance.reports.profiles import CORE_REQUIREMENTS, MIN_CORE_SCENARIOS


def core_test(
    name: str, outcome: str = "passed", requirements: tuple[str, ...] = (), **extra: Any
) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "features": ["core"],
        "scenario": name,
        "requirements": list(requirements),
        **extra,
    }


def proving_everything(count: int) -> dict[str, dict[str, Any]]:
    return {f"t[{i}]": core_test(f"s{i}", requirements=CORE_REQUIREMENTS) for i in range(count)}


NOT_APPLICABLE = core_test(
    "hooked", "skipped", notApplicable="channel 'hook' is a webhook channel, which ..."
)


def test_not_applicable_scenarios_leave_core_a_success_while_the_rest_prove_every_requirement() -> None:
    tests = {**proving_everything(MIN_CORE_SCENARIOS), "t[hooked]": NOT_APPLICABLE}
    assert profiles.core_result(tests) == "success"
    assert profiles.coverage(tests) == {
        "applicable": MIN_CORE_SCENARIOS,
        "notApplicable": 1,
        "passed": MIN_CORE_SCENARIOS,
        "needed": MIN_CORE_SCENARIOS,
        "unprovedRequirements": [],
    }


def test_too_few_applicable_scenarios_or_an_unproved_requirement_make_core_partial_never_failure() -> None:
    few = {**proving_everything(MIN_CORE_SCENARIOS - 1), "t[hooked]": NOT_APPLICABLE}
    assert profiles.core_result(few) == "partial"
    unproved = {
        **{f"t[{i}]": core_test(f"s{i}", requirements=CORE_REQUIREMENTS[1:]) for i in range(20)},
        "t[hooked]": NOT_APPLICABLE,
    }
    assert profiles.core_result(unproved) == "partial"
    assert profiles.coverage(unproved)["unprovedRequirements"] == [CORE_REQUIREMENTS[0]]
    assert profiles.core_result({"t[hooked]": NOT_APPLICABLE}) == "partial"


def test_without_not_applicable_scenarios_core_is_judged_as_before() -> None:
    assert profiles.core_result({"t[a]": core_test("a")}) == "success"
    assert profiles.core_result({"t[a]": core_test("a"), "t[b]": core_test("b", "skipped")}) == "partial"
    assert profiles.core_result({"t[a]": core_test("a"), "t[b]": core_test("b", "failed")}) == "failure"


def test_a_refused_scenario_is_an_error_of_the_binding_not_a_failure_of_the_controller() -> None:
    refused = core_test("long", "failed", bindingError=True, message="Binding x's limits declare ...")
    tests = {"t[a]": core_test("a"), "t[long]": refused}
    built = document.build(None, [], tests, 0.0, 1.0, {}, binding={"path": "b", "features": ["core"]})
    assert (built["result"], built["profiles"]["core"]) == ("partial", "partial")
    assert built["statistics"]["failed"] == 0 and built["statistics"]["bindingErrors"] == 1
    assert built["failed"] == []
    assert built["bindingErrors"] == [
        {"test": "t[long]", "scenario": "long", "message": "Binding x's limits declare ..."}
    ]
    document.validate(built)


def test_a_claimed_feature_without_tests_of_its_own_is_judged_by_its_checks_in_other_tests() -> None:
    batched = ("NR-BATCHED-WRITES",)
    tests = {"t[a]": core_test("a", requirements=batched), "t[b]": core_test("b", "failed", batched)}
    results: list[dict[str, Any]] = [
        {"scenario": "a", "violations": []},
        {"scenario": "b", "violations": [{"requirement": "NR-BACKOFF-LOWER", "message": "early"}]},
    ]
    claimed = ["core", "batched-status"]
    assert profiles.profiles(tests, results, claimed)["batched-status"] == "success"
    results[0]["violations"] = [{"requirement": "NR-BATCHED-WRITES", "message": "two writes"}]
    assert profiles.profiles(tests, results, claimed)["batched-status"] == "failure"
    assert profiles.profiles(tests, results, ["core"])["batched-status"] == "not claimed"


def test_a_run_refused_before_it_started_still_has_a_valid_report_that_says_why(tmp_path: Path) -> None:
    built = document.build(None, [], {}, 0.0, 1.0, {}, refused="Binding x lacks the field 'plural'.")
    document.write(built, tmp_path)
    loaded = document.load(tmp_path / document.FILENAME)
    assert (loaded["result"], loaded["refused"]) == ("failure", "Binding x lacks the field 'plural'.")


def test_the_page_says_why_a_run_was_refused_and_lists_the_bindings_errors_and_time_factors() -> None:
    refused = document.build(None, [], {}, 0.0, 1.0, {}, refused="Binding x lacks the field 'plural'.")
    assert "The run was refused before any test started:</strong> Binding x lacks the field" in (
        html_page.render(refused)
    )
    error = core_test("long", "failed", bindingError=True, message="the API server refuses it")
    scaled = {
        "scenario": "a",
        "passed": True,
        "violations": [],
        "timeline": [],
        "timeFactor": 30,
        "slow": True,
    }
    built = document.build(None, [scaled], {"t[a]": core_test("a"), "t[long]": error}, 0.0, 1.0, {})
    page = html_page.render(built)
    assert "Errors of the binding" in page and "the API server refuses it" in page
    assert "time factor 30, slow" in page
    assert "1 errors of the binding" in page
