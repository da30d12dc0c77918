"""The local control plane: real processes, a working kubeconfig, nothing left behind."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from kubernetes import client, config

from clusters.base import ClusterError
from clusters.local import assets, controlplane
from clusters.local.controlplane import LocalControlPlane


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_starts_serves_and_stops_without_leftovers(tmp_path: Path) -> None:
    plane = LocalControlPlane(workdir=tmp_path / "cluster")
    cluster = plane.start()
    pids = [p.pid for p in plane.processes]
    try:
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        api = config.new_client_from_config(str(cluster.kubeconfig))
        names = [ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items if ns.metadata]
        assert "default" in names
        assert client.VersionApi(api).get_code().git_version == assets.KUBERNETES_VERSION
        assert oct(cluster.kubeconfig.stat().st_mode & 0o777) == "0o600"
        api.close()
    finally:
        plane.stop()
    assert not any(alive(pid) for pid in pids)


def test_two_control_planes_do_not_collide(tmp_path: Path) -> None:
    first, second = LocalControlPlane(workdir=tmp_path / "a"), LocalControlPlane(workdir=tmp_path / "b")
    try:
        assert first.start().server != second.start().server
    finally:
        first.stop()
        second.stop()


def test_kubebuilder_assets_without_binaries_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    with pytest.raises(
        ClusterError, match=r"^KUBEBUILDER_ASSETS=.* does not contain executable kube-apiserver and etcd\.$"
    ):
        LocalControlPlane(workdir=tmp_path / "c").start()


def test_kubebuilder_assets_are_used_when_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cached = assets.find()
    assert cached is not None
    linked = tmp_path / "assets"
    linked.mkdir()
    for name in assets.BINARIES:
        os.symlink(cached.directory / name, linked / name)
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(linked))
    found = assets.find()
    assert found is not None and found.origin == "KUBEBUILDER_ASSETS" and found.directory == linked


def test_no_binaries_and_no_go_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    with pytest.raises(ClusterError, match="set KUBEBUILDER_ASSETS to a folder with both, or install Go"):
        LocalControlPlane(workdir=tmp_path / "d").start()


def test_a_port_that_cannot_be_had_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr(controlplane, "free_port", lambda: port)
        plane = LocalControlPlane(workdir=tmp_path / "e")
        with pytest.raises(
            ClusterError, match=r"^No free loopback port could be had for etcd after 3 tries\.$"
        ):
            plane.start()
    assert plane.processes == []
