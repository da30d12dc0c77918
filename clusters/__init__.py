"""Cluster providers: where the suite gets a Kubernetes API server from."""

from __future__ import annotations

from pathlib import Path

from clusters.base import Cluster, ClusterError, ClusterProvider

PROVIDERS = ("local", "existing", "kind")


def provider(
    name: str,
    kubeconfig: Path | None = None,
    context: str | None = None,
    workdir: Path | None = None,
    shared: Path | None = None,
) -> ClusterProvider:
    """``shared``: this machine's folder that a controller running in the cluster must see too."""
    if name == "local":
        from clusters.local.controlplane import LocalControlPlane

        return LocalControlPlane(workdir=workdir)
    if name == "existing":
        from clusters.existing import ExistingCluster

        return ExistingCluster(kubeconfig, context)
    if name == "kind":
        from clusters.kind import KindCluster

        if workdir is None or shared is None:
            raise ClusterError("The kind cluster needs a folder of its own and the run's shared folder.")
        return KindCluster(workdir, shared)
    raise ClusterError(f"Unknown cluster provider {name!r}; use one of {', '.join(PROVIDERS)}.")


__all__ = ["PROVIDERS", "Cluster", "ClusterError", "ClusterProvider", "provider"]
