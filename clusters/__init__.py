"""Cluster providers: where the suite gets a Kubernetes API server from."""

from __future__ import annotations

from pathlib import Path

from clusters.base import Cluster, ClusterError, ClusterProvider

PROVIDERS = ("local", "existing")


def provider(
    name: str, kubeconfig: Path | None = None, context: str | None = None, workdir: Path | None = None
) -> ClusterProvider:
    if name == "local":
        from clusters.local.controlplane import LocalControlPlane

        return LocalControlPlane(workdir=workdir)
    if name == "existing":
        from clusters.existing import ExistingCluster

        return ExistingCluster(kubeconfig, context)
    raise ClusterError(f"Unknown cluster provider {name!r}; use one of {', '.join(PROVIDERS)}.")


__all__ = ["PROVIDERS", "Cluster", "ClusterError", "ClusterProvider", "provider"]
