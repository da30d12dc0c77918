"""The docker client as the image builds use it: one sentence on failure."""

from __future__ import annotations

import subprocess

from clusters.local.assets import AssetsError


def docker(*args: str, stdin: int | None = subprocess.DEVNULL) -> str:
    completed = subprocess.run(["docker", *args], stdin=stdin, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        lines = (completed.stderr or completed.stdout).strip().splitlines()
        raise AssetsError(
            f"'docker {' '.join(args[:3])}' failed: {lines[-1] if lines else completed.returncode}."
        )
    return completed.stdout


def has_image(tag: str) -> bool:
    completed = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", tag],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    return completed.returncode == 0
