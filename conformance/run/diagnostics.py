"""What a failed scenario is reported with, besides its violations: what each observer
kept, the namespace's events, the controller's log lines about the scenario, and whether
the controller is still running."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from kubernetes import client
from kubernetes.client.exceptions import ApiException


class Diagnosable(Protocol):
    def diagnostics(self) -> dict[str, str]: ...


def gather(
    core: client.CoreV1Api,
    namespace: str,
    workpath: Path,
    controller_alive: bool,
    status: Diagnosable,
    others: list[Diagnosable],
) -> dict[str, str]:
    """``status`` comes first (the object as last seen), then the events, then ``others``."""
    found = dict(status.diagnostics())
    try:
        events = core.list_namespaced_event(namespace).items
    except ApiException:
        events = []
    found["events"] = "\n".join(f"{e.type} {e.reason}: {e.message}" for e in events) or "(no events)"
    for other in others:
        found.update(other.diagnostics())
    lines = [
        line
        for log in sorted(workpath.glob("controller*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if namespace in line
    ]
    if lines or (workpath / "controller.log").exists():
        found["controller log (lines naming this scenario's namespace, last 20)"] = (
            "\n".join(lines[-20:]) or "(none)"
        )
    if not controller_alive:
        found["controller"] = "the controller process has exited"
    return found
