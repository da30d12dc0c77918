"""The controller's image, as far as it can be checked without a Docker engine: what the
Dockerfile says, and hadolint's verdict on it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    result = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        result.append(Instruction(keyword.upper(), " ".join(arguments.split())))
    return result


def stages(text: str) -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def base_image(text: str) -> str:
    args = {
        name: value
        for name, _, value in (i.arguments.partition("=") for i in instructions(text) if i.keyword == "ARG")
    }
    return args["PYTHON_IMAGE"]


def test_parser_joins_continuations_and_splits_stages() -> None:
    text = "ARG X=1\nFROM a AS b\nRUN one \\\n    two\n# note\nFROM c\nUSER 1\n"
    assert [[i.keyword for i in stage] for stage in stages(text)] == [["FROM", "RUN"], ["FROM", "USER"]]
    assert instructions(text)[2] == Instruction("RUN", "one two")


def test_base_image_is_a_pinned_python_3_11_slim() -> None:
    image = base_image(DOCKERFILE.read_text())
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", image), image
    assert all(stage[0].arguments.split()[0] == "${PYTHON_IMAGE}" for stage in stages(DOCKERFILE.read_text()))


def test_final_stage_runs_as_a_numeric_non_root_user_and_installs_nothing() -> None:
    *build, final = stages(DOCKERFILE.read_text())
    assert build, "wheels are built in a stage of their own"
    users = [i.arguments for i in final if i.keyword == "USER"]
    assert len(users) == 1 and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[0]), users
    after_user = final[[i.keyword for i in final].index("USER") :]
    assert not [i for i in after_user if i.keyword in ("RUN", "ADD", "COPY")], after_user
    runs = [i.arguments for i in final if i.keyword == "RUN"]
    assert runs == [
        "if python -m pip --version >/dev/null 2>&1; then "
        "python -m pip uninstall --yes --no-cache-dir pip setuptools wheel; fi"
    ]
    copies = [i.arguments for i in final if i.keyword == "COPY"]
    assert copies == ["--from=build /opt/controller /opt/controller"]


def test_entrypoint_and_port() -> None:
    final = stages(DOCKERFILE.read_text())[-1]
    entrypoints = [i.arguments for i in final if i.keyword == "ENTRYPOINT"]
    assert entrypoints == ['["python", "-m", "reference_controller"]']  # exec form: no shell
    assert [i.arguments for i in final if i.keyword == "EXPOSE"] == ["8080"]


def test_image_requirements_match_the_project_dependencies() -> None:
    """The image installs the controller's runtime dependencies with the bounds pyproject.toml gives."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = (REPO / "deploy" / "requirements.txt").read_text().splitlines()
    required = [line for line in lines if line.strip() and not line.startswith("#")]
    assert required and set(required) <= set(project), (required, project)


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("hadolint is not installed; run 'make venv' (it comes with the dev extra).")
    return found


def test_hadolint_passes_the_dockerfile() -> None:
    result = subprocess.run([hadolint(), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_refuses_a_dockerfile_that_runs_as_root_from_an_unpinned_image(tmp_path: Path) -> None:
    """hadolint really judges: the same checks fail on a careless Dockerfile."""
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nUSER root\nRUN pip install kubernetes\n")
    result = subprocess.run([hadolint(), str(careless)], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert {"DL3007", "DL3002", "DL3013"} <= set(re.findall(r"DL\d{4}", result.stdout)), result.stdout


def requirement_closure(names: list[str]) -> set[str]:
    """The distributions ``names`` pull in, whatever their markers say (an over-approximation)."""
    import importlib.metadata

    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        todo += [re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0] for r in requires if "extra ==" not in r]
    return seen


IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
import reference_controller
for module in pkgutil.walk_packages(reference_controller.__path__, "reference_controller."):
    importlib.import_module(module.name)
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_image_holds_everything_the_controller_imports() -> None:
    """Every module the controller's code imports is the standard library's, its own, or comes with
    deploy/requirements.txt: nothing it needs is left out of the image (pytest, jinja2 and the
    suite's own packages are not installed there)."""
    import importlib.metadata
    import json

    lines = (REPO / "deploy" / "requirements.txt").read_text().splitlines()
    names = [re.split(r"[<>=!~ ]", line, maxsplit=1)[0] for line in lines if line.strip() and line[0] != "#"]
    allowed = requirement_closure(names)
    imported = json.loads(
        subprocess.run(
            [sys.executable, "-c", IMPORT_EVERYTHING], capture_output=True, text=True, check=True, cwd=REPO
        ).stdout
    )
    owners = importlib.metadata.packages_distributions()
    outside = {
        module: owners.get(module, ["?"])
        for module in imported
        if module not in sys.stdlib_module_names
        and module not in ("reference_controller", "cython_runtime")  # the latter: made by compiled modules
        and not module.startswith("_")
        and not any(re.sub(r"[-_.]+", "-", d).lower() in allowed for d in owners.get(module, []))
    }
    assert not outside, f"imported by the controller but not installed in the image: {outside}"


def test_the_build_context_keeps_what_the_dockerfile_copies() -> None:
    """.dockerignore leaves out everything but what the build stage copies (the offline build's
    wheels included)."""
    kept = {
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copied = {
        re.sub(r"\[(.)\]", r"\1", source).rstrip("/")  # deploy/wheel[s]: copied when present
        for i in instructions(DOCKERFILE.read_text())
        if i.keyword == "COPY" and not i.arguments.startswith("--from")
        for source in i.arguments.split()[:-1]
    }
    assert copied == kept


def test_the_base_is_a_build_argument_and_the_offline_build_needs_no_index() -> None:
    """Both stages start from the PYTHON_IMAGE argument, and the build stage takes pip's
    offline settings as arguments (so a Debian base and a wheelhouse replace the registries)."""
    text = DOCKERFILE.read_text()
    build = stages(text)[0]
    args = [i.arguments for i in build if i.keyword == "ARG"]
    assert args == ["PIP_NO_INDEX", "PIP_FIND_LINKS"]
    first_copy = next(i.arguments for i in build if i.keyword == "COPY")
    assert first_copy == "deploy/requirements.txt deploy/wheel[s] deploy/"
    installs = [i.arguments for i in build if i.keyword == "RUN" and "pip install" in i.arguments]
    assert len(installs) == 2 and "--requirement deploy/requirements.txt" in installs[0], installs
    assert "--no-deps /wheels/notification_conformance-" in installs[1], installs
