"""Part 5: the project's own tests as ``make test`` runs them (``pytest tests`` with its
workers): wall time, pytest's own duration, and how many tests ran and passed."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 300.0


def command(workers: int, junit: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "tests",
        "-n",
        str(workers),
        "--dist",
        "worksteal",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
    ]


VIOLATIONS_KEPT = 6
"""Lines of each failure kept: what a violation says is in its first ones."""


def counts(junit: Path) -> dict[str, Any]:
    """Tests, failures, errors and skips, summed over the JUnit file's test suites, which tests
    failed and why: the contract's violations their output names, else their failure's message."""
    root = ElementTree.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = {
        key: sum(int(s.get(key, 0)) for s in suites) for key in ("tests", "failures", "errors", "skipped")
    }
    failed, why = [], {}
    for case in root.iter("testcase"):
        problem = case.find("failure")
        problem = problem if problem is not None else case.find("error")
        if problem is None:
            continue
        name = f"{case.get('classname')}::{case.get('name')}"
        failed.append(name)
        text = problem.text or problem.get("message") or ""
        violations = [re.sub(r"^E\s+", "", line.strip()) for line in text.splitlines() if "[NR-" in line]
        kept = list(dict.fromkeys(violations)) or [(problem.get("message") or "").split("\n")[0]]
        why[name] = kept[:VIOLATIONS_KEPT]
    seconds = round(sum(float(s.get("time", 0)) for s in suites), 1)
    return {**total, "pytestSeconds": seconds, "failed": failed, "why": why}


def measure(workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="nc-bench-tests-") as directory:
        junit = Path(directory) / "junit.xml"
        argv = command(workers, junit)
        started = time.monotonic()
        completed = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        wall = time.monotonic() - started
        found = counts(junit) if junit.exists() else {}
    return {
        "command": " ".join(["pytest", *argv[3:-1]]),
        "workers": workers,
        "returncode": completed.returncode,
        "wallSeconds": round(wall, 1),
        "targetSeconds": TARGET_SECONDS,
        **found,
        "tail": completed.stdout.strip().splitlines()[-1:] if completed.returncode else [],
    }
