"""Debian root file systems made with ``debootstrap`` from Debian's packages, imported into the
Docker engine as images: no registry is needed for a base image.

A root file system is kept as a tarball in the cache, keyed by the suite, the mirror and the
package list, so a fresh engine (its image store empty) imports it in seconds instead of
bootstrapping again; ``debootstrap`` keeps its downloaded packages in a cache folder too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from clusters.kind.images import engine_cli
from clusters.local import assets

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"

BASE_PACKAGES = (
    "python3",
    "python3-venv",
    "python-is-python3",
    "ca-certificates",
    "iptables",
    "conntrack",
    "catatonit",
)
"""The base of the reference controller's image (Debian's Python 3.11; the wheels go into a
venv) and of the control-plane and add-on images (kube-proxy needs iptables and conntrack; the
pause image is catatonit's pause mode): one bootstrap for both."""
NODE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "containerd",
    "runc",
    "containernetworking-plugins",
    "iptables",
    "conntrack",
    "iproute2",
    "kmod",
    "procps",
    "ethtool",
    "socat",
    "ca-certificates",
)
"""The kind node: systemd as PID 1, containerd and runc, the CNI plugins, and what kubelet and
kubeadm call (iptables, conntrack, ip, mount)."""


@dataclass(frozen=True)
class RootFS:
    """One Debian root file system and the image it becomes."""

    name: str
    packages: tuple[str, ...]
    suite: str = SUITE
    mirror: str = MIRROR

    @property
    def key(self) -> str:
        text = "\n".join([self.suite, self.mirror, "minbase", *sorted(self.packages)])
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def tag(self) -> str:
        return f"notification-conformance/{self.name}:{self.suite}-{self.key}"

    @property
    def tarball(self) -> Path:
        return images_cache() / f"{self.name}-{self.suite}-{self.key}.tar"


def images_cache() -> Path:
    return assets.cache_root() / "images"


BASE = RootFS("debian", BASE_PACKAGES)
NODE_BASE = RootFS("debian-node", NODE_PACKAGES)


def bootstrap(rootfs: RootFS, log: Callable[[str], None]) -> Path:
    """The root file system's tarball, made once with debootstrap."""
    if rootfs.tarball.is_file():
        return rootfs.tarball
    if shutil.which("debootstrap") is None:
        raise assets.AssetsError(
            "Building a Debian base image needs debootstrap (apt-get install debootstrap)."
        )
    debs = images_cache() / "debootstrap-debs"
    debs.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="nc-rootfs-", dir=images_cache()))
    target = work / "rootfs"
    # debootstrap makes device nodes and chroots: as root, or through sudo (a CI runner's user).
    root = [] if os.geteuid() == 0 else ["sudo", "-n"]
    # What a container needs no copy of: the bootstrap's package lists, caches and logs.
    leftovers = [f"--exclude=./{path}/*" for path in ("var/lib/apt/lists", "var/cache/apt", "var/log")]
    partial = rootfs.tarball.with_suffix(".partial")
    try:
        log(f"debootstrap {rootfs.suite} with {', '.join(rootfs.packages)} (once)")
        subprocess.run(
            [
                *root, "nice", "-n", "19", "debootstrap", "--variant=minbase", f"--cache-dir={debs}",
                f"--include={','.join(rootfs.packages)}", rootfs.suite, str(target), rootfs.mirror,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run(
            [
                *root,
                "tar",
                "--numeric-owner",
                "--xattrs",
                *leftovers,
                "-C",
                str(target),
                "-cf",
                str(partial),
                ".",
            ],
            check=True,
        )
        partial.rename(rootfs.tarball)
        return rootfs.tarball
    except subprocess.CalledProcessError as err:
        raise assets.AssetsError(
            f"Making the Debian root file system failed: {' '.join(err.cmd[:4])} exited {err.returncode}."
        ) from err
    finally:
        subprocess.run([*root, "rm", "-rf", "--one-file-system", str(work)], check=False)


def ensure_image(rootfs: RootFS, log: Callable[[str], None]) -> str:
    """The image's tag, imported from the cached root file system when the engine lacks it."""
    if engine_cli.has_image(rootfs.tag):
        return rootfs.tag
    tarball = bootstrap(rootfs, log)
    log(f"importing {rootfs.tag}")
    engine_cli.docker("import", str(tarball), rootfs.tag)
    return rootfs.tag
