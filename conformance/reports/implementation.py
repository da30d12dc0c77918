"""Who made the controller under test: the part of the report a certifier signs.

Read from a YAML file (``--nc-implementation``) so that a team checks its
description in next to its binding; the version usually comes from CI
(``--nc-implementation-version``), as a tag or a commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

FIELDS = ("organization", "project", "url", "version", "contact")
OPTIONAL = ("description",)


class ImplementationError(ValueError):
    """The implementation file is unusable; the message is one sentence."""


def load(path: Path | None, version: str | None = None) -> dict[str, str]:
    """The implementation's description; ``version`` overrides the file's."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as err:
            raise ImplementationError(f"Cannot read the implementation file {path}: {err}") from err
        if not isinstance(loaded, dict):
            raise ImplementationError(
                f"The implementation file {path} must be a mapping of {', '.join(FIELDS)}."
            )
        unknown = sorted(set(loaded) - set(FIELDS) - set(OPTIONAL))
        if unknown:
            raise ImplementationError(
                f"The implementation file {path} has unknown fields {unknown}; use {', '.join(FIELDS)}."
            )
        data = loaded
    if version:
        data = {**data, "version": version}
    wrong = sorted(key for key, value in data.items() if not isinstance(value, str) or not value.strip())
    if wrong:
        raise ImplementationError(f"The implementation's {', '.join(wrong)} must be non-empty text.")
    return {key: str(data[key]).strip() for key in (*FIELDS, *OPTIONAL) if key in data}


def missing(implementation: dict[str, str]) -> list[str]:
    return [key for key in FIELDS if key not in implementation]
