"""--nc-sink-address: where the recording sink listens, so that a controller in a pod can reach it."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from clusters.local.controlplane import LocalControlPlane
from conformance.contract.tolerances import Tolerances
from conformance.environment.run_environment import RunEnvironment, SetupError
from conformance.environment.settings import Settings
from tests.e2e.conftest import REPO, run_suite
from tests.e2e.test_misconfiguration import assert_one_sentence


def settings(cluster: LocalControlPlane, sink_address: str | None) -> Settings:
    return Settings(
        cluster="existing",
        kubeconfig=cluster.kubeconfig_path,
        kube_context=None,
        binding=REPO / "fixtures" / "bindings" / "reference",
        controller_cmd="",
        tolerances=Tolerances(),
        sink_address=sink_address,
    )


@pytest.mark.parametrize(("address", "expected"), [(None, "127.0.0.1"), ("127.0.0.2", "127.0.0.2")])
def test_the_sink_listens_where_it_is_told(
    local_cluster: LocalControlPlane, address: str | None, expected: str
) -> None:
    environment = RunEnvironment(settings(local_cluster, address))
    try:
        context = environment.start()
        assert context.sink_url.startswith(f"http://{expected}:")
        with urllib.request.urlopen(f"{context.sink_url}/_sink/records/probe", timeout=5) as response:
            assert response.status == 200
    finally:
        environment.stop()


def test_an_address_not_of_this_machine_is_one_sentence(
    local_cluster: LocalControlPlane, tmp_path: Path
) -> None:
    environment = RunEnvironment(settings(local_cluster, "192.0.2.1"))
    with pytest.raises(SetupError, match=r"^The recording sink cannot listen on 192\.0\.2\.1: .+\.$"):
        environment.start()
    run = run_suite(
        tmp_path,
        "--nc-cluster=existing",
        f"--nc-kubeconfig={local_cluster.kubeconfig_path}",
        "--nc-sink-address=192.0.2.1",
    )
    assert_one_sentence(
        run.output, "ERROR: The recording sink cannot listen on 192.0.2.1: Cannot assign requested address."
    )
