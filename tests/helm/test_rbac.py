"""RBAC: exactly the API calls the operator makes, in the scope it watches, and nothing more."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helm.helpers import (
    CLUSTER_OBJECT_NAME,
    FULLNAME,
    NAMESPACE,
    Helm,
    Manifest,
    container,
    find,
    normalized_rules,
    one,
    triples,
)

RW = ["get", "list", "watch", "patch"]
CRDS = triples("apiextensions.k8s.io", ["customresourcedefinitions"], ["list", "watch"])
IN_NAMESPACE = (
    triples("nks.nhncloud.com", ["nksclusters"], RW)
    | triples("nks.nhncloud.com", ["nksnodegroups"], ["list", "watch", "patch"])
    | triples("nks.nhncloud.com", ["nksclusters/status", "nksnodegroups/status"], ["patch"])
    # Owner-reference enforcement: the kubeconfig Secret blocks its NKSCluster's deletion.
    | triples("nks.nhncloud.com", ["nksclusters/finalizers"], ["update"])
    # Read by name only: the operator never lists or watches Secrets.
    | triples("", ["secrets"], ["get", "create", "update", "delete"])
    | triples("", ["events"], ["create"])
)
NAMESPACES = triples("", ["namespaces"], ["list", "watch"])
# Leader election: the Lease is created once, then read and replaced by name.
LEASE_CREATE = triples("coordination.k8s.io", ["leases"], ["create"])
LEASE_BY_NAME = triples("coordination.k8s.io", ["leases"], ["get", "update"])
LEASE_ROLE = f"{FULLNAME}-leader-election"
SECRET_WRITER = triples("", ["secrets"], ["get", "create", "update", "delete"])


def rbac_objects(manifests: list[Manifest]) -> list[Manifest]:
    kinds = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    return [m for m in manifests if m["kind"] in kinds]


def roles_by_namespace(manifests: list[Manifest]) -> dict[str, set[tuple[str, str, str]]]:
    return {
        m["metadata"]["namespace"]: normalized_rules(m["rules"]) for m in find(manifests, "Role")
    }


def cluster_rules(manifests: list[Manifest]) -> set[tuple[str, str, str]]:
    return normalized_rules(one(manifests, "ClusterRole", CLUSTER_OBJECT_NAME)["rules"])


def assert_binds_service_account(binding: Manifest, role_kind: str, role_name: str) -> None:
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": role_kind,
        "name": role_name,
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}
    ]


def test_all_namespaces_cluster_role_holds_exactly_the_operators_calls(helm: Helm) -> None:
    manifests = helm.render()
    # No `namespaces` rule: with all namespaces kopf never lists them.
    assert cluster_rules(manifests) == CRDS | IN_NAMESPACE
    assert not find(manifests, "Role")
    assert not find(manifests, "RoleBinding")
    binding = one(manifests, "ClusterRoleBinding", CLUSTER_OBJECT_NAME)
    assert_binds_service_account(binding, "ClusterRole", CLUSTER_OBJECT_NAME)
    args = container(manifests)["args"]
    assert "--all-namespaces" in args
    assert not [a for a in args if a.startswith("--namespace")]


def assert_lease_role(manifests: list[Manifest], lease: str) -> None:
    """The leader election Role: create on Leases, get/update of the one Lease by name."""
    role = one(manifests, "Role", LEASE_ROLE)
    assert role["metadata"]["namespace"] == NAMESPACE
    by_name = [r for r in role["rules"] if "resourceNames" in r]
    assert [r["resourceNames"] for r in by_name] == [[lease]]
    assert normalized_rules(by_name) == LEASE_BY_NAME
    assert normalized_rules(r for r in role["rules"] if r not in by_name) == LEASE_CREATE
    binding = one(manifests, "RoleBinding", LEASE_ROLE)
    assert binding["metadata"]["namespace"] == NAMESPACE
    assert_binds_service_account(binding, "Role", LEASE_ROLE)


def test_all_namespaces_with_leader_election_adds_only_the_lease_role(helm: Helm) -> None:
    manifests = helm.render({"peering": {"enabled": True, "name": "nks-ha"}})
    assert cluster_rules(manifests) == CRDS | IN_NAMESPACE
    assert_lease_role(manifests, "nks-ha")
    assert roles_by_namespace(manifests) == {NAMESPACE: LEASE_CREATE | LEASE_BY_NAME}
    assert not find(manifests, "Role", FULLNAME)


def test_namespace_list_gets_a_role_per_namespace_and_a_minimal_cluster_role(
    helm: Helm,
) -> None:
    manifests = helm.render({"watchNamespaces": ["team-a", "team-b"]})
    # kopf looks the listed namespaces up (list + watch) even when they are plain names.
    assert cluster_rules(manifests) == CRDS | NAMESPACES
    assert roles_by_namespace(manifests) == {"team-a": IN_NAMESPACE, "team-b": IN_NAMESPACE}
    bindings = {m["metadata"]["namespace"]: m for m in find(manifests, "RoleBinding")}
    assert set(bindings) == {"team-a", "team-b"}
    for binding in bindings.values():
        assert_binds_service_account(binding, "Role", FULLNAME)
    assert_binds_service_account(
        one(manifests, "ClusterRoleBinding"), "ClusterRole", CLUSTER_OBJECT_NAME
    )
    args = container(manifests)["args"]
    assert "--namespace=team-a" in args and "--namespace=team-b" in args
    assert "--all-namespaces" not in args


def test_namespace_list_with_leader_election_keeps_the_lease_in_the_release_namespace(
    helm: Helm,
) -> None:
    manifests = helm.render({"watchNamespaces": ["team-a"], "peering": {"enabled": True}})
    assert cluster_rules(manifests) == CRDS | NAMESPACES
    assert normalized_rules(one(manifests, "Role", FULLNAME)["rules"]) == IN_NAMESPACE
    assert_lease_role(manifests, "nks-operator")
    # The release namespace is watched too: its two Roles keep apart.
    watched = helm.render({"watchNamespaces": [NAMESPACE], "peering": {"enabled": True}})
    assert {m["metadata"]["name"] for m in find(watched, "Role")} == {FULLNAME, LEASE_ROLE}
    assert_lease_role(watched, "nks-operator")


def test_no_lease_rules_without_leader_election(helm: Helm) -> None:
    for values in ({}, {"watchNamespaces": ["team-a"]}, {"watchNamespaces": ["team-*"]}):
        manifests = helm.render(values)
        assert not find(manifests, "Role", LEASE_ROLE)
        assert not find(manifests, "RoleBinding", LEASE_ROLE)
        for obj in rbac_objects(manifests):
            groups = {g for rule in obj.get("rules", []) for g in rule["apiGroups"]}
            assert "coordination.k8s.io" not in groups, obj["metadata"]["name"]


def test_namespace_listing_can_be_dropped_for_plain_names_only(helm: Helm) -> None:
    plain = helm.render({"watchNamespaces": ["team-a"], "rbac": {"listNamespaces": False}})
    assert cluster_rules(plain) == CRDS
    globs = helm.render({"watchNamespaces": ["team-*"], "rbac": {"listNamespaces": False}})
    assert cluster_rules(globs) >= NAMESPACES
    everything = helm.render({"rbac": {"listNamespaces": True}})
    assert not NAMESPACES & cluster_rules(everything)


@pytest.mark.parametrize("pattern", ["team-*", "!kube-system", "team-?", "a,b"])
def test_namespace_globs_get_cluster_rbac_and_namespace_listing(helm: Helm, pattern: str) -> None:
    manifests = helm.render({"watchNamespaces": ["plain", pattern]})
    assert cluster_rules(manifests) == CRDS | IN_NAMESPACE | NAMESPACES
    assert not find(manifests, "Role")
    assert f"--namespace={pattern}" in container(manifests)["args"]


def test_secret_namespaces_get_a_secrets_only_role(helm: Helm) -> None:
    manifests = helm.render(
        {"watchNamespaces": ["team-a"], "rbac": {"secretNamespaces": ["argocd", "team-a"]}}
    )
    # team-a is watched: its Role covers Secrets already, no second Role there.
    assert roles_by_namespace(manifests) == {"team-a": IN_NAMESPACE, "argocd": SECRET_WRITER}
    binding = one(manifests, "RoleBinding", f"{FULLNAME}-secrets")
    assert binding["metadata"]["namespace"] == "argocd"
    assert_binds_service_account(binding, "Role", f"{FULLNAME}-secrets")


def test_secret_namespaces_need_nothing_more_with_all_namespaces(helm: Helm) -> None:
    manifests = helm.render({"rbac": {"secretNamespaces": ["argocd"]}})
    assert not find(manifests, "Role")
    assert cluster_rules(manifests) == CRDS | IN_NAMESPACE


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"peering": {"enabled": True}},
        {"watchNamespaces": ["a", "b"], "peering": {"enabled": True}},
        {"watchNamespaces": ["team-*"], "peering": {"enabled": True}},
        {"watchNamespaces": ["a"], "rbac": {"secretNamespaces": ["argocd"]}},
    ],
    ids=["all", "all-leader", "list-leader", "glob-leader", "list-secrets"],
)
def test_no_wildcards_and_no_privilege_verbs(helm: Helm, values: dict[str, Any]) -> None:
    for obj in rbac_objects(helm.render(values)):
        for rule in obj.get("rules", []):
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[key], f"{obj['kind']} {obj['metadata']['name']}: {rule}"
            assert not {"escalate", "bind", "impersonate", "deletecollection"} & set(rule["verbs"])
            assert "nonResourceURLs" not in rule
            # Only the Lease rules name their object here (test_webhook.py: the webhook).
            if "resourceNames" in rule:
                assert obj["metadata"]["name"] == LEASE_ROLE, rule


def test_rbac_create_false_renders_no_rbac(helm: Helm) -> None:
    assert not rbac_objects(helm.render({"rbac": {"create": False}}))


def test_existing_service_account_is_bound_and_used(helm: Helm) -> None:
    manifests = helm.render({"serviceAccount": {"create": False, "name": "ops"}})
    assert not find(manifests, "ServiceAccount")
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "ops"
    subjects = one(manifests, "ClusterRoleBinding")["subjects"]
    assert subjects == [{"kind": "ServiceAccount", "name": "ops", "namespace": NAMESPACE}]


def test_cluster_scoped_names_include_the_release_namespace(helm: Helm) -> None:
    # Two releases of the same name in two namespaces (sharding) must not collide.
    names = {
        m["metadata"]["name"]
        for m in helm.render({}, namespace="shard-b")
        if m["kind"] in ("ClusterRole", "ClusterRoleBinding")
    }
    assert names == {f"{FULLNAME}-shard-b"}
