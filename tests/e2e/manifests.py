"""Rendering kustomizations with the real kustomize, and server-side dry-runs of what they hold."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

TOOLS = str(Path(sys.executable).parent)
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def ensure_deploy_namespace(api_client: client.ApiClient) -> str:
    """notification-system as deploy/namespace.yaml makes it, for tests that need it to exist.
    It stays: without a namespace controller a deleted namespace never goes (the cluster does),
    and objects could no longer be created in it."""
    manifest = yaml.safe_load((DEPLOY / "namespace.yaml").read_text())
    try:
        client.CoreV1Api(api_client).create_namespace(manifest)
    except ApiException as err:
        if err.status != 409:
            raise
    return str(manifest["metadata"]["name"])


def tool(name: str) -> str:
    """kind or kustomize, as ``make kube-tools`` installs them."""
    found = shutil.which(name, path=TOOLS) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; run 'make kube-tools'.")
    return found


def kustomize(folder: Path) -> list[dict[str, Any]]:
    rendered = subprocess.run(
        [tool("kustomize"), "build", str(folder)], capture_output=True, text=True, check=False
    )
    assert rendered.returncode == 0, rendered.stderr
    return [document for document in yaml.safe_load_all(rendered.stdout) if document]


def dry_run_apply(api_client: client.ApiClient, manifest: dict[str, Any]) -> dict[str, Any]:
    """What the API server would make of ``kubectl apply --server-side --dry-run=server``: every
    admission step and validation runs, nothing is stored."""
    dynamic = DynamicClient(api_client)
    resource = dynamic.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
    applied = resource.server_side_apply(
        body=manifest,
        namespace=manifest["metadata"].get("namespace"),
        field_manager="notification-conformance-tests",
        force_conflicts=True,
        dry_run="All",
    )
    result: dict[str, Any] = applied.to_dict()
    return result


def dry_run_create(api_client: client.ApiClient, manifest: dict[str, Any]) -> dict[str, Any]:
    dynamic = DynamicClient(api_client)
    resource = dynamic.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
    created = resource.create(body=manifest, namespace=manifest["metadata"].get("namespace"), dry_run="All")
    result: dict[str, Any] = created.to_dict()
    return result
