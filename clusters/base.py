"""What every cluster provider hands the suite: a kubeconfig that works."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class ClusterError(RuntimeError):
    """A cluster could not be had; the message is one sentence for the user."""


@dataclass(frozen=True)
class Cluster:
    kubeconfig: Path
    context: str | None
    server: str
    provider: str


class ClusterProvider(Protocol):
    name: str

    def start(self) -> Cluster: ...

    def stop(self) -> None: ...
