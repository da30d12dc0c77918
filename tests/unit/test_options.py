"""The one option table against what is written elsewhere: the README's option table
names every option with its default, and the command offers exactly the flagged ones."""

from __future__ import annotations

import re
from pathlib import Path

from conformance import cli
from conformance.environment.settings import OPTIONS, PACKAGE_ROOT

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_options() -> dict[str, str]:
    """``--nc-NAME`` -> the default column, from the README's option table."""
    text = README.read_text()
    table = text[text.index("| option | default | |") :].split("\n\n", 1)[0]
    found = {}
    for row in table.splitlines()[2:]:
        first, default = row.split(" | ")[:2]
        for name in re.findall(r"`(--nc-[a-z-]+)`", first):
            found[name] = default
    return found


def test_the_readme_names_every_option_and_no_other() -> None:
    assert sorted(readme_options()) == sorted(f"--nc-{o.name}" for o in OPTIONS)


def test_the_readme_states_each_options_default() -> None:
    documented = readme_options()
    for option in OPTIONS:
        default = option.default
        if not default:
            continue
        shown = str(Path(default).relative_to(PACKAGE_ROOT)) if default.startswith("/") else default
        assert shown in documented[f"--nc-{option.name}"], option.name


def test_the_command_offers_the_flagged_options() -> None:
    run = cli.parser().parse_args(["run"])
    certify = cli.parser().parse_args(["certify", "--implementation", "i.yaml"])
    flagged = {o.dest for o in OPTIONS if o.flag is not None}
    assert flagged <= set(vars(run))
    assert {o.dest for o in OPTIONS if o.flag is not None and o.flag.certify} <= set(vars(certify))
    assert not {o.dest for o in OPTIONS if o.flag is not None and not o.flag.certify} & set(vars(certify))
