"""The reference controller's image from deploy/Dockerfile on the Debian base, with no index:
the wheels it installs are fetched on this machine first (from PyPI, once, cached) and handed
to the build in its context, which runs without a network."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from clusters.kind.images import base, engine_cli
from clusters.local import assets

REPO = Path(__file__).resolve().parents[3]
IMAGE = "notification-conformance/reference-controller:dev"
BUILD_REQUIREMENTS = ("setuptools>=69",)
"""What pip needs besides deploy/requirements.txt to build the controller's own wheel."""
PYTHON_VERSION = "3.11"
"""Debian bookworm's python3: the wheels must fit it, whatever Python runs this module."""
CONTEXT = (
    "pyproject.toml",
    "README.md",
    "deploy/requirements.txt",
    "deploy/Dockerfile",
    "reference_controller",
)


def wheelhouse(log: Callable[[str], None]) -> Path:
    """Wheels for deploy/requirements.txt and the build backend, downloaded once per requirement set."""
    requirements = (REPO / "deploy" / "requirements.txt").read_text()
    key = hashlib.sha256(
        (requirements + "\n".join(BUILD_REQUIREMENTS) + PYTHON_VERSION).encode()
    ).hexdigest()[:12]
    folder = base.images_cache() / f"wheels-{key}"
    if folder.is_dir():
        return folder
    staged = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staged, ignore_errors=True)
    log("downloading the controller's wheels (once)")
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--only-binary=:all:",
                f"--python-version={PYTHON_VERSION}",
                "--implementation=cp",
                "--platform=manylinux2014_x86_64",
                f"--dest={staged}",
                "--requirement",
                str(REPO / "deploy" / "requirements.txt"),
                *BUILD_REQUIREMENTS,
            ],
            check=True,
        )
    except subprocess.CalledProcessError as err:
        raise assets.AssetsError(
            f"Downloading the controller's wheels failed: pip exited {err.returncode}."
        ) from err
    staged.rename(folder)
    return folder


def build(log: Callable[[str], None], image: str = IMAGE) -> str:
    """Build ``image`` from deploy/Dockerfile on the Debian base; the engine's cache makes a
    rebuild of unchanged sources take seconds."""
    python_image = base.ensure_image(base.BASE, log)
    wheels = wheelhouse(log)
    with tempfile.TemporaryDirectory(prefix="nc-controller-image-") as folder:
        context = Path(folder)
        for name in CONTEXT:
            source, target = REPO / name, context / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target)
        shutil.copytree(wheels, context / "deploy" / "wheels")
        log(f"building {image} on {python_image}")
        engine_cli.docker(
            "build",
            "--network=none",
            "--quiet",
            "-f",
            str(context / "deploy" / "Dockerfile"),
            "--build-arg",
            f"PYTHON_IMAGE={python_image}",
            "--build-arg",
            "PIP_NO_INDEX=1",
            "--build-arg",
            "PIP_FIND_LINKS=/src/deploy",
            "-t",
            image,
            str(context),
        )
    return image
