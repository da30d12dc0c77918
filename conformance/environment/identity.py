"""Run the controller under test as a ServiceAccount that has only what its RBAC grants.

With ``--nc-controller-rbac deploy`` the suite applies the ServiceAccount, its namespace
and its roles and bindings from the given manifests, asks the API server for a token
(the TokenRequest API, so no token Secret and no token controller are needed), and
hands the controller a kubeconfig with only that token. Whatever the controller does
beyond its roles is then refused with 403, and shows up as failed scenarios.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

CONTEXT = "controller"
TOKEN_SECONDS = 24 * 3600
_IGNORED_FILES = {"kustomization.yaml", "kustomization.yml"}


class IdentityError(RuntimeError):
    """The identity could not be set up; the message is one sentence for the user."""


@dataclass(frozen=True)
class _Kind:
    create: Callable[..., Any]
    read: Callable[..., Any]
    replace: Callable[..., Any]
    delete: Callable[..., Any]
    namespaced: bool


def _kinds(api_client: client.ApiClient) -> dict[str, _Kind]:
    core, rbac = client.CoreV1Api(api_client), client.RbacAuthorizationV1Api(api_client)
    return {
        "Namespace": _Kind(
            core.create_namespace, core.read_namespace, core.replace_namespace, core.delete_namespace, False
        ),
        "ServiceAccount": _Kind(
            core.create_namespaced_service_account,
            core.read_namespaced_service_account,
            core.replace_namespaced_service_account,
            core.delete_namespaced_service_account,
            True,
        ),
        "ClusterRole": _Kind(
            rbac.create_cluster_role,
            rbac.read_cluster_role,
            rbac.replace_cluster_role,
            rbac.delete_cluster_role,
            False,
        ),
        "ClusterRoleBinding": _Kind(
            rbac.create_cluster_role_binding,
            rbac.read_cluster_role_binding,
            rbac.replace_cluster_role_binding,
            rbac.delete_cluster_role_binding,
            False,
        ),
        "Role": _Kind(
            rbac.create_namespaced_role,
            rbac.read_namespaced_role,
            rbac.replace_namespaced_role,
            rbac.delete_namespaced_role,
            True,
        ),
        "RoleBinding": _Kind(
            rbac.create_namespaced_role_binding,
            rbac.read_namespaced_role_binding,
            rbac.replace_namespaced_role_binding,
            rbac.delete_namespaced_role_binding,
            True,
        ),
    }


IDENTITY_KINDS = ("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")


def manifest_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named, and those in the folders named (a kustomization file is not a manifest)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.name not in _IGNORED_FILES
            )
        elif path.is_file():
            files.append(path)
        else:
            raise IdentityError(f"The controller's RBAC manifests {path} do not exist.")
    return files


def load(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """The identity's objects from the manifests, in an order the API server accepts; other kinds
    (the Deployment beside them, say) are left out."""
    objects: list[dict[str, Any]] = []
    for path in manifest_files(paths):
        try:
            documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(err, "problem", None) or "unreadable"
            raise IdentityError(f"The RBAC manifest {path} is not valid YAML{where}: {problem}.") from err
        objects += [d for d in documents if isinstance(d, dict) and d.get("kind") in IDENTITY_KINDS]
    accounts = [o for o in objects if o["kind"] == "ServiceAccount"]
    if len(accounts) != 1:
        named = ", ".join(str(p) for p in paths)
        raise IdentityError(
            f"The controller's RBAC manifests ({named}) must hold exactly one ServiceAccount, "
            f"not {len(accounts)}."
        )
    return sorted(objects, key=lambda o: IDENTITY_KINDS.index(o["kind"]))


def username(objects: list[dict[str, Any]]) -> str:
    account = next(o for o in objects if o["kind"] == "ServiceAccount")
    return f"system:serviceaccount:{account['metadata']['namespace']}:{account['metadata']['name']}"


class ServiceAccountIdentity:
    """Applies the identity's objects, mints its token and writes its kubeconfig;
    ``remove()`` deletes the objects it created (objects that were there already stay)."""

    def __init__(self, api_client: client.ApiClient, objects: list[dict[str, Any]]) -> None:
        self.api_client = api_client
        self.objects = objects
        self.username = username(objects)
        self._kinds = _kinds(api_client)
        self._created: list[dict[str, Any]] = []

    def _call(self, verb: str, manifest: dict[str, Any], *args: Any) -> Any:
        kind = self._kinds[manifest["kind"]]
        name = manifest["metadata"]["name"]
        namespace = [manifest["metadata"].get("namespace", "default")] if kind.namespaced else []
        if verb == "create":
            return kind.create(*namespace, manifest)
        if verb == "replace":
            return kind.replace(name, *namespace, *args)
        return getattr(kind, verb)(name, *namespace)

    def apply(self) -> None:
        for manifest in self.objects:
            described = f"{manifest['kind']} {manifest['metadata']['name']}"
            try:
                self._call("create", manifest)
                self._created.append(manifest)
            except ApiException as err:
                if err.status != 409:
                    raise IdentityError(f"The API server refused {described}: {err.reason}.") from err
                if manifest["kind"] in ("Namespace", "ServiceAccount"):
                    continue  # nothing in them decides what the controller may do
                current = self._call("read", manifest)
                updated = dict(manifest, metadata=dict(manifest["metadata"]))
                updated["metadata"]["resourceVersion"] = current.metadata.resource_version
                self._call("replace", manifest, updated)

    def token(self, seconds: int = TOKEN_SECONDS) -> str:
        account = next(o for o in self.objects if o["kind"] == "ServiceAccount")["metadata"]
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
        )
        try:
            response: Any = client.CoreV1Api(self.api_client).create_namespaced_service_account_token(
                account["name"], account["namespace"], request
            )
        except ApiException as err:
            raise IdentityError(
                f"The API server would not issue a token for {self.username}: {err.reason}."
            ) from err
        return str(response.status.token)

    def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig for the same API server that authenticates only with the ServiceAccount's token."""
        configuration = self.api_client.configuration
        cluster: dict[str, Any] = {"server": configuration.host}
        if not configuration.verify_ssl:
            cluster["insecure-skip-tls-verify"] = True
        elif configuration.ssl_ca_cert:
            cluster["certificate-authority-data"] = base64.b64encode(
                Path(configuration.ssl_ca_cert).read_bytes()
            ).decode()
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": CONTEXT, "cluster": cluster}],
            "users": [{"name": self.username, "user": {"token": self.token()}}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": self.username}}],
            "current-context": CONTEXT,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(yaml.safe_dump(kubeconfig))
        return path

    def remove(self) -> None:
        for manifest in reversed(self._created):
            with contextlib.suppress(ApiException):
                self._call("delete", manifest)
        self._created.clear()
