"""The Broadcast controller's command line: a configuration it cannot load is one sentence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import REPO


def test_a_missing_kubeconfig_is_one_sentence(tmp_path: Path) -> None:
    missing = tmp_path / "kubeconfig"
    done = subprocess.run(
        [sys.executable, "-m", "examples.strict_controller", "--kubeconfig", str(missing)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: cannot load the Kubernetes configuration from {missing}: "), line
