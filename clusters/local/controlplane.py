"""Start and stop etcd plus kube-apiserver as local processes."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import shutil
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml

from clusters.base import Cluster, ClusterError
from clusters.local import assets, pki
from clusters.processes import ManagedProcess

READY_TIMEOUT = 60.0
START_ATTEMPTS = 3
RESTART_GRACE = 1.0
"""Seconds a restarted process has to stop; etcd waits for its clients' streams otherwise."""


class _PortTaken(Exception):
    """Another process took a port between choosing it and binding it."""


ADMIN_USER = "conformance-admin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalControlPlane:
    """A real kube-apiserver backed by a real etcd, on free loopback ports."""

    name = "local"

    def __init__(
        self, workdir: Path | None = None, kubeconfig_path: Path | None = None, detached: bool = False
    ) -> None:
        """``detached`` processes outlive this Python process; ``clusters down`` stops them."""
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="nc-cluster-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig_path = kubeconfig_path or self.workdir / "kubeconfig"
        self.processes: list[ManagedProcess] = []
        self._argv: dict[str, list[str]] = {}
        self.token = secrets.token_hex(16)
        self.server = ""
        self.startup_seconds = 0.0
        self.detached = detached

    def start(self) -> Cluster:
        started = time.monotonic()
        try:
            binaries = assets.ensure()
        except assets.AssetsError as err:
            raise ClusterError(str(err)) from err
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self._start_etcd(binaries)
                self._start_apiserver(binaries)
                self._wait_ready()
                break
            except _PortTaken as err:
                self._stop_processes()
                shutil.rmtree(self.workdir / "etcd-data", ignore_errors=True)
                if attempt == START_ATTEMPTS:
                    raise ClusterError(
                        f"No free loopback port could be had for {err} after {START_ATTEMPTS} tries."
                    ) from err
            except BaseException:
                self.stop()
                raise
        self.startup_seconds = time.monotonic() - started
        return Cluster(self.kubeconfig_path, "local", self.server, self.name)

    def _start_etcd(self, binaries: assets.Assets) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        data = self.workdir / "etcd-data"
        self._launch(
            "etcd",
            [
                str(binaries.etcd),
                "--name=default",
                f"--data-dir={data}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=default=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )

    def _launch(self, name: str, argv: list[str]) -> None:
        self._argv[name] = argv
        self.processes.append(
            ManagedProcess(name, argv, self.workdir / f"{name}.log", die_with_parent=not self.detached)
        )

    def _start_apiserver(self, binaries: assets.Assets) -> None:
        certs = self.workdir / "pki"
        certs.mkdir(exist_ok=True)
        self.ca, cert, key = pki.write_serving_pki(certs)
        sa_key, sa_pub = pki.write_service_account_keys(certs)
        tokens = certs / "tokens.csv"
        tokens.write_text(f'{self.token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        self._launch(
            "kube-apiserver",
            [
                str(binaries.kube_apiserver),
                f"--etcd-servers={self.etcd_url}",
                f"--secure-port={port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--cert-dir={certs}",
                f"--tls-cert-file={cert}",
                f"--tls-private-key-file={key}",
                f"--client-ca-file={self.ca}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={sa_pub}",
                f"--service-account-signing-key-file={sa_key}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--disable-admission-plugins=ServiceAccount",
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--v=1",
            ],
        )
        self._write_kubeconfig()

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": base64.b64encode(self.ca.read_bytes()).decode(),
                    },
                }
            ],
            "users": [{"name": ADMIN_USER, "user": {"token": self.token}}],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": ADMIN_USER}}],
            "current-context": "local",
        }
        self.kubeconfig_path.parent.mkdir(parents=True, exist_ok=True)
        self.kubeconfig_path.write_text(yaml.safe_dump(config))
        self.kubeconfig_path.chmod(0o600)

    def _get(self, path: str, context: ssl.SSLContext) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.server + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=2) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def _wait_ready(self) -> None:
        context = ssl.create_default_context(cafile=str(self.ca))
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            for process in self.processes:
                if not process.running():
                    log = process.tail(200)
                    if "address already in use" in log:
                        raise _PortTaken(process.name)
                    last = log.strip().splitlines()[-1][:300] if log.strip() else "no output"
                    raise ClusterError(
                        f"{process.name} exited during start-up ({last}); see {process.log_path}."
                    )
            with contextlib.suppress(OSError):
                status, _ = self._get("/readyz", context)
                if status == 200 and self._get("/api/v1/namespaces/default", context)[0] == 200:
                    return
            time.sleep(0.05)
        raise ClusterError(
            f"kube-apiserver was not ready after {READY_TIMEOUT:.0f}s; see {self.workdir}/kube-apiserver.log."
        )

    def restart_etcd(self, while_down: Callable[[], None] | None = None) -> None:
        """Stop etcd and start it again on the same ports and data; return once the API
        server answers again. Like ``start``, call it from a thread that outlives the plane."""
        self._restart("etcd", while_down)

    def restart_apiserver(self, while_down: Callable[[], None] | None = None) -> None:
        """Stop kube-apiserver and start it again on the same port, certificates and etcd;
        ``while_down`` runs in between (say, to change etcd behind the API server's back)."""
        self._restart("kube-apiserver", while_down)

    def _restart(self, name: str, while_down: Callable[[], None] | None) -> None:
        index = next(i for i, p in enumerate(self.processes) if p.name == name)
        self.processes[index].stop(RESTART_GRACE)
        if while_down is not None:
            while_down()
        self.processes[index] = ManagedProcess(
            name, self._argv[name], self.workdir / f"{name}.log", die_with_parent=not self.detached
        )
        self._wait_ready()

    def version(self) -> str:
        context = ssl.create_default_context(cafile=str(self.ca))
        _, body = self._get("/version", context)
        return str(json.loads(body).get("gitVersion", "unknown"))

    def _stop_processes(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def stop(self) -> None:
        self._stop_processes()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
