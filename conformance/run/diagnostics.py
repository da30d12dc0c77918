"""What a failed scenario is reported with, besides its violations: what each observer
kept, the namespace's events, the controller's log lines about the scenario, and whether
the controller is still running."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from kubernetes.client.exceptions import ApiException

from conformance.kube import CoreApi


class Diagnosable(Protocol):
    def diagnostics(self) -> dict[str, str]: ...


def gather(
    core: CoreApi,
    namespace: str,
    workpath: Path,
    controller_alive: bool,
    status: Diagnosable,
    others: list[Diagnosable],
) -> dict[str, str]:
    """``status`` comes first (the object as last seen), then the events, then ``others``."""
    found = dict(status.diagnostics())
    try:
        events = core.events(namespace)
    except ApiException:
        events = []
    described = (f"{e.get('type')} {e.get('reason')}: {e.get('message')}" for e in events)
    found["events"] = "\n".join(described) or "(no events)"
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
