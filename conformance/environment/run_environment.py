"""The run's shared parts, set up once by the process that runs pytest: the
cluster, the binding's CRDs, the recording sink and the controller under test."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

import clusters
from clusters.processes import ManagedProcess
from conformance.binding import preflight
from conformance.binding.binding import Binding
from conformance.environment import identity, launch, readiness
from conformance.environment.context import RunContext
from conformance.environment.control import RunControl
from conformance.environment.settings import Settings
from conformance.observers.console import ConsoleLog
from conformance.observers.sink.recording import SinkClient, SinkError, SinkProcess

CRD_ESTABLISH_TIMEOUT = 30.0
CRD_CONFLICT_RETRIES = 10


class SetupError(RuntimeError):
    """The run could not be set up; the message is one sentence for the user."""


def install_crds(api_client: client.ApiClient, binding: Binding) -> None:
    """Create or update the binding's CRDs and wait until they are served."""
    extensions = client.ApiextensionsV1Api(api_client)
    names = []
    for path in binding.crds:
        for manifest in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader):
            if not manifest:
                continue
            name = manifest["metadata"]["name"]
            names.append(name)
            _apply_crd(extensions, name, manifest, path)
    deadline = time.monotonic() + CRD_ESTABLISH_TIMEOUT
    for name in names:
        while True:
            crd: Any = extensions.read_custom_resource_definition(name)
            conditions = {c.type: c.status for c in (crd.status.conditions or [])}
            if conditions.get("Established") == "True":
                break
            if time.monotonic() > deadline:
                raise SetupError(f"CRD {name} was not established within {CRD_ESTABLISH_TIMEOUT:.0f}s.")
            time.sleep(0.05)


def _apply_crd(extensions: client.ApiextensionsV1Api, name: str, manifest: Any, path: Path) -> None:
    """Create the CRD, or replace it: another run on the same cluster may do so at the same time,
    so a conflict means read it again and retry."""
    for _ in range(CRD_CONFLICT_RETRIES):
        try:
            if "resourceVersion" in manifest["metadata"]:
                extensions.replace_custom_resource_definition(name, manifest)
            else:
                extensions.create_custom_resource_definition(manifest)
            return
        except ApiException as err:
            if err.status != 409:
                raise SetupError(f"The API server refused CRD {name} from {path}: {err.reason}.") from err
            try:
                current: Any = extensions.read_custom_resource_definition(name)
            except ApiException as gone:
                if gone.status != 404:
                    raise
                manifest["metadata"].pop("resourceVersion", None)
                continue
            manifest["metadata"]["resourceVersion"] = current.metadata.resource_version
    raise SetupError(f"CRD {name} from {path} kept changing while the suite applied it.")


