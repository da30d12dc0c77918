"""deploy/ and the kind overlay on top of it, judged by the real API server (server-side
dry-runs: every validation and admission step, nothing stored) and by the real kind and
kustomize. What needs a Docker engine (building the image, pods running) is not here."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.dynamic.exceptions import DynamicApiError

from clusters.kind import IMAGE, KindCluster
from clusters.local.controlplane import LocalControlPlane
from tests.e2e.conftest import REPO
from tests.e2e.manifests import dry_run_apply, dry_run_create, ensure_deploy_namespace, kustomize, tool

DEPLOY = REPO / "deploy"
NAMESPACE = "notification-system"


@pytest.fixture(scope="module")
def deploy_namespace(api_client: client.ApiClient) -> str:
    return ensure_deploy_namespace(api_client)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind]
    return found


def test_deploy_renders_the_agreed_objects() -> None:
    objects = kustomize(DEPLOY)
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == [
        ("ClusterRole", "notification-controller"),
        ("ClusterRoleBinding", "notification-controller"),
        ("CustomResourceDefinition", "notificationrequests.notifications.conformance.dev"),
        ("Deployment", "notification-controller"),
        ("Namespace", NAMESPACE),
        ("Role", "notification-controller-leader-election"),
        ("RoleBinding", "notification-controller-leader-election"),
        ("Service", "notification-controller-metrics"),
        ("ServiceAccount", "notification-controller"),
    ]
    crd = by_kind(objects, "CustomResourceDefinition")
    assert crd == yaml.safe_load((REPO / "fixtures" / "crds" / "notificationrequests.yaml").read_text())


def test_every_manifest_passes_a_server_side_dry_run(
    api_client: client.ApiClient, deploy_namespace: str
) -> None:
    for manifest in kustomize(DEPLOY):
        answer = dry_run_apply(api_client, manifest)
        assert (answer["kind"], answer["metadata"]["name"]) == (
            manifest["kind"],
            manifest["metadata"]["name"],
        )


def test_the_dry_run_does_refuse_an_invalid_deployment(
    api_client: client.ApiClient, deploy_namespace: str
) -> None:
    """The dry-run above can fail: a probe on a port the container does not name is refused."""
    deployment = copy.deepcopy(by_kind(kustomize(DEPLOY), "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] = "nope-" * 4
    with pytest.raises(DynamicApiError) as refused:
        dry_run_apply(api_client, deployment)
    assert refused.value.status == 422


def refusal(error: DynamicApiError) -> str:
    message: str = json.loads(error.body or "{}")["message"]
    return message


def pod_from(deployment: dict[str, Any], name: str) -> dict[str, Any]:
    template = copy.deepcopy(deployment["spec"]["template"])
    metadata = dict(template["metadata"], name=name, namespace=deployment["metadata"]["namespace"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}


def test_the_pods_meet_the_restricted_pod_security_level(
    api_client: client.ApiClient, deploy_namespace: str
) -> None:
    """notification-system enforces the restricted level; a pod of the Deployment is admitted,
    and the same pod allowed to escalate privileges is not."""
    deployment = by_kind(kustomize(DEPLOY), "Deployment")
    admitted = dry_run_create(api_client, pod_from(deployment, "controller-restricted"))
    assert admitted["metadata"]["name"] == "controller-restricted"
    escalating = pod_from(deployment, "controller-escalating")
    escalating["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    with pytest.raises(DynamicApiError) as refused:
        dry_run_create(api_client, escalating)
    assert refused.value.status == 403
    assert 'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false' in refusal(
        refused.value
    )


def test_deployment_is_locked_down_and_probed() -> None:
    spec = by_kind(kustomize(DEPLOY), "Deployment")["spec"]
    pod = spec["template"]["spec"]
    [container] = pod["containers"]
    assert spec["replicas"] == 2 and "--leader-elect" in container["args"]
    assert pod["serviceAccountName"] == "notification-controller"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert {
        "name": "POD_NAMESPACE",
        "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
    } in container["env"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["ports"] == [{"name": "metrics", "containerPort": 8080, "protocol": "TCP"}]
    assert "--metrics-bind-address=:8080" in container["args"]
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    [root] = [m for m in container["volumeMounts"] if m["name"] == "notifications"]
    assert f"--file-root={root['mountPath']}" in container["args"]


@pytest.fixture
def kind_files(tmp_path: Path) -> KindCluster:
    shared = tmp_path / "run"
    shared.mkdir()
    kind = KindCluster(tmp_path / "cluster", shared, user=(1001, 1001))
    kind.write_files()
    return kind


def test_kind_overlay_renders_and_passes_a_server_side_dry_run(
    api_client: client.ApiClient, deploy_namespace: str, kind_files: KindCluster
) -> None:
    objects = kustomize(kind_files.overlay_path)
    shared = str(kind_files.shared)
    pod = by_kind(objects, "Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == IMAGE and container["imagePullPolicy"] == "Never"
    assert f"--file-root={shared}" in container["args"]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == "notifications"]
    assert mount == {"name": "notifications", "mountPath": shared, "mountPropagation": "HostToContainer"}
    [volume] = [v for v in pod["volumes"] if v["name"] == "notifications"]
    assert volume == {"name": "notifications", "hostPath": {"path": shared, "type": "Directory"}}
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (1001, 1001)
    labels = by_kind(objects, "Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    for manifest in objects:
        dry_run_apply(api_client, manifest)


def test_kind_overlay_pod_needs_the_privileged_level_only_for_its_host_path(
    api_client: client.ApiClient, deploy_namespace: str, kind_files: KindCluster
) -> None:
    """Under the restricted level (deploy/'s namespace) the kind pod is refused for its hostPath
    volume and nothing else: the overlay loosens what it must and no more."""
    deployment = by_kind(kustomize(kind_files.overlay_path), "Deployment")
    with pytest.raises(DynamicApiError) as refused:
        dry_run_create(api_client, pod_from(deployment, "controller-kind"))
    violations = refusal(refused.value).split('violates PodSecurity "restricted:latest": ', 1)[1]
    assert (
        violations
        == 'restricted volume types (volume "notifications" uses restricted volume type "hostPath")'
    )


def kind_create(config: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``kind create cluster`` with no Docker engine to reach: kind decodes and checks the
    config strictly first, so the error says how far it got."""
    environment = dict(
        os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock", KIND_EXPERIMENTAL_PROVIDER="docker"
    )
    return subprocess.run(
        [tool("kind"), "create", "cluster", "--name", "nc-config-check", "--config", str(config)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def test_kind_accepts_the_rendered_config(kind_files: KindCluster, tmp_path: Path) -> None:
    accepted = kind_create(kind_files.config_path, tmp_path)
    assert accepted.returncode != 0
    assert "failed to get docker info" in accepted.stderr, accepted.stderr
    assert "unable to decode config" not in accepted.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        kind_files.kind_config().replace("propagation: HostToContainer", "propagation: Sideways")
    )
    refused = kind_create(broken, tmp_path)
    assert 'unable to decode config: Unknown MountPropagation: "Sideways"' in refused.stderr, refused.stderr


def test_the_providers_kubectl_apply_is_accepted(
    local_cluster: LocalControlPlane, deploy_namespace: str, kind_files: KindCluster
) -> None:
    """The provider's own ``kubectl apply`` line, with --dry-run=server added, against the local
    API server: kubectl's built-in kustomize reads the run's overlay and the server accepts it all."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed here (the kind gate installs it)")
    [apply] = [c.argv for c in kind_files.start_commands() if "apply" in c.argv]
    argv = [kubectl, *apply[1:]]
    argv[argv.index("--kubeconfig") + 1] = str(local_cluster.kubeconfig_path)
    applied = subprocess.run(
        [*argv, "--dry-run=server"], capture_output=True, text=True, timeout=120, check=False
    )
    assert applied.returncode == 0, applied.stderr
    assert "deployment.apps/notification-controller serverside-applied (server dry run)" in applied.stdout
    assert len(applied.stdout.strip().splitlines()) == 9, applied.stdout
