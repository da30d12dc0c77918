"""What every test process needs to know about the run, passed from the process
that set the run up to pytest-xdist workers as plain JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from conformance.tolerances import Tolerances


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
    controller_pid: int | None
    tolerances: Tolerances = field(default_factory=Tolerances)
    keep_on_failure: bool = False

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

    def controller_alive(self) -> bool:
        if self.controller_pid is None:
            return True
        try:
            state = Path(f"/proc/{self.controller_pid}/stat").read_text().split(") ", 1)[1][0]
        except (FileNotFoundError, IndexError):
            return False
        except OSError:
            return True
        return state not in "ZX"  # an exited child waits as a zombie until reaped
