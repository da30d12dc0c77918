"""Any cluster a kubeconfig points at."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client, config

from clusters.base import Cluster, ClusterError


class ExistingCluster:
    name = "existing"

    def __init__(self, kubeconfig: Path | None, context: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.context = context

    def start(self) -> Cluster:
        path = self.kubeconfig or Path(config.KUBE_CONFIG_DEFAULT_LOCATION).expanduser()
        try:
            api_client = config.new_client_from_config(config_file=str(path), context=self.context)
        except (config.ConfigException, OSError) as err:
            raise ClusterError(f"Cannot use kubeconfig {path}: {str(err).rstrip('.')}.") from err
        try:
            client.VersionApi(api_client).get_code(_request_timeout=10)
        except Exception as err:
            reason = str(err).strip().splitlines()[0].rstrip(".") if str(err).strip() else type(err).__name__
            raise ClusterError(
                f"Cannot reach the API server {api_client.configuration.host} named in {path}: {reason}."
            ) from err
        return Cluster(path, self.context, api_client.configuration.host, self.name)

    def stop(self) -> None:
        """Nothing to stop: the cluster is not ours."""
