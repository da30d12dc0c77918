"""The reference controller needs exactly what deploy/rbac.yaml grants: the API server's own
authorizer agrees on every verb of every resource the controller might touch, a token for the
ServiceAccount is refused everything else, and the suite's full profile passes under it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from clusters.local.controlplane import LocalControlPlane
from conformance.binding.binding import Binding
from conformance.environment import identity
from conformance.environment.run_environment import install_crds
from tests.e2e.conftest import REPO, run_suite
from tests.e2e.manifests import DEPLOY, ensure_deploy_namespace
from tests.e2e.test_misconfiguration import assert_one_sentence

ACCOUNT = "system:serviceaccount:notification-system:notification-controller"
GROUP = "notifications.conformance.dev"
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
RESOURCES = (
    (GROUP, "notificationrequests", ""),
    (GROUP, "notificationrequests", "status"),
    ("", "secrets", ""),
    ("", "events", ""),
    ("coordination.k8s.io", "leases", ""),
    ("", "configmaps", ""),
    ("", "pods", ""),
    ("", "serviceaccounts", ""),
    ("", "serviceaccounts", "token"),
    ("apps", "deployments", ""),
    ("rbac.authorization.k8s.io", "rolebindings", ""),
)
ANYWHERE = {
    (GROUP, "notificationrequests", "", "get"),
    (GROUP, "notificationrequests", "", "list"),
    (GROUP, "notificationrequests", "", "watch"),
    (GROUP, "notificationrequests", "status", "get"),
    (GROUP, "notificationrequests", "status", "update"),
    (GROUP, "notificationrequests", "status", "patch"),
    ("", "secrets", "", "get"),
    ("", "events", "", "create"),
    ("", "events", "", "patch"),
}
LEADER_ELECTION = {("coordination.k8s.io", "leases", "", verb) for verb in ("get", "create", "update")}


@pytest.fixture(scope="module")
def controller_identity(api_client: client.ApiClient) -> Iterator[identity.ServiceAccountIdentity]:
    ensure_deploy_namespace(api_client)
    install_crds(api_client, Binding.load(REPO / "fixtures" / "bindings" / "reference"))
    account = identity.ServiceAccountIdentity(api_client, identity.load([DEPLOY]))
    account.apply()
    yield account
    account.remove()


@pytest.fixture(scope="module")
def as_controller(
    controller_identity: identity.ServiceAccountIdentity, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[client.ApiClient]:
    kubeconfig = controller_identity.write_kubeconfig(tmp_path_factory.mktemp("identity") / "kubeconfig")
    api = config.new_client_from_config(str(kubeconfig))
    yield api
    api.close()


def allowed(
    api_client: client.ApiClient, namespace: str, group: str, resource: str, sub: str, verb: str
) -> bool:
    review = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=ACCOUNT,
            groups=[
                "system:serviceaccounts",
                "system:serviceaccounts:notification-system",
                "system:authenticated",
            ],
            resource_attributes=client.V1ResourceAttributes(
                namespace=namespace, group=group, resource=resource, subresource=sub, verb=verb
            ),
        )
    )
    answer: Any = client.AuthorizationV1Api(api_client).create_subject_access_review(review)
    return bool(answer.status.allowed)


def test_the_role_grants_exactly_the_agreed_permissions(
    api_client: client.ApiClient, controller_identity: identity.ServiceAccountIdentity
) -> None:
    assert controller_identity.username == ACCOUNT
    for namespace in ("", "team-a", "notification-system"):
        granted = {
            (group, resource, sub, verb)
            for (group, resource, sub), verb in itertools.product(RESOURCES, VERBS)
            if allowed(api_client, namespace, group, resource, sub, verb)
        }
        expected = ANYWHERE | (LEADER_ELECTION if namespace == "notification-system" else set())
        assert granted == expected, f"namespace {namespace or '(all)'}"
    for verb in VERBS:
        assert not allowed(api_client, "", "", "namespaces", "", verb), verb


def status_of(call: Callable[[], object]) -> int:
    """The HTTP status of a call made with the controller's token (2xx as 200)."""
    try:
        call()
    except ApiException as err:
        return int(err.status)
    return 200


