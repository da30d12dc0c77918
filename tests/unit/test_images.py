"""The offline image builds as data: which image kubeadm's list becomes, what each image's
Dockerfile says, the cache keys, and the engine command's arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from clusters.kind import engine
from clusters.kind.images import base, node
from clusters.local.assets import AssetsError

KUBEADM_IMAGES = [
    "registry.k8s.io/kube-apiserver:v1.36.3",
    "registry.k8s.io/kube-controller-manager:v1.36.3",
    "registry.k8s.io/kube-scheduler:v1.36.3",
    "registry.k8s.io/kube-proxy:v1.36.3",
    "registry.k8s.io/coredns/coredns:v1.14.2",
    "registry.k8s.io/pause:3.10.2",
    "registry.k8s.io/etcd:3.6.8-0",
]
BINARIES = {
    name: Path(f"/cache/{name}")
    for name in (
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kube-proxy",
        "etcd",
        "coredns",
    )
}


def test_every_image_kubeadm_lists_is_made_from_its_binary() -> None:
    made = {c.image: c for c in node.components(KUBEADM_IMAGES, BINARIES)}
    assert list(made) == KUBEADM_IMAGES
    apiserver = made["registry.k8s.io/kube-apiserver:v1.36.3"]
    assert (apiserver.binary, apiserver.entrypoint) == (
        BINARIES["kube-apiserver"],
        ("/usr/local/bin/kube-apiserver",),
    )
    assert made["registry.k8s.io/etcd:3.6.8-0"].path == "/usr/local/bin/etcd"
    coredns = made["registry.k8s.io/coredns/coredns:v1.14.2"]
    assert (coredns.path, coredns.entrypoint) == ("/coredns", ("/coredns",))
    pause = made["registry.k8s.io/pause:3.10.2"]
    assert pause.binary is None and pause.entrypoint == ("/usr/bin/catatonit", "-P")


def test_an_image_this_build_cannot_make_is_one_sentence() -> None:
    with pytest.raises(AssetsError, match=r"^kubeadm asks for registry.k8s.io/kindnetd:v1, which this build"):
        node.components(["registry.k8s.io/kindnetd:v1"], BINARIES)


def test_a_component_dockerfile_copies_its_binary_onto_the_base() -> None:
    [proxy, pause] = node.components(
        ["registry.k8s.io/kube-proxy:v1.36.3", "registry.k8s.io/pause:3.10.2"], BINARIES
    )
    assert proxy.dockerfile("nc/debian:x") == (
        "FROM nc/debian:x\n"
        "COPY kube-proxy /usr/local/bin/kube-proxy\n"
        'ENTRYPOINT ["/usr/local/bin/kube-proxy"]\n'
    )
    assert pause.dockerfile("nc/debian:x") == 'FROM nc/debian:x\nENTRYPOINT ["/usr/bin/catatonit", "-P"]\n'


def test_the_node_key_follows_its_inputs() -> None:
    assert node.inputs_key(["a", "b"]) == node.inputs_key(["a", "b"])
    assert node.inputs_key(["a", "b"]) != node.inputs_key(["a", "c"])
    assert node.inputs_key(["ab"]) != node.inputs_key(["a", "b"])


def test_a_root_file_system_is_keyed_by_suite_mirror_and_packages() -> None:
    one = base.RootFS("debian", ("python3", "iptables"))
    assert one.key == base.RootFS("other", ("iptables", "python3")).key  # the order does not matter
    assert one.key != base.RootFS("debian", ("python3",)).key
    assert one.key != base.RootFS("debian", ("python3", "iptables"), suite="trixie").key
    assert one.tag == f"notification-conformance/debian:bookworm-{one.key}"
    assert one.tarball.name == f"debian-bookworm-{one.key}.tar"
    assert base.BASE.key != base.NODE_BASE.key


def test_the_engine_command_needs_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        engine.main(["run"])
    assert "give the command to run after --" in capsys.readouterr().err


def test_no_engine_answers_at_a_missing_socket(tmp_path: Path) -> None:
    assert not engine.answers(
        {"DOCKER_HOST": f"unix://{tmp_path}/none.sock", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    )
