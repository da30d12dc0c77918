"""Which objects --nc-controller-rbac takes from the manifests it is given, and the sentences
it answers wrong manifests with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.environment import identity

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_takes_the_identity_from_deploy_in_an_order_the_api_server_accepts() -> None:
    objects = identity.load([DEPLOY])
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Namespace", "notification-system"),
        ("ServiceAccount", "notification-controller"),
        ("ClusterRole", "notification-controller"),
        ("ClusterRoleBinding", "notification-controller"),
        ("Role", "notification-controller-leader-election"),
        ("RoleBinding", "notification-controller-leader-election"),
    ]
    assert identity.username(objects) == "system:serviceaccount:notification-system:notification-controller"


def test_files_and_folders_mix(tmp_path: Path) -> None:
    objects = identity.load([DEPLOY / "serviceaccount.yaml", DEPLOY / "rbac.yaml"])
    assert [o["kind"] for o in objects] == [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
    ]


def test_every_binding_names_the_service_account() -> None:
    objects = identity.load([DEPLOY])
    account = next(o for o in objects if o["kind"] == "ServiceAccount")["metadata"]
    for binding in (o for o in objects if o["kind"].endswith("Binding")):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
        ]


@pytest.mark.parametrize(
    ("content", "sentence"),
    [
        ("kind: ConfigMap\nmetadata: {name: x}\n", "must hold exactly one ServiceAccount, not 0."),
        (
            "kind: ServiceAccount\nmetadata: {name: a, namespace: n}\n---\n"
            "kind: ServiceAccount\nmetadata: {name: b, namespace: n}\n",
            "must hold exactly one ServiceAccount, not 2.",
        ),
        ("kind: [unclosed\n", "is not valid YAML at line 2: expected ',' or ']', but got '<stream end>'."),
    ],
)
def test_wrong_manifests_are_one_sentence(tmp_path: Path, content: str, sentence: str) -> None:
    (tmp_path / "rbac.yaml").write_text(content)
    with pytest.raises(identity.IdentityError, match=re.escape(sentence)):
        identity.load([tmp_path])


def test_a_missing_path_is_named() -> None:
    with pytest.raises(identity.IdentityError, match=r"manifests /nonexistent do not exist\.$"):
        identity.load([Path("/nonexistent")])
