from __future__ import annotations

from pathlib import Path

import pytest

from conformance.reports import implementation

REPO = Path(__file__).resolve().parents[2]


def test_the_reference_controllers_description_lacks_only_its_version() -> None:
    described = implementation.load(REPO / "reference_controller" / "implementation.yaml")
    assert implementation.missing(described) == ["version"]
    with_version = implementation.load(REPO / "reference_controller" / "implementation.yaml", "0123abc")
    assert implementation.missing(with_version) == []
    assert with_version["version"] == "0123abc"


def test_no_file_and_no_version_describes_nothing() -> None:
    assert implementation.load(None) == {}
    assert implementation.missing({}) == list(implementation.FIELDS)


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("- a\n", "must be a mapping of organization, project, url, version, contact"),
        ("owner: me\n", "has unknown fields ['owner']"),
        ("project: ''\n", "The implementation's project must be non-empty text."),
        ("version: 1.2\n", "The implementation's version must be non-empty text."),
        ("project: [a\n", "Cannot read the implementation file"),
    ],
)
def test_a_bad_file_is_one_sentence(tmp_path: Path, text: str, sentence: str) -> None:
    path = tmp_path / "implementation.yaml"
    path.write_text(text)
    with pytest.raises(implementation.ImplementationError) as raised:
        implementation.load(path)
    assert sentence in str(raised.value)
