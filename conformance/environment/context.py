"""What every test process needs to know about the run, passed from the process
that set the run up to pytest-xdist workers as plain JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from conformance.contract.tolerances import Tolerances


@dataclass(frozen=True)
class RunContext:
    kubeconfig: str
    kube_context: str | None
    cluster_provider: str
    kubernetes_version: str
    sink_url: str
    binding: str
    workdir: str
    console_log: str | None
    controller: str
    control_url: str
    tolerances: Tolerances = field(default_factory=Tolerances)
    keep_on_failure: bool = False
    controller_user: str | None = None
    """The unprivileged user the suite runs the controller as, if any."""
    restartable: bool = True
    """Whether disruptive tests can restart the controller (see conformance.environment.launch)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunContext:
        data = json.loads(text)
        data["tolerances"] = Tolerances(**data["tolerances"])
        return cls(**data)

    @property
    def workpath(self) -> Path:
        return Path(self.workdir)
