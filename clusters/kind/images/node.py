"""The kind node image, and the control-plane and add-on images it carries, built offline.

kubeadm (the one built for the node) says which images it will run; each is made from the
Debian component base plus the binary built from Go modules, tagged exactly as kubeadm names
it, and all of them are saved into one archive that the node's containerd imports at boot.
The node image carries a label with a digest of all its inputs: when the engine has an image
with that label, nothing is built.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from clusters.kind.images import base, engine_cli, kube
from clusters.local import assets

HERE = Path(__file__).resolve().parent / "node"
NODE_IMAGE = f"notification-conformance/kind-node:{assets.KUBERNETES_VERSION}"
INPUTS_LABEL = "dev.notification-conformance.inputs"
NODE_BINARIES = ("kubelet", "kubeadm", "kubectl")


@dataclass(frozen=True)
class Component:
    """One image kubeadm runs: its name, the binary it holds (if any) and its entrypoint."""

    image: str
    binary: Path | None
    path: str
    entrypoint: tuple[str, ...]

    def dockerfile(self, base_tag: str) -> str:
        copy = f"COPY {Path(self.path).name} {self.path}\n" if self.binary else ""
        entrypoint = ", ".join(f'"{arg}"' for arg in self.entrypoint)
        return f"FROM {base_tag}\n{copy}ENTRYPOINT [{entrypoint}]\n"


def kubeadm_images(kubeadm: Path) -> list[str]:
    """The images kubeadm's ``init`` runs for this version, as it names them."""
    listing = subprocess.run(
        [str(kubeadm), "config", "images", "list", "--kubernetes-version", assets.KUBERNETES_VERSION],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.strip() for line in listing.splitlines() if line.strip()]


def components(images: list[str], binaries: dict[str, Path]) -> list[Component]:
    """Each of kubeadm's images matched with what it runs; one unknown image is an error."""
    made = []
    for image in images:
        name = image.rsplit("/", 1)[-1].split(":", 1)[0]
        if name == "pause":
            made.append(Component(image, None, "", ("/usr/bin/catatonit", "-P")))
        elif name == "coredns":
            made.append(Component(image, binaries["coredns"], "/coredns", ("/coredns",)))
        elif name in binaries:
            path = f"/usr/local/bin/{name}"
            made.append(Component(image, binaries[name], path, (path,)))
        else:
            raise assets.AssetsError(f"kubeadm asks for {image}, which this build does not make.")
    return made


def _file_digest(path: Path) -> str:
    stat = path.stat()
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def inputs_key(parts: list[str]) -> str:
    """A digest of everything the node image is made of (file contents, binaries' identities)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() + b"\0")
    for path in sorted(p for p in HERE.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(HERE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _built_key() -> str | None:
    if not engine_cli.has_image(NODE_IMAGE):
        return None
    label = engine_cli.docker(
        "image", "inspect", "--format", f'{{{{index .Config.Labels "{INPUTS_LABEL}"}}}}', NODE_IMAGE
    )
    return label.strip() or None


def build_components(made: list[Component], base_tag: str, archive: Path, log: Callable[[str], None]) -> None:
    """Build every component image, save them into ``archive`` (shared layers once), untag them."""
    for component in made:
        log(f"building {component.image}")
        with tempfile.TemporaryDirectory(prefix="nc-component-") as folder:
            context = Path(folder)
            if component.binary is not None:
                shutil.copy2(component.binary, context / Path(component.path).name)
            (context / "Dockerfile").write_text(component.dockerfile(base_tag))
            engine_cli.docker("build", "--network=none", "--quiet", "-t", component.image, str(context))
    try:
        engine_cli.docker("save", "-o", str(archive), *(c.image for c in made))
    finally:
        engine_cli.docker("rmi", *(c.image for c in made))


def binaries(log: Callable[[str], None]) -> dict[str, Path]:
    """Every binary the node image and its images hold, built once from Go modules."""
    node_dir = kube.ensure(log)
    control_plane = assets.ensure(log)
    found = {name: node_dir / name for name in kube.PACKAGES}
    found["kube-apiserver"] = control_plane.kube_apiserver
    found["etcd"] = control_plane.etcd
    for tool in kube.TOOLS:
        found[tool] = kube.ensure_tool(tool, log)
    found["runc-capfilter"] = kube.ensure_capfilter(log)
    return found


def ensure_node_image(log: Callable[[str], None]) -> str:
    """The kind node image's tag, built when its inputs changed (cold: minutes; warm: none)."""
    built = binaries(log)
    images = kubeadm_images(built["kubeadm"])
    made = components(images, built)
    key = inputs_key([base.BASE.tag, base.NODE_BASE.tag, *images, *(_file_digest(p) for p in built.values())])
    if _built_key() == key:
        return NODE_IMAGE
    component_base = base.ensure_image(base.BASE, log)
    node_base = base.ensure_image(base.NODE_BASE, log)
    pause = next(c.image for c in made if c.binary is None)
    with tempfile.TemporaryDirectory(prefix="nc-node-image-") as folder:
        context = Path(folder)
        build_components(made, component_base, context / "images.tar", log)
        shutil.copytree(HERE / "files", context / "files")
        config = context / "files" / "etc" / "containerd" / "config.toml"
        config.write_text(config.read_text().replace("registry.k8s.io/pause:PAUSE_VERSION", pause))
        (context / "bin").mkdir()
        for name in (*NODE_BINARIES, "crictl"):
            shutil.copy2(built[name], context / "bin" / name)
        (context / "sbin").mkdir()
        shutil.copy2(built["runc-capfilter"], context / "sbin" / "runc-capfilter")
        shutil.copy2(HERE / "Dockerfile", context / "Dockerfile")
        log(f"building {NODE_IMAGE}")
        engine_cli.docker(
            "build",
            "--network=none",
            "--quiet",
            "--build-arg",
            f"BASE_IMAGE={node_base}",
            "--build-arg",
            f"KUBERNETES_VERSION={assets.KUBERNETES_VERSION}",
            "--label",
            f"{INPUTS_LABEL}={key}",
            "-t",
            NODE_IMAGE,
            str(context),
        )
    return NODE_IMAGE
