"""Find or build the kube-apiserver and etcd binaries for the local control plane.

Lookup order follows envtest: ``KUBEBUILDER_ASSETS`` first, then a per-user
cache, then a one-time build from Go modules into that cache. The build needs
only Go and a module proxy, so it works where release downloads do not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

KUBERNETES_VERSION = "v1.36.3"
BINARIES = ("kube-apiserver", "etcd")
BUILD_RECORD = "build.json"
"""Written next to the binaries after a build: how long it took and on what (read by ``make bench``)."""


class AssetsError(RuntimeError):
    """The control-plane binaries can be neither found nor built."""


@dataclass(frozen=True)
class Assets:
    directory: Path
    origin: str

    @property
    def kube_apiserver(self) -> Path:
        return self.directory / "kube-apiserver"

    @property
    def etcd(self) -> Path:
        return self.directory / "etcd"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "notification-conformance"


def cache_dir(version: str = KUBERNETES_VERSION) -> Path:
    return cache_root() / "assets" / f"k8s-{version}"


def _complete(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in BINARIES)


def find() -> Assets | None:
    """Return usable binaries without building anything."""
    env = os.environ.get("KUBEBUILDER_ASSETS")
    if env:
        if not _complete(Path(env)):
            raise AssetsError(
                f"KUBEBUILDER_ASSETS={env} does not contain executable kube-apiserver and etcd."
            )
        return Assets(Path(env), "KUBEBUILDER_ASSETS")
    if _complete(cache_dir()):
        return Assets(cache_dir(), "cache")
    return None


def ensure(log: Callable[[str], None] | None = None) -> Assets:
    """Return usable binaries, building them into the cache if needed."""
    found = find()
    if found:
        return found
    build(cache_dir(), log or _stderr)
    return Assets(cache_dir(), "built from Go modules")


def _stderr(message: str) -> None:
    print(f"[assets] {message}", file=sys.stderr, flush=True)


def _staging_modules(version: str, env: dict[str, str]) -> list[str]:
    """Read k8s.io/kubernetes's go.mod for the staging modules it replaces locally."""
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"k8s.io/kubernetes@{version}"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    gomod = Path(json.loads(out)["GoMod"]).read_text()
    modules = []
    for line in gomod.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "=>" and parts[2].startswith("./staging/"):
            modules.append(parts[0])
    if not modules:
        raise AssetsError(f"k8s.io/kubernetes@{version} lists no staging modules; cannot build it.")
    return modules


def _wrapper_module(version: str, staging: list[str]) -> str:
    minor = "v0." + version.removeprefix("v1.")
    replaces = "\n".join(f"\t{m} => {m} {minor}" for m in staging)
    return (
        "module notification-conformance/controlplane\n\n"
        "go 1.26.0\n\n"
        f"require k8s.io/kubernetes {version}\n\n"
        f"replace (\n{replaces}\n)\n"
    )


TOOLS_GO = """//go:build tools

package tools

import (
\t_ "go.etcd.io/etcd/server/v3"
\t_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
"""


def build(target: Path, log: Callable[[str], None], version: str = KUBERNETES_VERSION) -> None:
    """Build kube-apiserver and etcd from Go modules into ``target``."""
    if shutil.which("go") is None:
        raise AssetsError(
            "No kube-apiserver/etcd binaries found: set KUBEBUILDER_ASSETS to a folder "
            "with both, or install Go so they can be built once."
        )
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-buildvcs=false -mod=mod")
    work = Path(tempfile.mkdtemp(prefix="nc-build-"))
    try:
        started = time.monotonic()
        log(f"building kube-apiserver {version} and etcd from Go modules (once; a cold build takes minutes)")
        staging = _staging_modules(version, env)
        (work / "go.mod").write_text(_wrapper_module(version, staging))
        (work / "tools.go").write_text(TOOLS_GO)
        log("resolving modules")
        subprocess.run(["go", "mod", "tidy"], cwd=work, env=env, check=True)
        staged = target.with_name(target.name + ".partial")
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir(parents=True)
        ldflags = (
            f"-s -w -X k8s.io/component-base/version.gitVersion={version}"
            " -X k8s.io/component-base/version.gitTreeState=clean"
        )
        for name, package, flags in (
            ("etcd", "go.etcd.io/etcd/server/v3", "-s -w"),
            ("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", ldflags),
        ):
            log(f"compiling {name} ({time.monotonic() - started:.0f}s so far)")
            subprocess.run(
                ["go", "build", "-trimpath", "-ldflags", flags, "-o", str(staged / name), package],
                cwd=work,
                env=env,
                check=True,
            )
        seconds = time.monotonic() - started
        go_version = subprocess.run(["go", "version"], env=env, capture_output=True, text=True).stdout.strip()
        record = {
            "seconds": round(seconds, 1),
            "kubernetesVersion": version,
            "go": go_version,
            "cpus": os.cpu_count(),
        }
        (staged / BUILD_RECORD).write_text(json.dumps(record) + "\n")
        shutil.rmtree(target, ignore_errors=True)
        staged.rename(target)
        log(f"binaries ready in {target} after {seconds:.0f}s")
    except subprocess.CalledProcessError as err:
        raise AssetsError(
            f"Building the control-plane binaries failed: {' '.join(err.cmd)} exited {err.returncode}."
        ) from err
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    try:
        found = ensure()
    except AssetsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"kube-apiserver and etcd: {found.directory} ({found.origin})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
