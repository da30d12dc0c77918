"""One real local control plane for the whole benchmark, and on it, per experiment,
the suite's own run environment (CRDs, recording sink, the controller under test
launched with the suite's default command)."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kubernetes import client, config

from clusters.local.controlplane import LocalControlPlane
from conformance.binding.binding import SUITE_PHASES, Binding
from conformance.contract.tolerances import Tolerances
from conformance.environment.context import RunContext
from conformance.environment.run_environment import RunEnvironment
from conformance.environment.settings import DEFAULT_BINDING, DEFAULT_CONTROLLER, Settings

REFERENCE = "reference"
SEED = "seed"
SEED_DEFECT = "per-channel-writes"
"""The seed's design as the broken-controller catalogue has it: status written once per
channel, and no time guard (tests/broken_controllers/defects.py)."""


def controller_command(design: str) -> str:
    """The suite's default controller command, or the same command running the seed's design."""
    if design == REFERENCE:
        return DEFAULT_CONTROLLER
    if design == SEED:
        module = "-m reference_controller"
        if module not in DEFAULT_CONTROLLER:
            raise ValueError(f"the suite's default controller command no longer runs {module!r}")
        return DEFAULT_CONTROLLER.replace(module, f"-m tests.broken_controllers {SEED_DEFECT}", 1)
    raise ValueError(f"unknown design {design!r}; use {REFERENCE} or {SEED}")


def api_client_for(kubeconfig: Path, pool: int = 32) -> client.ApiClient:
    """A client whose connection pool holds the benchmark's parallel requests."""
    configuration = client.Configuration()
    config.load_kube_config(str(kubeconfig), client_configuration=configuration)
    configuration.connection_pool_maxsize = pool
    return client.ApiClient(configuration)


@contextlib.contextmanager
def control_plane(workdir: Path) -> Iterator[LocalControlPlane]:
    plane = LocalControlPlane(workdir=workdir)
    try:
        plane.start()
        yield plane
    finally:
        plane.stop()


@contextlib.contextmanager
def run_environment(plane: LocalControlPlane, design: str) -> Iterator[tuple[RunEnvironment, RunContext]]:
    """The suite's environment on ``plane``, with the controller of ``design`` running."""
    settings = Settings(
        cluster="existing",
        kubeconfig=plane.kubeconfig_path,
        kube_context="local",
        binding=DEFAULT_BINDING,
        controller_cmd=controller_command(design),
        tolerances=Tolerances(),
    )
    environment = RunEnvironment(settings)
    try:
        context = environment.start()
        warm_up(plane.kubeconfig_path)
        yield environment, context
    finally:
        environment.stop()


def binding() -> Binding:
    return Binding.load(DEFAULT_BINDING)


def delete_all(api_client: client.ApiClient, namespace: str, timeout: float = 120.0) -> None:
    """Remove an experiment's notifications so that the next controller does not list them."""
    custom = client.CustomObjectsApi(api_client)
    spec = binding()
    with contextlib.suppress(client.exceptions.ApiException):
        custom.delete_collection_namespaced_custom_object(spec.group, spec.version, namespace, spec.plural)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listing: Any = custom.list_namespaced_custom_object(
            spec.group, spec.version, namespace, spec.plural, limit=1
        )
        if not listing["items"]:
            return
        time.sleep(0.2)
    raise RuntimeError(f"notifications in {namespace} were not deleted within {timeout:.0f}s")


WARM_UP_TIMEOUT = 60.0


def warm_up(kubeconfig: Path) -> None:
    """Wait until the controller delivers one console notification: its start-up (imports, the
    first list) is not part of any measurement."""
    api_client = api_client_for(kubeconfig, pool=4)
    custom = client.CustomObjectsApi(api_client)
    core = client.CoreV1Api(api_client)
    spec = binding()
    namespace = f"bench-warm-up-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        manifest = spec.render(
            name="warm-up",
            namespace=namespace,
            subject="warm-up",
            body="",
            channels=[{"name": "console", "type": "console"}],
            retry={
                "maxAttempts": 1,
                "initialBackoff": "1s",
                "backoffMultiplier": 2,
                "maxBackoff": "1s",
                "jitterPercent": 0,
            },
        )
        custom.create_namespaced_custom_object(spec.group, spec.version, namespace, spec.plural, manifest)
        deadline = time.monotonic() + WARM_UP_TIMEOUT
        while True:
            obj: Any = custom.get_namespaced_custom_object(
                spec.group, spec.version, namespace, spec.plural, "warm-up"
            )
            if spec.phase(obj) in SUITE_PHASES:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the controller did not deliver a notification within {WARM_UP_TIMEOUT:.0f}s"
                )
            time.sleep(0.05)
    finally:
        delete_all(api_client, namespace)
        core.delete_namespace(namespace)
        api_client.close()


def process_ids(plane: LocalControlPlane, environment: RunEnvironment) -> dict[str, int]:
    """The real processes an experiment runs on: the controller, the recording sink,
    kube-apiserver and etcd."""
    pids = {process.name: process.pid for process in plane.processes}
    if environment.controller is not None:
        pids["controller"] = environment.controller.pid
    if environment.sink is not None and environment.sink.pid is not None:
        pids["sink"] = environment.sink.pid
    return pids
