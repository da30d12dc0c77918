"""The written contract, the requirement list, the scenarios and the generated catalog agree."""

from __future__ import annotations

import re
from pathlib import Path

from conformance.contract.requirements import FEATURES, REQUIREMENTS
from conformance.reports import catalog
from conformance.scenarios.load import load

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_catalog_is_current() -> None:
    current = catalog.render(load([catalog.SCENARIOS]))
    assert (DOCS / "catalog.md").read_text() == current, (
        "docs/catalog.md is stale: run 'python -m conformance.reports.catalog > docs/catalog.md'"
    )


def test_every_requirement_has_a_test() -> None:
    proving = catalog.tests_by_requirement(load([catalog.SCENARIOS]))
    assert [rid for rid, tests in proving.items() if not tests] == []


def test_at_least_25_conformance_tests() -> None:
    assert len(load([catalog.SCENARIOS])) >= 25


def test_specification_states_every_requirement_and_no_other() -> None:
    text = (DOCS / "specification.md").read_text()
    headings = re.findall(r"^### (NR-[A-Z-]+)", text, flags=re.MULTILINE)
    assert sorted(headings) == sorted(REQUIREMENTS)
    assert set(re.findall(r"NR-[A-Z]+(?:-[A-Z]+)*", text)) <= set(REQUIREMENTS)


def test_extended_requirements_name_their_feature_in_the_specification() -> None:
    text = (DOCS / "specification.md").read_text()
    for requirement in REQUIREMENTS.values():
        assert requirement.feature in FEATURES
        if requirement.feature != "core":
            assert f"### {requirement.id} (feature `{requirement.feature}`)" in text