def test_the_token_is_refused_outside_the_role(as_controller: client.ApiClient) -> None:
    core = client.CoreV1Api(as_controller)
    custom = client.CustomObjectsApi(as_controller)
    leases = client.CoordinationV1Api(as_controller)
    lease: Any = {"metadata": {"name": "notification-controller"}, "spec": {"holderIdentity": "test"}}
    event: Any = {
        "metadata": {"generateName": "nr-"},
        "involvedObject": {"kind": "NotificationRequest", "namespace": "default", "name": "n"},
        "reason": "Sent",
        "message": "delivered",
    }
    notification = {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "NotificationRequest",
        "metadata": {"name": "n"},
    }
    refused = {
        "list secrets in all namespaces": lambda: core.list_secret_for_all_namespaces(),
        "list secrets in a namespace": lambda: core.list_namespaced_secret("default"),
        "delete a namespace": lambda: core.delete_namespace("default", dry_run="All"),
        "create a NotificationRequest": lambda: custom.create_namespaced_custom_object(
            GROUP, "v1alpha1", "default", "notificationrequests", notification, dry_run="All"
        ),
        "change a NotificationRequest's spec": lambda: custom.patch_namespaced_custom_object(
            GROUP, "v1alpha1", "default", "notificationrequests", "n", {"spec": {}}
        ),
        "create a ConfigMap": lambda: core.create_namespaced_config_map(
            "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c")), dry_run="All"
        ),
        "take a Lease outside its namespace": lambda: leases.create_namespaced_lease(
            "default", lease, dry_run="All"
        ),
        "mint tokens": lambda: core.create_namespaced_service_account_token(
            "notification-controller",
            "notification-system",
            client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[])),
        ),
    }
    assert {what: status_of(call) for what, call in refused.items()} == dict.fromkeys(refused, 403)
    permitted = {
        "list NotificationRequests everywhere": lambda: custom.list_cluster_custom_object(
            GROUP, "v1alpha1", "notificationrequests"
        ),
        "read a Secret by name": lambda: core.read_namespaced_secret("webhook-token", "default"),
        "write a NotificationRequest's status": lambda: custom.patch_namespaced_custom_object_status(
            GROUP, "v1alpha1", "default", "notificationrequests", "n", {"status": {}}
        ),
        "record an Event": lambda: core.create_namespaced_event("default", event, dry_run="All"),
        "take its Lease": lambda: leases.create_namespaced_lease("notification-system", lease, dry_run="All"),
    }
    assert {what: status_of(call) for what, call in permitted.items()} == {
        "list NotificationRequests everywhere": 200,
        "read a Secret by name": 404,  # allowed to look; there is none
        "write a NotificationRequest's status": 404,
        "record an Event": 200,
        "take its Lease": 200,
    }


def test_full_profile_passes_under_the_least_privilege_identity(
    tmp_path: Path, local_cluster: LocalControlPlane, controller_identity: identity.ServiceAccountIdentity
) -> None:
    run = run_suite(
        tmp_path,
        "--nc-cluster=existing",
        f"--nc-kubeconfig={local_cluster.kubeconfig_path}",
        "--nc-controller-rbac=deploy",
        full=True,
    )
    assert run.returncode == 0, run.output
    assert run.report is not None
    assert run.report["result"] == "success", run.output
    assert run.report["environment"]["controllerIdentity"] == ACCOUNT
    scenarios = run.report["scenarios"]
    assert len(scenarios) >= 32 and all(s["passed"] for s in scenarios)
    assert "skipped" not in run.output.rsplit("\n", 2)[-2], run.output


def crippled_rbac(folder: Path) -> Path:
    """deploy/'s identity under other names, without the right to write status."""
    folder.mkdir()
    text = (DEPLOY / "serviceaccount.yaml").read_text() + "---\n" + (DEPLOY / "rbac.yaml").read_text()
    objects = [
        o for o in yaml.safe_load_all(text.replace("notification-controller", "crippled-controller")) if o
    ]
    role = next(o for o in objects if o["kind"] == "ClusterRole")
    role["rules"] = [r for r in role["rules"] if r["resources"] != ["notificationrequests/status"]]
    (folder / "rbac.yaml").write_text(yaml.safe_dump_all(objects))
    return folder


def test_the_suite_runs_the_controller_with_only_the_given_rights(
    tmp_path: Path, local_cluster: LocalControlPlane, api_client: client.ApiClient
) -> None:
    """Take away the status write and the reference controller fails: the option really binds it."""
    ensure_deploy_namespace(api_client)
    run = run_suite(
        tmp_path,
        "--nc-cluster=existing",
        f"--nc-kubeconfig={local_cluster.kubeconfig_path}",
        f"--nc-controller-rbac={crippled_rbac(tmp_path / 'rbac')}",
        "-k",
        "console-delivers",
    )
    assert run.returncode == 1, run.output
    assert run.report is not None and run.report["result"] == "failure"
    identity_used = run.report["environment"]["controllerIdentity"]
    assert identity_used == "system:serviceaccount:notification-system:crippled-controller"
    log = (tmp_path / "report" / "controller.log").read_text().replace("\\", "").replace('"', "")
    assert f"User {identity_used} cannot update resource notificationrequests/status" in log
    rbac = client.RbacAuthorizationV1Api(api_client)
    with pytest.raises(ApiException) as gone:
        rbac.read_cluster_role("crippled-controller")
    assert gone.value.status == 404  # what the run applied, it removed


@pytest.mark.parametrize(
    ("manifests", "sentence"),
    [
        ("/nonexistent/rbac", "ERROR: The controller's RBAC manifests /nonexistent/rbac do not exist."),
        ("fixtures/crds", "must hold exactly one ServiceAccount, not 0."),
    ],
)
def test_wrong_rbac_manifests_are_one_sentence(
    tmp_path: Path, local_cluster: LocalControlPlane, manifests: str, sentence: str
) -> None:
    run = run_suite(
        tmp_path,
        "--nc-cluster=existing",
        f"--nc-kubeconfig={local_cluster.kubeconfig_path}",
        f"--nc-controller-rbac={manifests}",
    )
    assert_one_sentence(run.output, sentence)
