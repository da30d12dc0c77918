"""Kubernetes' node binaries (kubelet, kubeadm, kubectl) and the control-plane ones kind runs
in pods (controller manager, scheduler, kube-proxy), built from the Kubernetes Go modules
exactly as the local control plane's kube-apiserver is, into a cache folder of their own."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from clusters.local import assets

PACKAGES = {
    "kubelet": "k8s.io/kubernetes/cmd/kubelet",
    "kubeadm": "k8s.io/kubernetes/cmd/kubeadm",
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
    "kube-proxy": "k8s.io/kubernetes/cmd/kube-proxy",
}
"""Binary name -> the Go package it is built from."""


def cache_dir(version: str = assets.KUBERNETES_VERSION) -> Path:
    return assets.cache_root() / "assets" / f"k8s-{version}-node"


def complete(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in PACKAGES)


def _tools_go() -> str:
    imports = "\n".join(f'\t_ "{package}"' for package in PACKAGES.values())
    return f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n"


def ensure(log: Callable[[str], None], version: str = assets.KUBERNETES_VERSION) -> Path:
    """The folder with every binary of ``PACKAGES``, built once (cold: minutes; then: nothing)."""
    target = cache_dir(version)
    if complete(target):
        return target
    if shutil.which("go") is None:
        raise assets.AssetsError("Building kubelet, kubeadm and kubectl for the kind node image needs Go.")
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-buildvcs=false -mod=mod")
    work = Path(tempfile.mkdtemp(prefix="nc-node-build-"))
    staged = target.with_name(target.name + ".partial")
    try:
        started = time.monotonic()
        log(f"building {', '.join(PACKAGES)} {version} from Go modules (once)")
        (work / "go.mod").write_text(assets._wrapper_module(version, assets._staging_modules(version, env)))
        (work / "tools.go").write_text(_tools_go())
        subprocess.run(["go", "mod", "tidy"], cwd=work, env=env, check=True)
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir(parents=True)
        ldflags = (
            f"-s -w -X k8s.io/component-base/version.gitVersion={version}"
            " -X k8s.io/component-base/version.gitTreeState=clean"
            f" -X k8s.io/client-go/pkg/version.gitVersion={version}"
            " -X k8s.io/client-go/pkg/version.gitTreeState=clean"
        )
        for name, package in PACKAGES.items():
            log(f"compiling {name} ({time.monotonic() - started:.0f}s so far)")
            subprocess.run(
                [
                    "nice",
                    "-n",
                    "19",
                    "go",
                    "build",
                    "-trimpath",
                    "-ldflags",
                    ldflags,
                    "-o",
                    str(staged / name),
                    package,
                ],
                cwd=work,
                env=env,
                check=True,
            )
        record = {"seconds": round(time.monotonic() - started, 1), "kubernetesVersion": version}
        (staged / assets.BUILD_RECORD).write_text(json.dumps(record) + "\n")
        shutil.rmtree(target, ignore_errors=True)
        staged.rename(target)
        log(f"node binaries ready in {target} after {record['seconds']:.0f}s")
        return target
    except subprocess.CalledProcessError as err:
        raise assets.AssetsError(
            f"Building the node binaries failed: {' '.join(err.cmd)} exited {err.returncode}."
        ) from err
    finally:
        shutil.rmtree(work, ignore_errors=True)


TOOLS = {
    "crictl": ("sigs.k8s.io/cri-tools/cmd/crictl", "v1.37.0"),
    "coredns": ("github.com/coredns/coredns", "v1.14.2"),
}
"""Programs of their own Go modules: crictl (kind asks the node's containerd through it) and
CoreDNS (the version kubeadm v1.36 deploys)."""


def ensure_tool(name: str, log: Callable[[str], None]) -> Path:
    """One of ``TOOLS``, installed once with ``go install`` into its own cache folder."""
    package, version = TOOLS[name]
    folder = assets.cache_root() / "assets" / "tools" / f"{name}-{version}"
    if os.access(folder / name, os.X_OK):
        return folder / name
    staged = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    env = dict(os.environ, CGO_ENABLED="0", GOBIN=str(staged), GOFLAGS="-buildvcs=false")
    log(f"building {name} {version} from its Go module (once)")
    try:
        subprocess.run(
            ["nice", "-n", "19", "go", "install", "-trimpath", "-ldflags", "-s -w", f"{package}@{version}"],
            env=env,
            check=True,
        )
    except subprocess.CalledProcessError as err:
        raise assets.AssetsError(
            f"Building {name} {version} failed: go install exited {err.returncode}."
        ) from err
    shutil.rmtree(folder, ignore_errors=True)
    staged.rename(folder)
    return folder / name


CAPFILTER = Path(__file__).resolve().parent / "runc-capfilter"


def ensure_capfilter(log: Callable[[str], None]) -> Path:
    """runc-capfilter (this folder's Go program), built once per version of its source."""
    source = (CAPFILTER / "main.go").read_bytes() + (CAPFILTER / "go.mod").read_bytes()
    key = hashlib.sha256(source).hexdigest()[:12]
    target = assets.cache_root() / "assets" / "tools" / f"runc-capfilter-{key}" / "runc-capfilter"
    if os.access(target, os.X_OK):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    log("building runc-capfilter (once)")
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-buildvcs=false")
    try:
        subprocess.run(
            ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(target.with_suffix(".partial")), "."],
            cwd=CAPFILTER,
            env=env,
            check=True,
        )
    except subprocess.CalledProcessError as err:
        raise assets.AssetsError(
            f"Building runc-capfilter failed: go build exited {err.returncode}."
        ) from err
    target.with_suffix(".partial").rename(target)
    return target
