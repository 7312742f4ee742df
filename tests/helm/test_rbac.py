"""RBAC: exactly the API calls the operator makes, in the scope it watches, and nothing more."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.helm.helpers import (
    CHART,
    CLUSTER_OBJECT_NAME,
    FULLNAME,
    NAMESPACE,
    Helm,
    Manifest,
    container,
    env_of,
    find,
    normalized_rules,
    one,
    operator_settings,
    triples,
)

RW = ["get", "list", "watch", "patch"]
CRDS = triples("apiextensions.k8s.io", ["customresourcedefinitions"], ["list", "watch"])
# The operator's ownership records: cluster-scoped, so in the ClusterRole in every scope.
OWNERSHIPS = triples(
    "nks.nhncloud.com", ["nksownerships"], ["get", "list", "create", "update", "delete"]
)
CLUSTER_WIDE = CRDS | OWNERSHIPS
IN_NAMESPACE = (
    triples("nks.nhncloud.com", ["nksclusters"], RW)
    | triples("nks.nhncloud.com", ["nksnodegroups"], ["list", "watch", "patch"])
    | triples("nks.nhncloud.com", ["nksclusters/status", "nksnodegroups/status"], ["patch"])
    # Owner-reference enforcement: the kubeconfig Secret blocks its NKSCluster's deletion.
    | triples("nks.nhncloud.com", ["nksclusters/finalizers"], ["update"])
    # Read by name only: the operator never lists or watches Secrets. Patched for the
    # credentials finalizer; never deleted.
    | triples("", ["secrets"], ["get", "create", "update", "patch"])
    | triples("", ["events"], ["create"])
)
# Argo CD cluster Secrets are the only Secrets the operator deletes.
SECRET_DELETE = triples("", ["secrets"], ["delete"])
ARGOCD_SECRETS = triples("", ["secrets"], ["get", "create", "update", "delete"])
ARGOCD_ROLE = f"{FULLNAME}-argocd"
NAMESPACES = triples("", ["namespaces"], ["list", "watch"])
# Leader election: the Lease is created once, then read and replaced by name.
LEASE_CREATE = triples("coordination.k8s.io", ["leases"], ["create"])
LEASE_BY_NAME = triples("coordination.k8s.io", ["leases"], ["get", "update"])
LEASE_ROLE = f"{FULLNAME}-leader-election"
# The signing key: created once in the release namespace, then read by name.
SIGNING_KEY_ROLE = f"{FULLNAME}-signing-key"
SIGNING_KEY_SECRET = f"{FULLNAME}-signing-key"
SIGNING_KEY = triples("", ["secrets"], ["create", "get"])
VIEW_ROLE = f"{CLUSTER_OBJECT_NAME}-view"
EDIT_ROLE = f"{CLUSTER_OBJECT_NAME}-edit"
USER_KINDS = ["nksclusters", "nksnodegroups"]


def rbac_objects(manifests: list[Manifest]) -> list[Manifest]:
    kinds = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    return [m for m in manifests if m["kind"] in kinds]


def roles(manifests: list[Manifest]) -> dict[tuple[str, str], set[tuple[str, str, str]]]:
    """The rules of each Role, by (namespace, name)."""
    return {
        (m["metadata"]["namespace"], m["metadata"]["name"]): normalized_rules(m["rules"])
        for m in find(manifests, "Role")
    }


def operator_roles(manifests: list[Manifest]) -> list[Manifest]:
    """The (Cluster)Roles bound to the operator (not the aggregated ones for users)."""
    return [
        m
        for m in manifests
        if m["kind"] == "Role"
        or (m["kind"] == "ClusterRole" and m["metadata"]["name"] == CLUSTER_OBJECT_NAME)
    ]


# The Role every install has in the release namespace, whatever the scope.
SIGNING_KEY_ENTRY = {(NAMESPACE, SIGNING_KEY_ROLE): SIGNING_KEY}


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
    assert cluster_rules(manifests) == CLUSTER_WIDE | IN_NAMESPACE | SECRET_DELETE
    assert roles(manifests) == SIGNING_KEY_ENTRY
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
    manifests = helm.render({"leaderElection": {"enabled": True, "name": "nks-ha"}})
    assert cluster_rules(manifests) == CLUSTER_WIDE | IN_NAMESPACE | SECRET_DELETE
    assert_lease_role(manifests, "nks-ha")
    assert roles(manifests) == {
        (NAMESPACE, LEASE_ROLE): LEASE_CREATE | LEASE_BY_NAME,
        **SIGNING_KEY_ENTRY,
    }


def test_namespace_list_gets_a_role_per_namespace_and_a_minimal_cluster_role(
    helm: Helm,
) -> None:
    manifests = helm.render({"watchNamespaces": ["team-a", "team-b"]})
    # kopf looks the listed namespaces up (list + watch) even when they are plain names.
    assert cluster_rules(manifests) == CLUSTER_WIDE | NAMESPACES
    assert roles(manifests) == {
        ("team-a", FULLNAME): IN_NAMESPACE,
        ("team-b", FULLNAME): IN_NAMESPACE,
        **SIGNING_KEY_ENTRY,
    }
    bindings = {m["metadata"]["namespace"]: m for m in find(manifests, "RoleBinding", FULLNAME)}
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
    manifests = helm.render({"watchNamespaces": ["team-a"], "leaderElection": {"enabled": True}})
    assert cluster_rules(manifests) == CLUSTER_WIDE | NAMESPACES
    assert normalized_rules(one(manifests, "Role", FULLNAME)["rules"]) == IN_NAMESPACE
    assert_lease_role(manifests, "nks-operator")
    # The release namespace is watched too: its Roles keep apart.
    watched = helm.render({"watchNamespaces": [NAMESPACE], "leaderElection": {"enabled": True}})
    assert {m["metadata"]["name"] for m in find(watched, "Role")} == {
        FULLNAME,
        LEASE_ROLE,
        SIGNING_KEY_ROLE,
    }
    assert_lease_role(watched, "nks-operator")


@pytest.mark.parametrize("watch", [[], ["team-a"], ["team-*"]], ids=["all", "list", "glob"])
def test_signing_key_role_in_the_release_namespace_reads_only_the_key(
    helm: Helm, watch: list[str]
) -> None:
    manifests = helm.render({"watchNamespaces": watch})
    role = one(manifests, "Role", SIGNING_KEY_ROLE)
    assert role["metadata"]["namespace"] == NAMESPACE
    # `create` cannot be limited to a name; `get` is.
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": [SIGNING_KEY_SECRET],
            "verbs": ["get"],
        },
    ]
    assert_binds_service_account(
        one(manifests, "RoleBinding", SIGNING_KEY_ROLE), "Role", SIGNING_KEY_ROLE
    )
    # The operator reads that very name.
    assert env_of(manifests)["NKS_SIGNING_KEY_SECRET"] == {
        "name": "NKS_SIGNING_KEY_SECRET",
        "value": SIGNING_KEY_SECRET,
    }


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"watchNamespaces": ["team-a"]},
        {"watchNamespaces": ["team-*"]},
        {"watchNamespaces": ["team-a"], "rbac": {"listNamespaces": False}},
    ],
    ids=["all", "list", "glob", "list-unlisted"],
)
def test_ownership_records_are_granted_cluster_wide_in_every_scope(
    helm: Helm, values: dict[str, Any]
) -> None:
    manifests = helm.render(values)
    assert cluster_rules(manifests) >= OWNERSHIPS
    for role in find(manifests, "Role"):
        assert "nksownerships" not in {r for rule in role["rules"] for r in rule["resources"]}


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
    assert cluster_rules(plain) == CLUSTER_WIDE
    globs = helm.render({"watchNamespaces": ["team-*"], "rbac": {"listNamespaces": False}})
    assert cluster_rules(globs) >= NAMESPACES
    everything = helm.render({"rbac": {"listNamespaces": True}})
    assert not NAMESPACES & cluster_rules(everything)


@pytest.mark.parametrize("pattern", ["team-*", "!kube-system", "team-?", "a,b"])
def test_namespace_globs_get_cluster_rbac_and_namespace_listing(helm: Helm, pattern: str) -> None:
    manifests = helm.render({"watchNamespaces": ["plain", pattern]})
    assert cluster_rules(manifests) == CLUSTER_WIDE | IN_NAMESPACE | SECRET_DELETE | NAMESPACES
    assert roles(manifests) == SIGNING_KEY_ENTRY
    assert f"--namespace={pattern}" in container(manifests)["args"]


def test_argocd_namespace_gets_a_role_when_a_namespace_list_may_register(helm: Helm) -> None:
    values = {
        "watchNamespaces": ["team-a"],
        "argocd": {"namespace": "gitops", "allowedNamespaces": ["team-*"]},
    }
    manifests = helm.render(values)
    assert roles(manifests) == {
        ("team-a", FULLNAME): IN_NAMESPACE,
        ("gitops", ARGOCD_ROLE): ARGOCD_SECRETS,
        **SIGNING_KEY_ENTRY,
    }
    binding = one(manifests, "RoleBinding", ARGOCD_ROLE)
    assert binding["metadata"]["namespace"] == "gitops"
    assert_binds_service_account(binding, "Role", ARGOCD_ROLE)
    # The operator writes where the Role is.
    env = env_of(manifests)
    assert env["NKS_ARGOCD_NAMESPACE"]["value"] == "gitops"
    assert env["NKS_ARGOCD_ALLOWED_NAMESPACES"]["value"] == "team-*"
    # Deleting a Secret: nowhere but there.
    for (namespace, _), rules in roles(manifests).items():
        assert bool(rules & SECRET_DELETE) == (namespace == "gitops")


def test_no_argocd_role_when_no_namespace_may_register(helm: Helm) -> None:
    # Empty: only the release namespace may register (the operator's default), and the
    # chart assumes no Argo CD namespace, which may not exist.
    manifests = helm.render({"watchNamespaces": ["team-a"]})
    assert not find(manifests, "Role", ARGOCD_ROLE)
    assert env_of(manifests)["NKS_ARGOCD_NAMESPACE"]["value"] == "argocd"
    assert "NKS_ARGOCD_ALLOWED_NAMESPACES" not in env_of(manifests)


def test_watched_argocd_namespace_still_gets_the_delete_rule(helm: Helm) -> None:
    # Its watched Role writes Secrets but never deletes them: the Argo CD Role adds that.
    manifests = helm.render({"watchNamespaces": ["team-a", "argocd"]})
    assert roles(manifests) == {
        ("team-a", FULLNAME): IN_NAMESPACE,
        ("argocd", FULLNAME): IN_NAMESPACE,
        ("argocd", ARGOCD_ROLE): ARGOCD_SECRETS,
        **SIGNING_KEY_ENTRY,
    }


@pytest.mark.parametrize("watch", [[], ["team-*"]], ids=["all", "glob"])
def test_cluster_wide_scopes_cover_the_argocd_namespace_in_the_cluster_role(
    helm: Helm, watch: list[str]
) -> None:
    manifests = helm.render({"watchNamespaces": watch, "argocd": {"allowedNamespaces": ["*"]}})
    assert not find(manifests, "Role", ARGOCD_ROLE)
    assert cluster_rules(manifests) >= ARGOCD_SECRETS


def test_aggregated_roles_give_users_the_two_kinds_and_nothing_of_the_operators(
    helm: Helm,
) -> None:
    manifests = helm.render()
    view = one(manifests, "ClusterRole", VIEW_ROLE)
    edit = one(manifests, "ClusterRole", EDIT_ROLE)
    aggregate = "rbac.authorization.k8s.io/aggregate-to-"
    assert {k: v for k, v in view["metadata"]["labels"].items() if k.startswith(aggregate)} == {
        f"{aggregate}view": "true"
    }
    assert {k: v for k, v in edit["metadata"]["labels"].items() if k.startswith(aggregate)} == {
        f"{aggregate}edit": "true",
        f"{aggregate}admin": "true",
    }
    read = ["get", "list", "watch"]
    write = ["create", "update", "patch", "delete", "deletecollection"]
    assert normalized_rules(view["rules"]) == triples("nks.nhncloud.com", USER_KINDS, read)
    assert normalized_rules(edit["rules"]) == triples("nks.nhncloud.com", USER_KINDS, read + write)
    # Nobody binds them directly; Kubernetes aggregates them.
    for binding in find(manifests, "ClusterRoleBinding") + find(manifests, "RoleBinding"):
        assert binding["roleRef"]["name"] not in (VIEW_ROLE, EDIT_ROLE)


def test_aggregation_can_be_turned_off(helm: Helm) -> None:
    manifests = helm.render({"rbac": {"aggregateClusterRoles": False}})
    assert [m["metadata"]["name"] for m in find(manifests, "ClusterRole")] == [CLUSTER_OBJECT_NAME]
    assert not find(helm.render({"rbac": {"create": False}}), "ClusterRole")


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"leaderElection": {"enabled": True}},
        {"watchNamespaces": ["a", "b"], "leaderElection": {"enabled": True}},
        {"watchNamespaces": ["team-*"], "leaderElection": {"enabled": True}},
        {"watchNamespaces": ["a"], "argocd": {"allowedNamespaces": ["a"]}},
        {"webhook": {"enabled": True}},
    ],
    ids=["all", "all-leader", "list-leader", "glob-leader", "list-argocd", "webhook"],
)
def test_no_wildcards_and_no_privilege_verbs(helm: Helm, values: dict[str, Any]) -> None:
    manifests = helm.render(values)
    for obj in rbac_objects(manifests):
        for rule in obj.get("rules", []):
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[key], f"{obj['kind']} {obj['metadata']['name']}: {rule}"
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
            assert "nonResourceURLs" not in rule
    for obj in operator_roles(manifests):
        for rule in obj["rules"]:
            assert "deletecollection" not in rule["verbs"]
            # Objects named: the Lease, the signing key, the webhook configuration.
            if "resourceNames" in rule:
                assert obj["metadata"]["name"] in (
                    LEASE_ROLE,
                    SIGNING_KEY_ROLE,
                    CLUSTER_OBJECT_NAME,
                ), rule
    # Secrets are read by name only: never listed or watched.
    for obj in operator_roles(manifests):
        secrets = {
            v for rule in obj["rules"] if "secrets" in rule["resources"] for v in rule["verbs"]
        }
        assert not {"list", "watch"} & secrets


def test_rbac_create_false_renders_no_rbac(helm: Helm) -> None:
    assert not rbac_objects(helm.render({"rbac": {"create": False}}))


def test_existing_service_account_is_bound_and_used(helm: Helm) -> None:
    manifests = helm.render({"serviceAccount": {"create": False, "name": "ops"}})
    assert not find(manifests, "ServiceAccount")
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "ops"
    subjects = one(manifests, "ClusterRoleBinding")["subjects"]
    assert subjects == [{"kind": "ServiceAccount", "name": "ops", "namespace": NAMESPACE}]
    for binding in find(manifests, "RoleBinding"):
        assert binding["subjects"] == subjects


def test_cluster_scoped_names_include_the_release_namespace(helm: Helm) -> None:
    # Two releases of the same name in two namespaces (sharding) must not collide.
    names = {
        m["metadata"]["name"]
        for m in helm.render({}, namespace="shard-b")
        if m["kind"] in ("ClusterRole", "ClusterRoleBinding")
    }
    assert names == {f"{FULLNAME}-shard-b", f"{FULLNAME}-shard-b-view", f"{FULLNAME}-shard-b-edit"}


def readme_recipe() -> dict[str, Any]:
    """The values file of the README's "Multi-tenant install"."""
    section = (CHART / "README.md").read_text().split("## Multi-tenant install", 1)[1]
    return yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])


