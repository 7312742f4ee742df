"""`helm install` / `helm upgrade` / `helm uninstall` into the real kube-apiserver.

No pod ever runs there (no scheduler, no kubelet), so these tests check what the apiserver
stores and enforces: the objects, their RBAC (`kubectl auth can-i` as the operator's
ServiceAccount) and the CRD upgrade step of the README. tests/rbac runs the operator
itself with nothing but the chart's permissions.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nks_devtools.localkube import LocalKube, LocalKubeError
from tests.e2e.helpers import cluster_manifest
from tests.fixtures.kube import Kubectl, _kubectl_binary
from tests.fixtures.operator import wait_for
from tests.helm.helpers import CHART, Helm, HelmError, merged, normalized_rules
from tests.helm.test_rbac import (
    ARGOCD_ROLE,
    ARGOCD_SECRETS,
    CLUSTER_WIDE,
    IN_NAMESPACE,
    LEASE_BY_NAME,
    LEASE_CREATE,
    LEASE_ROLE,
    NAMESPACES,
    SECRET_DELETE,
    SIGNING_KEY,
    SIGNING_KEY_ROLE,
    SIGNING_KEY_SECRET,
)

pytestmark = pytest.mark.kube

RELEASE = "nks"
FULLNAME = "nks-nks-operator"
NKS_CRDS = ("nksclusters.nks.nhncloud.com", "nksnodegroups.nks.nhncloud.com")
LEASES = "leases.coordination.k8s.io"
OWNERSHIPS = "nksownerships.nks.nhncloud.com"


# The session's NKS CRDs are applied once for every test (`crds_installed`): a release on
# the shared apiserver must not take them over, or the next release could not install.
SHARED_CRDS = {"crds": {"enabled": False}}


class Release:
    """One Helm release in the test's namespace; uninstalled at the end whatever happens.

    `base` values go under every install and upgrade (a test's own values win)."""

    def __init__(
        self, helm: Helm, kube: LocalKube, namespace: str, base: dict[str, Any] | None = None
    ) -> None:
        self.helm = helm
        self.kube = kube
        self.namespace = namespace
        self.base = base or {}
        self.installed = False

    def run(self, *args: str, values: dict[str, Any] | None = None) -> str:
        return self.helm(
            *args,
            "--namespace",
            self.namespace,
            "--values",
            "-",
            input=json.dumps(merged(self.base, values or {})),
            kubeconfig=self.kube.kubeconfig,
        )

    def install(self, values: dict[str, Any] | None = None, chart: Path = CHART) -> None:
        self.run("install", RELEASE, str(chart), values=values)
        self.installed = True

    def upgrade(self, values: dict[str, Any] | None = None, chart: Path = CHART) -> None:
        self.run("upgrade", RELEASE, str(chart), values=values)

    def status(self) -> dict[str, Any]:
        return json.loads(
            self.helm(
                "status",
                RELEASE,
                "--namespace",
                self.namespace,
                "-o",
                "json",
                kubeconfig=self.kube.kubeconfig,
            )
        )

    def uninstall(self) -> None:
        self.helm(
            "uninstall", RELEASE, "--namespace", self.namespace, kubeconfig=self.kube.kubeconfig
        )
        self.installed = False

    @property
    def cluster_object_name(self) -> str:
        return f"{FULLNAME}-{self.namespace}"

    @property
    def service_account(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{FULLNAME}"


@pytest.fixture
def release(helm: Helm, kube: LocalKube, namespace: str, crds_installed: None) -> Iterator[Release]:
    rel = Release(helm, kube, namespace, base=SHARED_CRDS)
    try:
        yield rel
    finally:
        if rel.installed:
            rel.uninstall()


@pytest.fixture
def extra_namespaces(kube_api: client.ApiClient, namespace: str) -> Iterator[list[str]]:
    """Two more namespaces, `<namespace>-a` and `<namespace>-b`, deleted afterwards."""
    core = client.CoreV1Api(kube_api)
    names = [f"{namespace}-a"[:63], f"{namespace}-b"[:63]]
    for name in names:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield names
    finally:
        for name in names:
            try:
                core.delete_namespace(name, propagation_policy="Background")
            except ApiException as err:
                if err.status != 404:
                    raise


def can_i(kubectl: Kubectl, release: Release, verb: str, resource: str, *scope: str) -> bool:
    """`kubectl auth can-i` as the operator's ServiceAccount."""
    result = kubectl(
        "auth", "can-i", verb, resource, f"--as={release.service_account}", *scope, check=False
    )
    answer = result.stdout.strip()
    assert answer in ("yes", "no"), result.stderr
    return answer == "yes"


def assert_lease_rights(
    kubectl: Kubectl, release: Release, lease: str, namespace: str, elsewhere: str
) -> None:
    """Leader election: create Leases, read and replace the one Lease, in `namespace` only."""
    assert can_i(kubectl, release, "create", LEASES, "-n", namespace)
    for verb in ("get", "update"):
        assert can_i(kubectl, release, verb, f"{LEASES}/{lease}", "-n", namespace)
        assert not can_i(kubectl, release, verb, f"{LEASES}/another", "-n", namespace)
        assert not can_i(kubectl, release, verb, f"{LEASES}/{lease}", "-n", elsewhere)
    for verb in ("list", "watch", "delete", "patch"):
        assert not can_i(kubectl, release, verb, f"{LEASES}/{lease}", "-n", namespace)
    assert not can_i(kubectl, release, "create", LEASES, "-n", elsewhere)


def read_or_none(read: Any, *args: str) -> Any:
    try:
        return read(*args)
    except ApiException as err:
        if err.status == 404:
            return None
        raise


def wait_crds_established(kubectl: Kubectl, *names: str) -> None:
    for name in names:
        kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")


def live_rules(kube_api: client.ApiClient, kind: str, name: str, namespace: str = "") -> set[Any]:
    rbac = client.RbacAuthorizationV1Api(kube_api)
    obj = (
        rbac.read_cluster_role(name)
        if kind == "ClusterRole"
        else rbac.read_namespaced_role(name, namespace)
    )
    return normalized_rules(
        {"apiGroups": r.api_groups, "resources": r.resources, "verbs": r.verbs} for r in obj.rules
    )


def test_install_upgrade_uninstall_all_namespaces(
    release: Release, kube_api: client.ApiClient, kubectl: Kubectl
) -> None:
    ns = release.namespace
    release.install({"credentials": {"existingSecret": "nks-credentials"}})
    assert release.status()["info"]["status"] == "deployed"

    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    deployment = apps.read_namespaced_deployment(FULLNAME, ns)
    assert deployment.spec.replicas == 1
    assert deployment.spec.strategy.type == "Recreate"
    pod = deployment.spec.template.spec
    assert pod.service_account_name == FULLNAME
    assert pod.containers[0].readiness_probe.http_get.path == "/healthz"
    assert pod.security_context.run_as_non_root is True
    assert pod.containers[0].security_context.read_only_root_filesystem is True
    env = {e.name: e for e in pod.containers[0].env}
    assert env["NKS_PASSWORD"].value_from.secret_key_ref.name == "nks-credentials"
    assert env["POD_NAMESPACE"].value_from.field_ref.field_path == "metadata.namespace"
    assert core.read_namespaced_service_account(FULLNAME, ns)
    service = core.read_namespaced_service(f"{FULLNAME}-metrics", ns)
    assert [(p.name, p.port) for p in service.spec.ports] == [("metrics", 9090)]
    rules = live_rules(kube_api, "ClusterRole", release.cluster_object_name)
    assert rules == CLUSTER_WIDE | IN_NAMESPACE | SECRET_DELETE
    assert live_rules(kube_api, "Role", SIGNING_KEY_ROLE, ns) == SIGNING_KEY
    binding = client.RbacAuthorizationV1Api(kube_api).read_cluster_role_binding(
        release.cluster_object_name
    )
    assert [(s.kind, s.name, s.namespace) for s in binding.subjects] == [
        ("ServiceAccount", FULLNAME, ns)
    ]

    # What the apiserver lets the ServiceAccount do (RBAC enforced for real).
    anywhere = ["--all-namespaces"]
    assert can_i(kubectl, release, "watch", "nksclusters.nks.nhncloud.com", *anywhere)
    # `--subresource`: "<resource>/<x>" would name an object x of the main resource.
    status = ["--subresource=status", "-n", "x"]
    assert can_i(kubectl, release, "patch", "nksnodegroups.nks.nhncloud.com", *status)
    assert can_i(kubectl, release, "create", "secrets", "-n", "any-namespace")
    assert can_i(kubectl, release, "create", "events", "-n", "any-namespace")
    assert can_i(kubectl, release, "watch", "customresourcedefinitions.apiextensions.k8s.io")
    finalizers = ["--subresource=finalizers", "-n", "x"]
    assert can_i(kubectl, release, "update", "nksclusters.nks.nhncloud.com", *finalizers)
    assert not can_i(kubectl, release, "update", "nksnodegroups.nks.nhncloud.com", *finalizers)
    assert not can_i(kubectl, release, "delete", "nksclusters.nks.nhncloud.com", "-n", "x")
    assert not can_i(kubectl, release, "create", "nksclusters.nks.nhncloud.com", "-n", "x")
    assert not can_i(kubectl, release, "update", "nksclusters.nks.nhncloud.com", "-n", "x")
    # A credentials Secret's finalizer is patched; Secrets are never listed.
    assert can_i(kubectl, release, "patch", "secrets", "-n", "x")
    assert not can_i(kubectl, release, "list", "secrets", "-n", "x")
    assert not can_i(kubectl, release, "watch", "secrets", *anywhere)
    for verb in ("get", "create", "update", "delete"):
        assert can_i(kubectl, release, verb, f"{OWNERSHIPS}/any")
    assert can_i(kubectl, release, "list", OWNERSHIPS)  # what a resource's records name
    for verb in ("watch", "patch"):
        assert not can_i(kubectl, release, verb, OWNERSHIPS)
    assert not can_i(kubectl, release, "create", "validatingwebhookconfigurations")
    assert not can_i(kubectl, release, "get", "configmaps", "-n", ns)
    assert not can_i(kubectl, release, "list", "namespaces")
    assert not can_i(kubectl, release, "create", "customresourcedefinitions.apiextensions.k8s.io")
    assert not can_i(kubectl, release, "create", LEASES, "-n", ns)
    assert not can_i(kubectl, release, "get", f"{LEASES}/nks-operator", "-n", ns)

    lease = f"nks-{ns}"
    release.upgrade(
        {
            "credentials": {"existingSecret": "nks-credentials"},
            "operator": {"logLevel": "DEBUG", "fastPollSeconds": 5},
            "leaderElection": {"enabled": True, "name": lease},
            "replicaCount": 2,
            "networkPolicy": {"enabled": True},
        }
    )
    status = release.status()
    assert (status["version"], status["info"]["status"]) == (2, "deployed")
    # Kubernetes 1.20 has no policy/v1: the chart falls back to what the cluster serves.
    budget = json.loads(kubectl("get", "pdb", FULLNAME, "-n", ns, "-o", "json").stdout)
    assert budget["apiVersion"] == "policy/v1beta1"
    assert budget["spec"]["maxUnavailable"] == 1
    args = apps.read_namespaced_deployment(FULLNAME, ns).spec.template.spec.containers[0].args
    assert {"--log-level=DEBUG", "--fast-poll=5", f"--leader-election={lease}"} <= set(args)
    assert client.NetworkingV1Api(kube_api).read_namespaced_network_policy(FULLNAME, ns)
    rules = live_rules(kube_api, "ClusterRole", release.cluster_object_name)
    assert rules == CLUSTER_WIDE | IN_NAMESPACE | SECRET_DELETE
    assert live_rules(kube_api, "Role", LEASE_ROLE, ns) == LEASE_CREATE | LEASE_BY_NAME
    assert_lease_rights(kubectl, release, lease, ns, elsewhere="kube-system")

    release.uninstall()
    rbac = client.RbacAuthorizationV1Api(kube_api)
    assert read_or_none(rbac.read_cluster_role, release.cluster_object_name) is None
    assert read_or_none(rbac.read_cluster_role_binding, release.cluster_object_name) is None
    assert read_or_none(rbac.read_namespaced_role, LEASE_ROLE, ns) is None
    assert read_or_none(rbac.read_namespaced_role_binding, LEASE_ROLE, ns) is None
    assert read_or_none(apps.read_namespaced_deployment, FULLNAME, ns) is None
    assert kubectl("get", "pdb", FULLNAME, "-n", ns, check=False).returncode != 0


def test_install_and_upgrade_a_namespace_list(
    release: Release,
    kube_api: client.ApiClient,
    kubectl: Kubectl,
    extra_namespaces: list[str],
) -> None:
    ns = release.namespace
    team_a, team_b = extra_namespaces
    # team-b doubles as the Argo CD namespace: watched, and where registrations go.
    argocd = {"namespace": team_b, "allowedNamespaces": [team_a]}
    release.install(
        {"watchNamespaces": [team_a, team_b], "leaderElection": {"enabled": True}, "argocd": argocd}
    )
    for watched in (team_a, team_b):
        assert live_rules(kube_api, "Role", FULLNAME, watched) == IN_NAMESPACE
        binding = client.RbacAuthorizationV1Api(kube_api).read_namespaced_role_binding(
            FULLNAME, watched
        )
        assert [(s.name, s.namespace) for s in binding.subjects] == [(FULLNAME, ns)]
    assert (
        live_rules(kube_api, "ClusterRole", release.cluster_object_name)
        == CLUSTER_WIDE | NAMESPACES
    )
    assert live_rules(kube_api, "Role", ARGOCD_ROLE, team_b) == ARGOCD_SECRETS
    # The Lease stays in the release namespace, which is not watched.
    assert live_rules(kube_api, "Role", LEASE_ROLE, ns) == LEASE_CREATE | LEASE_BY_NAME
    assert_lease_rights(kubectl, release, "nks-operator", ns, elsewhere=team_a)

    assert can_i(kubectl, release, "watch", "nksclusters.nks.nhncloud.com", "-n", team_a)
    # Secrets are deleted in the Argo CD namespace only; written in every watched one.
    assert can_i(kubectl, release, "delete", "secrets", "-n", team_b)
    assert not can_i(kubectl, release, "delete", "secrets", "-n", team_a)
    assert can_i(kubectl, release, "patch", "secrets", "-n", team_a)
    assert can_i(kubectl, release, "list", "customresourcedefinitions.apiextensions.k8s.io")
    assert can_i(kubectl, release, "create", f"{OWNERSHIPS}/any")
    assert not can_i(kubectl, release, "watch", "nksclusters.nks.nhncloud.com", "-n", ns)
    # In the release namespace: the signing key by name, and nothing else to read.
    assert can_i(kubectl, release, "get", f"secrets/{SIGNING_KEY_SECRET}", "-n", ns)
    assert can_i(kubectl, release, "create", "secrets", "-n", ns)
    assert not can_i(kubectl, release, "get", "secrets/nks-credentials", "-n", ns)
    assert not can_i(kubectl, release, "update", f"secrets/{SIGNING_KEY_SECRET}", "-n", ns)
    assert not can_i(kubectl, release, "get", "secrets", "-n", ns)
    assert not can_i(kubectl, release, "get", "secrets", "-n", "kube-system")
    assert not can_i(kubectl, release, "list", "nksclusters.nks.nhncloud.com", "--all-namespaces")
    assert can_i(kubectl, release, "list", "namespaces")
    assert not can_i(kubectl, release, "delete", "namespaces")

    release.upgrade({"watchNamespaces": [team_a], "leaderElection": {"enabled": True}})
    rbac = client.RbacAuthorizationV1Api(kube_api)
    # Nobody may register any more (the list is empty): no Argo CD Role.
    assert read_or_none(rbac.read_namespaced_role, ARGOCD_ROLE, team_b) is None
    assert read_or_none(rbac.read_namespaced_role, FULLNAME, team_b) is None
    assert read_or_none(rbac.read_namespaced_role_binding, FULLNAME, team_b) is None
    assert not can_i(kubectl, release, "watch", "nksclusters.nks.nhncloud.com", "-n", team_b)
    assert can_i(kubectl, release, "watch", "nksclusters.nks.nhncloud.com", "-n", team_a)
    assert can_i(kubectl, release, "update", f"{LEASES}/nks-operator", "-n", ns)


@pytest.fixture
def aggregating_kube(tmp_path: Path) -> Iterator[tuple[LocalKube, Kubectl]]:
    """An apiserver of the test's own whose controller manager aggregates ClusterRoles (the
    session's runs only the garbage collector and the namespace controller)."""
    local = LocalKube(controller_manager=True, controllers=("clusterrole-aggregation",))
    try:
        local.start()
    except LocalKubeError as err:
        pytest.fail(f"cannot start a kube-apiserver: {err}", pytrace=False)
    try:
        yield local, Kubectl(_kubectl_binary(), local.kubeconfig, tmp_path / "kubectl-cache")
    finally:
        local.stop()


def test_users_get_the_two_kinds_through_the_standard_roles(
    helm: Helm, aggregating_kube: tuple[LocalKube, Kubectl]
) -> None:
    kube, kubectl = aggregating_kube
    ns, team_a, team_b = "nks-system", "team-a", "team-b"
    for name in (ns, team_a, team_b):
        kubectl("create", "namespace", name)
    release = Release(helm, kube, ns, base={"watchNamespaces": [team_a, team_b]})
    release.install()
    users = {"alice": "edit", "bob": "view", "carol": "admin"}
    for user, role in users.items():
        kubectl("create", "rolebinding", f"{user}-{role}", f"--clusterrole={role}",
                f"--user={user}", "-n", team_a)  # fmt: skip
    # Cluster-wide `admin`: still nothing of the operator's records.
    kubectl("create", "clusterrolebinding", "dave-admin", "--clusterrole=admin", "--user=dave")

    def can(user: str, verb: str, resource: str, *scope: str) -> bool:
        result = kubectl("auth", "can-i", verb, resource, f"--as={user}", *scope, check=False)
        return result.stdout.strip() == "yes"

    clusters, groups = "nksclusters.nks.nhncloud.com", "nksnodegroups.nks.nhncloud.com"
    # kube-controller-manager aggregates the chart's ClusterRoles into the standard ones.
    wait_for(
        lambda: (
            all(can(u, "get", groups, "-n", team_a) for u in users)
            and can("alice", "create", clusters, "-n", team_a)
            and can("carol", "create", clusters, "-n", team_a)
        ),
        60,
        what="the chart's ClusterRoles aggregated into view, edit and admin",
    )
    write = ("create", "update", "patch", "delete", "deletecollection")
    for user in ("alice", "carol"):
        for resource in (clusters, groups):
            for verb in ("get", "list", "watch", *write):
                assert can(user, verb, resource, "-n", team_a), (user, verb, resource)
            assert not can(user, "create", resource, "-n", team_b), user
            # Never the status the operator reports and acts on.
            status = ["--subresource=status", "-n", team_a]
            assert not can(user, "patch", resource, *status), (user, resource)
            assert not can(user, "update", resource, *status), (user, resource)
    for verb in ("get", "list", "watch"):
        assert can("bob", verb, clusters, "-n", team_a)
    for verb in write:
        assert not can("bob", verb, clusters, "-n", team_a)
    for user in (*users, "dave"):
        for verb in ("get", "list", "create", "update", "delete"):
            assert not can(user, verb, OWNERSHIPS), (user, verb)
    assert can("dave", "create", clusters, "-n", team_b)

    # Without the aggregated roles, `view` and `edit` say nothing about the two kinds.
    release.upgrade({"rbac": {"aggregateClusterRoles": False}})
    wait_for(
        lambda: (
            not can("alice", "get", clusters, "-n", team_a)
            and not can("bob", "get", clusters, "-n", team_a)
        ),
        60,
        what="the aggregated rules gone from view and edit",
    )


# ---------------------------------------------------------------------------------------
# The CRDs as templates. Each test renames them into an API group of its own, so the
# shared nks.nhncloud.com CRDs of the session are never touched.


def _chart_with_crds(
    target: Path, group: str, *, old: bool = False, in_crds_folder: bool = False
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """A copy of the chart whose NKS CRDs are renamed to `group`. `old` makes the previous
    release's NKSCluster CRD (no `spec.clusterID` yet, and a printer column since removed);
    `in_crds_folder` ships them as earlier chart versions did, in crds/ and untemplated.
    Either is a chart from before the NKSOwnership CRD; the current chart has it, renamed
    too (a test release must not take the session's over)."""
    shutil.copytree(CHART, target)
    crds: dict[str, dict[str, Any]] = {}
    names = NKS_CRDS
    if old or in_crds_folder:
        (target / "files" / "crds" / f"{OWNERSHIPS}.yaml").unlink()
    else:
        names = (*NKS_CRDS, OWNERSHIPS)
    for name in names:
        path = target / "files" / "crds" / f"{name}.yaml"
        crd = yaml.safe_load(path.read_text())
        plural = crd["spec"]["names"]["plural"]
        crd["spec"]["group"] = group
        crd["metadata"]["name"] = f"{plural}.{group}"
        if old and plural == "nksclusters":
            version = crd["spec"]["versions"][0]
            del version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
                "clusterID"
            ]
            version["additionalPrinterColumns"].append(
                {"name": "Legacy", "type": "string", "jsonPath": ".status.legacy"}
            )
        if in_crds_folder:
            path.unlink()
            path = target / "crds" / path.name
            path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(crd, sort_keys=False))
        crds[plural] = crd
    if in_crds_folder:
        (target / "templates" / "crds.yaml").unlink()
    return target, crds


def _live_crd(kube_api: client.ApiClient, name: str) -> dict[str, Any] | None:
    api = client.ApiextensionsV1Api(kube_api)
    crd = read_or_none(api.read_custom_resource_definition, name)
    return None if crd is None else kube_api.sanitize_for_serialization(crd)


def _live_version(kube_api: client.ApiClient, name: str) -> dict[str, Any]:
    crd = _live_crd(kube_api, name)
    assert crd is not None, f"CRD {name} is gone"
    return crd["spec"]["versions"][0]


def _spec_fields(version: dict[str, Any]) -> set[str]:
    return set(version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"])


def _columns(version: dict[str, Any]) -> list[str]:
    return [c["name"] for c in version.get("additionalPrinterColumns", [])]


@pytest.fixture
def group(kube_api: client.ApiClient) -> Iterator[str]:
    """An API group of the test's own; its CRDs are deleted afterwards."""
    name = f"t{secrets.token_hex(4)}.crds.nks.nhncloud.com"
    yield name
    api = client.ApiextensionsV1Api(kube_api)
    for plural in ("nksclusters", "nksnodegroups", "nksownerships"):
        try:
            api.delete_custom_resource_definition(f"{plural}.{name}")
        except ApiException as err:
            if err.status != 404:
                raise


@pytest.fixture
def own_release(helm: Helm, kube: LocalKube, namespace: str) -> Iterator[Release]:
    """A release that installs its (renamed) CRDs itself."""
    rel = Release(helm, kube, namespace)
    try:
        yield rel
    finally:
        if rel.installed:
            rel.uninstall()


def test_helm_upgrade_updates_the_crds_and_uninstall_keeps_them(
    own_release: Release, group: str, kube_api: client.ApiClient, kubectl: Kubectl, tmp_path: Path
) -> None:
    release = own_release
    old_chart, old_crds = _chart_with_crds(tmp_path / "old", group, old=True)
    new_chart, new_crds = _chart_with_crds(tmp_path / "new", group)
    cluster_crd = f"nksclusters.{group}"
    names = [f"{plural}.{group}" for plural in new_crds]
    release.install(chart=old_chart)
    wait_crds_established(kubectl, *(f"{plural}.{group}" for plural in old_crds))
    assert _live_crd(kube_api, f"nksownerships.{group}") is None
    old = _live_version(kube_api, cluster_crd)
    assert "clusterID" not in _spec_fields(old) and "Legacy" in _columns(old)

    # `helm upgrade` alone brings the new schema, and a new CRD: they are part of the release.
    release.upgrade(chart=new_chart)
    wait_crds_established(kubectl, *names)
    assert set(new_crds) == {"nksclusters", "nksnodegroups", "nksownerships"}
    for plural, crd in new_crds.items():
        live = _live_version(kube_api, f"{plural}.{group}")
        wanted = crd["spec"]["versions"][0]
        assert _spec_fields(live) == _spec_fields(wanted), plural
        assert _columns(live) == _columns(wanted), plural
        assert live["schema"] == wanted["schema"], plural
    # The new field is served: the apiserver stores it instead of pruning it.
    custom = client.CustomObjectsApi(kube_api)
    adopted = "0b1c2d3e-4f50-4172-8394-a5b6c7d8e9f0"  # the schema wants a UUID
    obj = cluster_manifest("upgraded", clusterID=adopted)
    obj["apiVersion"] = f"{group}/v1alpha1"
    stored = custom.create_namespaced_custom_object(
        group, "v1alpha1", release.namespace, "nksclusters", obj
    )
    assert stored["spec"]["clusterID"] == adopted

    # Uninstalling keeps the CRDs, and so every custom resource.
    release.uninstall()
    for name in names:
        crd = _live_crd(kube_api, name)
        assert crd is not None, f"helm uninstall deleted {name}"
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert custom.get_namespaced_custom_object(
        group, "v1alpha1", release.namespace, "nksclusters", "upgraded"
    )
    # The same release takes its kept CRDs back.
    release.install(chart=new_chart)
    assert release.status()["info"]["status"] == "deployed"


def test_crds_without_keep_go_with_the_release(
    own_release: Release, group: str, kube_api: client.ApiClient, kubectl: Kubectl, tmp_path: Path
) -> None:
    chart, crds = _chart_with_crds(tmp_path / "chart", group)
    names = [f"{plural}.{group}" for plural in crds]
    own_release.install({"crds": {"keep": False}}, chart=chart)
    wait_crds_established(kubectl, *names)
    own_release.uninstall()
    wait_for(
        lambda: all(_live_crd(kube_api, name) is None for name in names),
        60,
        what="the CRDs deleted with the release",
    )


def test_a_second_release_leaves_the_crds_to_the_first(
    helm: Helm,
    kube: LocalKube,
    own_release: Release,
    group: str,
    extra_namespaces: list[str],
    kubectl: Kubectl,
    tmp_path: Path,
) -> None:
    chart, crds = _chart_with_crds(tmp_path / "chart", group)
    own_release.install({"watchNamespaces": [extra_namespaces[0]]}, chart=chart)
    wait_crds_established(kubectl, *(f"{plural}.{group}" for plural in crds))
    second = Release(helm, kube, extra_namespaces[1])
    values = {"watchNamespaces": [extra_namespaces[1]]}
    with pytest.raises(HelmError, match="invalid ownership metadata"):
        second.install(values, chart=chart)
    second.install({**values, "crds": {"enabled": False}}, chart=chart)
    second.uninstall()


def _readme_hand_over_block() -> str:
    readme = (CHART / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.S)
    (block,) = [b for b in blocks if "meta.helm.sh/release-name" in b]
    return block


def test_crds_of_the_old_crds_folder_are_handed_over_as_the_readme_says(
    own_release: Release, group: str, kube: LocalKube, kubectl: Kubectl, tmp_path: Path
) -> None:
    old_chart, crds = _chart_with_crds(tmp_path / "old", group, in_crds_folder=True)
    new_chart, _ = _chart_with_crds(tmp_path / "new", group)
    names = [f"{plural}.{group}" for plural in crds]
    own_release.install(chart=old_chart)
    wait_crds_established(kubectl, *names)
    # What an upgrade from the crds/ layout meets before the hand-over.
    with pytest.raises(HelmError, match="invalid ownership metadata"):
        own_release.upgrade(chart=new_chart)

    script = (
        _readme_hand_over_block()
        .replace("nks.nhncloud.com", group)
        .replace("<release namespace>", own_release.namespace)
        .replace("<release>", RELEASE)
    )
    env = {**os.environ, "KUBECONFIG": str(kube.kubeconfig)}
    env["PATH"] = f"{Path(kubectl.binary).parent}:{env['PATH']}"
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    own_release.upgrade(chart=new_chart)
    assert own_release.status()["info"]["status"] == "deployed"
    for name in names:
        annotations = json.loads(kubectl("get", "crd", name, "-o", "json").stdout)["metadata"][
            "annotations"
        ]
        assert annotations["helm.sh/resource-policy"] == "keep"
        assert annotations["meta.helm.sh/release-name"] == RELEASE
