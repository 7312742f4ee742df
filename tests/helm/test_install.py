"""`helm install` / `helm upgrade` / `helm uninstall` into the real kube-apiserver.

No pod ever runs there (no scheduler, no kubelet), so these tests check what the apiserver
stores and enforces: the objects, their RBAC (`kubectl auth can-i` as the operator's
ServiceAccount) and the CRD upgrade step of the README. tests/rbac runs the operator
itself with nothing but the chart's permissions.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nks_operator.localkube import LocalKube
from tests.e2e.helpers import cluster_manifest
from tests.fixtures.kube import Kubectl
from tests.helm.helpers import CHART, Helm, normalized_rules
from tests.helm.test_rbac import (
    CLUSTER_PEERINGS,
    CRDS,
    IN_NAMESPACE,
    NAMESPACED_PEERINGS,
    NAMESPACES,
)

pytestmark = pytest.mark.kube

RELEASE = "nks"
FULLNAME = "nks-nks-operator"
NKS_CRDS = ("nksclusters.nks.nhncloud.com", "nksnodegroups.nks.nhncloud.com")


class Release:
    """One Helm release in the test's namespace; uninstalled at the end whatever happens."""

    def __init__(self, helm: Helm, kube: LocalKube, namespace: str) -> None:
        self.helm = helm
        self.kube = kube
        self.namespace = namespace
        self.installed = False

    def run(self, *args: str, values: dict[str, Any] | None = None) -> str:
        return self.helm(
            *args,
            "--namespace",
            self.namespace,
            "--values",
            "-",
            input=json.dumps(values or {}),
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
def release(helm: Helm, kube: LocalKube, namespace: str) -> Iterator[Release]:
    rel = Release(helm, kube, namespace)
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
    wait_crds_established(kubectl, *NKS_CRDS)

    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    deployment = apps.read_namespaced_deployment(FULLNAME, ns)
    assert deployment.spec.replicas == 1
    assert deployment.spec.strategy.type == "Recreate"
    pod = deployment.spec.template.spec
    assert pod.service_account_name == FULLNAME
    assert pod.security_context.run_as_non_root is True
    assert pod.containers[0].security_context.read_only_root_filesystem is True
    env = {e.name: e for e in pod.containers[0].env}
    assert env["NKS_PASSWORD"].value_from.secret_key_ref.name == "nks-credentials"
    assert core.read_namespaced_service_account(FULLNAME, ns)
    service = core.read_namespaced_service(f"{FULLNAME}-metrics", ns)
    assert [(p.name, p.port) for p in service.spec.ports] == [("metrics", 9090)]
    rules = live_rules(kube_api, "ClusterRole", release.cluster_object_name)
    assert rules == CRDS | IN_NAMESPACE
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
    assert not can_i(kubectl, release, "patch", "secrets", "-n", "x")
    assert not can_i(kubectl, release, "get", "configmaps", "-n", ns)
    assert not can_i(kubectl, release, "list", "namespaces")
    assert not can_i(kubectl, release, "create", "customresourcedefinitions.apiextensions.k8s.io")
    assert not can_i(kubectl, release, "patch", "clusterkopfpeerings.kopf.dev")

    peering = f"nks-{ns}"
    release.upgrade(
        {
            "credentials": {"existingSecret": "nks-credentials"},
            "operator": {"logLevel": "DEBUG", "fastPollSeconds": 5},
            "peering": {"enabled": True, "name": peering},
            "networkPolicy": {"enabled": True},
        }
    )
    status = release.status()
    assert (status["version"], status["info"]["status"]) == (2, "deployed")
    args = apps.read_namespaced_deployment(FULLNAME, ns).spec.template.spec.containers[0].args
    assert {"--log-level=DEBUG", "--fast-poll=5", f"--peering={peering}"} <= set(args)
    assert client.NetworkingV1Api(kube_api).read_namespaced_network_policy(FULLNAME, ns)
    custom = client.CustomObjectsApi(kube_api)
    assert custom.get_cluster_custom_object("kopf.dev", "v1", "clusterkopfpeerings", peering)
    rules = live_rules(kube_api, "ClusterRole", release.cluster_object_name)
    assert rules == CRDS | IN_NAMESPACE | CLUSTER_PEERINGS
    assert can_i(kubectl, release, "patch", "clusterkopfpeerings.kopf.dev")

    release.uninstall()
    rbac = client.RbacAuthorizationV1Api(kube_api)
    assert read_or_none(rbac.read_cluster_role, release.cluster_object_name) is None
    assert read_or_none(rbac.read_cluster_role_binding, release.cluster_object_name) is None
    assert read_or_none(apps.read_namespaced_deployment, FULLNAME, ns) is None
    # Helm never deletes the CRDs of crds/ (that would delete every custom resource).
    kubectl("get", "crd", *NKS_CRDS)


def test_install_and_upgrade_a_namespace_list(
    release: Release,
    kube_api: client.ApiClient,
    kubectl: Kubectl,
    extra_namespaces: list[str],
) -> None:
    ns = release.namespace
    team_a, team_b = extra_namespaces
    release.install({"watchNamespaces": [team_a, team_b], "peering": {"enabled": True}})
    custom = client.CustomObjectsApi(kube_api)
    for watched in (team_a, team_b):
        assert live_rules(kube_api, "Role", FULLNAME, watched) == IN_NAMESPACE | NAMESPACED_PEERINGS
        binding = client.RbacAuthorizationV1Api(kube_api).read_namespaced_role_binding(
            FULLNAME, watched
        )
        assert [(s.name, s.namespace) for s in binding.subjects] == [(FULLNAME, ns)]
        assert custom.get_namespaced_custom_object(
            "kopf.dev", "v1", watched, "kopfpeerings", "nks-operator"
        )
    assert live_rules(kube_api, "ClusterRole", release.cluster_object_name) == CRDS | NAMESPACES

    assert can_i(kubectl, release, "watch", "nksclusters.nks.nhncloud.com", "-n", team_a)
    assert can_i(kubectl, release, "patch", "kopfpeerings.kopf.dev", "-n", team_b)
    assert can_i(kubectl, release, "delete", "secrets", "-n", team_b)
    assert can_i(kubectl, release, "list", "customresourcedefinitions.apiextensions.k8s.io")
    assert not can_i(kubectl, release, "watch", "nksclusters.nks.nhncloud.com", "-n", ns)
    assert not can_i(kubectl, release, "get", "secrets", "-n", ns)
    assert not can_i(kubectl, release, "get", "secrets", "-n", "kube-system")
    assert not can_i(kubectl, release, "list", "nksclusters.nks.nhncloud.com", "--all-namespaces")
    assert can_i(kubectl, release, "list", "namespaces")
    assert not can_i(kubectl, release, "delete", "namespaces")

    release.upgrade({"watchNamespaces": [team_a], "peering": {"enabled": True}})
    rbac = client.RbacAuthorizationV1Api(kube_api)
    assert read_or_none(rbac.read_namespaced_role, FULLNAME, team_b) is None
    assert read_or_none(rbac.read_namespaced_role_binding, FULLNAME, team_b) is None
    assert not can_i(kubectl, release, "watch", "nksclusters.nks.nhncloud.com", "-n", team_b)
    peering = read_or_none(
        custom.get_namespaced_custom_object,
        "kopf.dev",
        "v1",
        team_b,
        "kopfpeerings",
        "nks-operator",
    )
    assert peering is None
    assert can_i(kubectl, release, "watch", "nksclusters.nks.nhncloud.com", "-n", team_a)


# ---------------------------------------------------------------------------------------
# The CRD upgrade step. The chart's CRDs are installed under a group of the test's own, so
# the shared nks.nhncloud.com CRDs of the session are never touched.


def _chart_with_crds(
    target: Path, group: str, *, old: bool
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """A copy of the chart whose NKS CRDs are renamed to `group`; `old` makes the previous
    release's NKSCluster CRD: no `spec.clusterID` yet, and a printer column since removed."""
    import shutil

    shutil.copytree(CHART, target)
    crds: dict[str, dict[str, Any]] = {}
    for name in NKS_CRDS:
        path = target / "crds" / f"{name}.yaml"
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
        path.write_text(yaml.safe_dump(crd, sort_keys=False))
        crds[plural] = crd
    return target, crds


def _live_version(kube_api: client.ApiClient, name: str) -> dict[str, Any]:
    api = client.ApiextensionsV1Api(kube_api)
    crd = api.read_custom_resource_definition(name)
    return kube_api.sanitize_for_serialization(crd)["spec"]["versions"][0]


def _spec_fields(version: dict[str, Any]) -> set[str]:
    return set(version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"])


def _columns(version: dict[str, Any]) -> list[str]:
    return [c["name"] for c in version.get("additionalPrinterColumns", [])]


def test_crd_upgrade_step_from_the_readme(
    release: Release,
    helm: Helm,
    kube_api: client.ApiClient,
    kubectl: Kubectl,
    tmp_path: Path,
) -> None:
    group = f"t{secrets.token_hex(4)}.upgrade.nks.nhncloud.com"
    old_chart, _ = _chart_with_crds(tmp_path / "old", group, old=True)
    new_chart, new_crds = _chart_with_crds(tmp_path / "new", group, old=False)
    cluster_crd = f"nksclusters.{group}"
    names = [f"{plural}.{group}" for plural in new_crds]
    custom = client.CustomObjectsApi(kube_api)
    try:
        release.install(chart=old_chart)
        wait_crds_established(kubectl, *names)
        old = _live_version(kube_api, cluster_crd)
        assert "clusterID" not in _spec_fields(old) and "Legacy" in _columns(old)

        # The caveat: `helm upgrade` leaves the CRDs of crds/ as they are.
        release.upgrade(chart=new_chart)
        assert _live_version(kube_api, cluster_crd) == old

        # The documented step, exactly as the README and NOTES.txt print it.
        shown = helm("show", "crds", str(new_chart))
        kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=shown)
        wait_crds_established(kubectl, *names)
        for plural, crd in new_crds.items():
            live = _live_version(kube_api, f"{plural}.{group}")
            wanted = crd["spec"]["versions"][0]
            assert _spec_fields(live) == _spec_fields(wanted), plural
            assert _columns(live) == _columns(wanted), plural
            assert live["schema"] == wanted["schema"], plural
        release.upgrade(chart=new_chart)
        assert release.status()["version"] == 3

        # The new field is served: the apiserver stores it instead of pruning it.
        obj = cluster_manifest("upgraded", clusterID="abc-123")
        obj["apiVersion"] = f"{group}/v1alpha1"
        stored = custom.create_namespaced_custom_object(
            group, "v1alpha1", release.namespace, "nksclusters", obj
        )
        assert stored["spec"]["clusterID"] == "abc-123"
    finally:
        api = client.ApiextensionsV1Api(kube_api)
        for name in names:
            try:
                api.delete_custom_resource_definition(name)
            except ApiException as err:
                if err.status != 404:
                    raise