def test_multi_tenant_recipe_of_the_readme_confines_the_operator(helm: Helm) -> None:
    values = readme_recipe()
    manifests = helm.render(values)
    # Cluster-wide only what is cluster-wide by nature; a Role per team; Argo CD's.
    assert cluster_rules(manifests) == CLUSTER_WIDE | NAMESPACES
    assert roles(manifests) == {
        ("team-a", FULLNAME): IN_NAMESPACE,
        ("team-b", FULLNAME): IN_NAMESPACE,
        ("argocd", ARGOCD_ROLE): ARGOCD_SECRETS,
        **SIGNING_KEY_ENTRY,
    }
    settings = operator_settings(manifests)
    assert settings.default_credentials_allowed(NAMESPACE)
    assert not settings.default_credentials_allowed("team-a")
    assert not settings.endpoint_policy().allows("http://10.0.0.1/v2.0/tokens")
    assert settings.endpoint_policy().allows("https://api-nks.nhncloudservice.com/v1")
    assert settings.argocd_namespace == "argocd"
    assert settings.argocd_registration_allowed("team-b")
    assert not settings.argocd_registration_allowed("team-c")
    assert settings.argocd_project_allowed("team-a", "team-a")
    assert not settings.argocd_project_allowed("team-b", "team-a")
    assert not settings.argocd_project_allowed(None, "team-a")
    assert not settings.argocd_label_key_allowed("env")
    # The webhook applies to the teams' namespaces only.
    config = one(manifests, "ValidatingWebhookConfiguration")
    for hook in config["webhooks"]:
        selector = hook["namespaceSelector"]["matchExpressions"][0]
        assert selector["values"] == ["team-a", "team-b"]
    # Self-signed instead of cert-manager: one named configuration more, nothing else.
    values["webhook"]["certManager"]["enabled"] = False
    self_signed = helm.render(values)
    extra = cluster_rules(self_signed) - cluster_rules(manifests)
    assert extra == triples(
        "admissionregistration.k8s.io", ["validatingwebhookconfigurations"], ["get", "patch"]
    )