class RunEnvironment:
    """Starts everything in ``start()``; ``stop()`` always undoes all of it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.workdir = Path(tempfile.mkdtemp(prefix="nc-run-"))
        self.provider: clusters.ClusterProvider | None = None
        self.sink: SinkProcess | None = None
        self.controller: ManagedProcess | None = None
        self.console: ConsoleLog | None = None
        self.context: RunContext | None = None
        self.control: RunControl | None = None
        self.identity: identity.ServiceAccountIdentity | None = None
        self.controller_argv: list[str] = []
        self.scoped = False
        """The command takes ``{namespace}`` and the run planned its namespaces: disruptive
        scenarios get instances of their own."""
        self.instances: dict[str, ManagedProcess] = {}
        """The instances of disruptive scenarios running now, by namespace."""
        self._values: dict[str, str] = {}
        self.user: launch.ControllerUser | None = None
        self._launcher = ThreadPoolExecutor(1, thread_name_prefix="controller-launcher")
        self.details: dict[str, Any] = {}

    def start(self, shared: Sequence[str] | None = None, ready: str | None = None) -> RunContext:
        """``shared``: the namespaces the run's shared instance watches, for a ``{namespace}`` command
        (every scenario's but the disruptive ones'); without them it watches all, and disruptive
        scenarios share it. ``ready``: where to wait for the controller's first delivery."""
        settings = self.settings
        self.scoped = "{namespace}" in settings.controller_cmd and shared is not None
        try:
            launch.check_options(
                settings.controller_cmd, settings.controller_user, settings.restart_cmd, settings.pod_selector
            )
            launch.check_commands(settings.controller_cmd, settings.restart_cmd)
            binding = Binding.load(settings.binding)
            started = time.monotonic()
            self.provider = clusters.provider(
                settings.cluster,
                settings.kubeconfig,
                settings.kube_context,
                self.workdir / "cluster",
                shared=self.workdir,
            )
            cluster = self.provider.start()
            self.details["clusterStartSeconds"] = round(time.monotonic() - started, 3)
            api_client = config.new_client_from_config(str(cluster.kubeconfig), context=cluster.context)
            version = client.VersionApi(api_client).get_code().git_version
            install_crds(api_client, binding)
            preflight.check_binding(api_client, binding)
            self.sink = self._start_sink(settings.sink_address or cluster.host_address or "127.0.0.1")
            self._start_controller(self._controller_cluster(cluster, api_client), shared or ())
            self.control = RunControl(self._restarter(api_client, cluster)).start()
            if ready is not None:
                self._wait_ready(api_client, binding, ready)
        except (clusters.ClusterError, identity.IdentityError, launch.LaunchError) as err:
            self.stop()
            raise SetupError(str(err)) from err
        except BaseException:
            self.stop()
            raise
        self.context = RunContext(
            kubeconfig=str(cluster.kubeconfig),
            kube_context=cluster.context,
            cluster_provider=cluster.provider,
            kubernetes_version=version,
            sink_url=self.sink.url,
            binding=str(settings.binding),
            workdir=str(self.workdir),
            console_log=str(self.console.path) if self.console else None,
            controller=settings.controller_cmd or "external",
            control_url=self.control.url,
            tolerances=settings.tolerances,
            keep_on_failure=settings.keep_on_failure,
            controller_user=self.user.name if self.user else None,
            restartable=self.control.restart is not None or self.scoped,
        )
        return self.context

    def _wait_ready(self, api_client: client.ApiClient, binding: Binding, namespace: str) -> None:
        assert self.sink is not None
        prober = readiness.Prober(api_client, binding, self.console, SinkClient(self.sink.url))
        seconds = readiness.wait_ready(prober, namespace, self.workdir / namespace)
        self.details["controllerReadySeconds"] = round(seconds, 3) if seconds is not None else None
        if seconds is None:
            self.details["controllerNotReady"] = (
                f"the controller delivered no notification within {readiness.TIMEOUT:.0f}s of its start; "
                "the scenarios started anyway"
            )

    def _start_sink(self, host: str) -> SinkProcess:
        try:
            return SinkProcess(host, self.workdir / "sink.log").start()
        except SinkError as err:
            raise SetupError(f"The recording sink cannot listen on {host}: {err}.") from err

    def _controller_cluster(
        self, cluster: clusters.Cluster, api_client: client.ApiClient
    ) -> clusters.Cluster:
        """The cluster as the controller sees it: under its own ServiceAccount with --nc-controller-rbac."""
        if not self.settings.controller_rbac:
            return cluster
        self.identity = identity.ServiceAccountIdentity(
            api_client, identity.load(self.settings.controller_rbac)
        )
        self.identity.apply()
        self.details["controllerIdentity"] = self.identity.username
        kubeconfig = self.identity.write_kubeconfig(self.workdir / "controller-kubeconfig")
        return dataclasses.replace(cluster, kubeconfig=kubeconfig, context=identity.CONTEXT)

    def _start_controller(self, cluster: clusters.Cluster, shared: Sequence[str]) -> None:
        if not self.settings.controller_cmd:
            return
        kubeconfig = cluster.kubeconfig
        if self.settings.controller_user:
            self.user = launch.ControllerUser.resolve(self.settings.controller_user)
            self.details["controllerUser"] = self.user.name
            kubeconfig = self.user.prepare(self.workdir, cluster.kubeconfig)
        self._values = launch.placeholders(str(kubeconfig), cluster.context or "", str(self.workdir))
        self.console = ConsoleLog(self.workdir / "console.jsonl").open()
        if self.scoped:
            self.details["controllerScope"] = "own instance per disruptive scenario"
            if not shared:  # an instance watching "" would watch every namespace, the scoped ones too
                return
        self.controller_argv = self._argv(",".join(shared))
        self.controller = self._launch(self.controller_argv, "controller.log")

    def _argv(self, namespace: str) -> list[str]:
        values = {**self._values, "namespace": namespace}
        try:
            return launch.command(self.settings.controller_cmd, values)
        except launch.LaunchError as err:
            raise SetupError(str(err)) from err

    def _launch(self, argv: list[str], log: str) -> ManagedProcess:
        assert self.console is not None
        as_user = self.user.popen_options(self.workdir / "controller-home") if self.user else {}
        name = log.removesuffix(".log")
        return ManagedProcess(name, argv, self.workdir / log, on_line=self.console.append, **as_user)

    def _restarter(self, api_client: client.ApiClient, cluster: clusters.Cluster) -> Callable[[], int] | None:
        """How disruptive tests restart the controller, or None when they cannot."""
        if self.controller is not None:
            return self.restart_controller
        if self.settings.restart_cmd:
            values = launch.restart_placeholders(str(cluster.kubeconfig), cluster.context or "")
            argv = launch.command(self.settings.restart_cmd, values, "--nc-controller-restart-cmd")
            return launch.restart_command(argv)
        if self.settings.pod_selector:
            return launch.restart_pods(api_client, launch.PodSelector.parse(self.settings.pod_selector))
        return None

    @contextlib.contextmanager
    def instance_for(self, namespace: str, disruptive: bool) -> Iterator[None]:
        """While a scenario runs: with a ``{namespace}`` command, a disruptive scenario gets an
        instance of its own, scoped to its namespace, so restarting it disturbs nobody else."""
        if not (disruptive and self.scoped):
            yield
            return
        argv = self._argv(namespace)
        self.instances[namespace] = self._launcher.submit(
            self._launch, argv, f"controller-{namespace}.log"
        ).result()
        try:
            yield
        finally:
            instance = self.instances.pop(namespace)
            self._launcher.submit(instance.stop).result()

    def restart(self, namespace: str, while_down: Callable[[], None]) -> None:
        """Restart the controller that serves ``namespace`` (see ``conformance.environment.launch``).

        ``while_down`` runs after the killed controller is gone and before its successor starts
        when the suite launched it; after the restart command or the pods' replacement otherwise
        (the suite cannot tell when those were down)."""
        if namespace in self.instances:
            self.instances[namespace] = self._launcher.submit(
                self._relaunch, self.instances[namespace], while_down
            ).result()
            return
        if self.controller is not None:
            self.controller = self._launcher.submit(self._relaunch, self.controller, while_down).result()
            return
        restart = self.control.restart if self.control is not None else None
        if restart is None:
            raise launch.LaunchError(launch.CANNOT_RESTART)
        restart()
        while_down()

    def alive(self, namespace: str) -> bool:
        """Whether the controller serving ``namespace`` still runs, if the suite launched it."""
        instance = self.instances.get(namespace, self.controller)
        return instance is None or instance.running()

    def restart_controller(self) -> int:
        """Kill the shared controller as a crash would, and start it again.

        New processes are started from a thread that lives as long as the run: a child dies
        with the thread that started it (see clusters.processes).
        """
        assert self.controller is not None
        self.controller = self._launcher.submit(self._relaunch, self.controller).result()
        return self.controller.pid

    @contextlib.contextmanager
    def controller_stopped(self) -> Iterator[None]:
        """The shared controller stopped while the body runs, and started again after it: what it
        finds then is a backlog, as behind a controller that was down."""
        assert self.controller is not None
        stopped = self.controller
        self._launcher.submit(stopped.stop).result()
        try:
            yield
        finally:
            self.controller = self._launcher.submit(
                self._launch, stopped.argv, stopped.log_path.name
            ).result()

    def _relaunch(
        self, instance: ManagedProcess, while_down: Callable[[], None] = lambda: None
    ) -> ManagedProcess:
        instance.kill()
        instance.stop()
        while_down()
        return self._launch(instance.argv, instance.log_path.name)

    def controller_log_tail(self, lines: int = 40) -> str:
        return self.controller.tail(lines) if self.controller else ""

    def stop(self) -> None:
        if self.control is not None:
            self.control.stop()
            self.control = None
        for instance in [self.controller, *self.instances.values()]:
            if instance is not None:
                instance.stop()
        self.controller = None
        self.instances.clear()
        self._launcher.shutdown()
        if self.console is not None:
            self.console.close()
        if self.sink is not None:
            self.sink.stop()
            self.sink = None
        if self.identity is not None:
            with contextlib.suppress(Exception):
                self.identity.remove()
            self.identity = None
        if self.provider is not None:
            with contextlib.suppress(Exception):
                self.provider.stop()
            self.provider = None
        shutil.rmtree(self.workdir, ignore_errors=True)
