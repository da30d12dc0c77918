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
    # An address of this machine that the cluster's pods reach (where the suite's sink must
    # listen when the controller runs in a pod); None when the controller runs here.
    host_address: str | None = None


class ClusterProvider(Protocol):
    name: str

    def start(self) -> Cluster: ...

    def stop(self) -> None: ...
