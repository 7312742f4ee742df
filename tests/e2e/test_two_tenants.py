"""Two teams in one management cluster, one operator with default credentials: every way a
namespace's user could reach the other team's cluster, write outside their namespace,
delete what the operator does not own, send credentials where the admin did not allow, or
strand a billed cluster - each refused with a clear condition, and neither an NKS call nor
a Kubernetes write it should not make.

The operator here is configured as docs/security.md's multi-tenant install: default
credentials for the two teams' namespaces only, Argo CD registration for team A only, one
allowed endpoint besides the admin's own (a hostile test server), the answer and call
bounds at their defaults.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nks_devtools.localkube import LocalKube
from nks_devtools.simulator import SimulatorConfig, SimulatorThread
from tests.e2e.helpers import (
    Sim,
    apply,
    cluster_manifest,
    condition,
    credentials_secret,
    events,
    get,
    new_tenant,
    secret_value,
    wait_condition,
    wait_events,
    wait_gone,
)
from tests.fixtures.hygiene import session_hygiene
from tests.fixtures.operator import OperatorProcess, wait_for
from tests.nks.local_server import LocalServer, streamed_answer

pytestmark = pytest.mark.kube

CREATE_REQUESTED = "nks.nhncloud.com/create-requested"
CREDENTIALS_FINALIZER = "nks.nhncloud.com/credentials-in-use"
BIG = 10 * 1024 * 1024  # bytes of the hostile token answer: past the 4 MiB default


class ThreadedServer:
    """`LocalServer` (tests/nks) in a thread of its own, for a test whose operator runs in
    another process: `url`, `requests`."""

    def __init__(self, routes: dict[str, Any] | None = None) -> None:
        self.server = LocalServer(routes)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.__aenter__(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(
            self.server.__aexit__(None, None, None), self._loop
        ).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[str]:
        return list(self.server.requests)


@dataclass
class Tenancy:
    a: str  # team A: default credentials, may register in Argo CD
    b: str  # team B: default credentials
    c: str  # team C: no default credentials
    argocd: str  # the admin's Argo CD namespace
    sim: Sim  # the NKS project of the default credentials
    hostile: ThreadedServer  # an allowed endpoint that answers badly
    recorder: ThreadedServer  # an endpoint nobody allowed
    operator: OperatorProcess


def _namespace(api: client.ApiClient, name: str) -> str:
    client.CoreV1Api(api).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
    )
    return name


def _dripping() -> Any:
    """Headers at once, then one byte every 2 s, forever."""
    return streamed_answer(total=None, chunk=1, interval=2.0)


@pytest.fixture(scope="module")
def tenancy(
    kube: LocalKube,
    crds_installed: None,
    kube_api: client.ApiClient,
    kubectl: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Tenancy]:
    suffix = secrets.token_hex(2)
    names = [f"tenants-{team}-{suffix}" for team in ("a", "b", "c", "argocd")]
    for name in names:
        _namespace(kube_api, name)
    a, b, c, argocd = names
    thread = SimulatorThread(SimulatorConfig(delay=0.05)).start()
    session_hygiene().track_simulator(thread)
    sim = Sim(thread.url, new_tenant())
    hostile_routes = {
        "/big/v2.0/tokens": streamed_answer(total=BIG, declared=None),
        "/drip/v2.0/tokens": _dripping(),
    }
    with ThreadedServer(hostile_routes) as hostile, ThreadedServer() as recorder:
        admin_env = {
            "NKS_TENANT_ID": sim.tenant,
            "NKS_USERNAME": "platform-admin@example.com",
            "NKS_PASSWORD": "pw-" + sim.tenant,
            "NKS_URL": sim.url,  # the admin's own endpoints are trusted as they are
            "NKS_IDENTITY_URL": sim.url,
        }
        args = [
            "--allowed-endpoints",
            hostile.url,
            "--default-credentials-namespaces",
            f"{a},{b}",
            "--argocd-namespace",
            argocd,
            "--argocd-allowed-namespaces",
            a,
            "--argocd-allowed-label-keys",
            "env",
        ]
        log = tmp_path_factory.mktemp("tenants") / "operator.log"
        operator = OperatorProcess(kube, "tenants-*", log, args, admin_env)
        operator.start()
        found = Tenancy(a, b, c, argocd, sim, hostile, recorder, operator)
        try:
            yield found
        finally:
            for namespace in (a, b, c):
                kubectl("delete", "nksc", "--all", "-n", namespace, "--wait=false")
            for namespace in (a, b, c):
                wait_for(
                    lambda ns=namespace: not kubectl("get", "nksc", "-n", ns, "-o", "name").stdout,
                    120,
                    what=f"NKSClusters of {namespace} gone",
                )
            operator.stop()
            thread.stop()
            for namespace in names:
                kubectl("delete", "namespace", namespace, "--wait=false")


def on_defaults(name: str, **spec: Any) -> dict[str, Any]:
    """An NKSCluster without credentialsRef: the operator's default credentials."""
    manifest = cluster_manifest(name, **spec)
    manifest["spec"].pop("credentialsRef", None)
    return manifest


def ready(api: client.ApiClient, ns: str, name: str, timeout: float = 90) -> dict[str, Any]:
    return wait_condition(api, "nksclusters", ns, name, "Ready", "True", timeout=timeout)


def refused(api: client.ApiClient, ns: str, name: str, reason: str) -> dict[str, Any]:
    return wait_condition(api, "nksclusters", ns, name, "Ready", "False", reason, timeout=60)


def nks_names(t: Tenancy) -> list[str]:
    return sorted(c["name"] for c in t.sim.clusters() if c.get("status") != "DELETE_COMPLETE")


def said(api: client.ApiClient, ns: str, name: str) -> str:
    """Everything a team can read of a resource: its status and its Events."""
    obj = get(api, "nksclusters", ns, name) or {}
    return json.dumps([obj.get("status"), events(api, ns, name)])


@pytest.fixture(scope="module")
def team_a_cluster(tenancy: Tenancy, kubectl: Any, kube_api: client.ApiClient) -> str:
    """Team A's production cluster, made with the default credentials: its NKS id."""
    apply(kubectl, tenancy.a, on_defaults("prod"))
    return str(ready(kube_api, tenancy.a, "prod")["status"]["clusterID"])


# -- one owner per NKS cluster -------------------------------------------------------------


def test_a_second_resource_never_takes_over_a_managed_cluster(
    tenancy: Tenancy, team_a_cluster: str, kubectl: Any, kube_api: client.ApiClient
) -> None:
    t, prod = tenancy, team_a_cluster
    kubeconfig = secret_value(kube_api, t.a, "prod-kubeconfig", "value")
    writes = t.sim.writes()

    # By id: team A's cluster, named in team B's spec.
    apply(kubectl, t.b, on_defaults("by-id", clusterID=prod))
    obj = refused(kube_api, t.b, "by-id", "ManagedByAnotherResource")
    assert "clusterID" not in obj["status"]
    # By name, and by name through a hand-written create intent (the operator's own
    # record, forged: it must not make the operator adopt what it finds by that name).
    apply(kubectl, t.b, on_defaults("by-name", clusterName="prod"))
    refused(kube_api, t.b, "by-name", "ClusterNameInUse")
    forged = on_defaults("forged", clusterName="prod")
    intent = {"name": "prod", "requestedAt": "2000-01-01T00:00:00Z", "signature": "0" * 64}
    forged["metadata"]["annotations"] = {CREATE_REQUESTED: json.dumps(intent)}
    apply(kubectl, t.b, forged)
    refused(kube_api, t.b, "forged", "ClusterNameInUse")
    wait_for(
        lambda: any(e["reason"] == "NotPermitted" for e in events(kube_api, t.b, "forged")),
        30,
        what="the ignored annotation reported",
    )
    for name in ("by-id", "by-name", "forged"):
        assert prod not in said(kube_api, t.b, name), f"{name} shows team A's cluster id"
        assert secret_value(kube_api, t.b, f"{name}-kubeconfig", "value") is None

    # Deleting them calls nothing in NKS; team A's cluster is as it was.
    for name in ("by-id", "by-name", "forged"):
        kubectl("delete", "nksc", name, "-n", t.b, "--wait=false")
    for name in ("by-id", "by-name", "forged"):
        wait_gone(kube_api, "nksclusters", t.b, name)
    assert t.sim.writes() == writes
    assert "prod" in nks_names(t)
    assert condition(get(kube_api, "nksclusters", t.a, "prod"), "Ready")["status"] == "True"
    assert secret_value(kube_api, t.a, "prod-kubeconfig", "value") == kubeconfig


def test_a_status_written_by_someone_else_is_not_trusted(
    tenancy: Tenancy, team_a_cluster: str, kubectl: Any, kube_api: client.ApiClient
) -> None:
    t, prod = tenancy, team_a_cluster
    apply(kubectl, t.b, on_defaults("own"))
    own = ready(kube_api, t.b, "own")["status"]["clusterID"]
    # Someone with access to team B's status points it at team A's cluster and Secret.
    forged = {"clusterID": prod, "argocdSecret": f"{t.a}/prod-kubeconfig"}
    kubectl(
        "patch", "nksc", "own", "-n", t.b, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": forged}),
    )  # fmt: skip
    wait_for(
        lambda: (get(kube_api, "nksclusters", t.b, "own") or {})["status"]["clusterID"] == own,
        60,
        what="status restored from the operator's record",
    )
    wait_events(kube_api, t.b, "own", "ManagedByAnotherResource")
    secret = client.CoreV1Api(kube_api).read_namespaced_secret("own-kubeconfig", t.b)
    assert secret.metadata.annotations["nks.nhncloud.com/cluster-id"] == own

    # Deleting it deletes its own cluster, not team A's, and no Secret of team A's.
    kubectl(
        "patch", "nksc", "own", "-n", t.b, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": forged}),
    )  # fmt: skip
    kubectl("delete", "nksc", "own", "-n", t.b, "--wait=false")
    wait_gone(kube_api, "nksclusters", t.b, "own", timeout=90)
    assert "own" not in nks_names(t) and "prod" in nks_names(t)
    assert secret_value(kube_api, t.a, "prod-kubeconfig", "value") is not None


# -- credentials and endpoints ------------------------------------------------------------


def test_default_credentials_serve_only_the_namespaces_the_admin_lists(
    tenancy: Tenancy, kubectl: Any, kube_api: client.ApiClient
) -> None:
    t = tenancy
    writes = t.sim.writes()
    apply(kubectl, t.c, on_defaults("no-defaults"))
    obj = refused(kube_api, t.c, "no-defaults", "DefaultCredentialsNotAllowed")
    assert obj["status"]["phase"] == "Pending"
    assert "NKS_DEFAULT_CREDENTIALS_NAMESPACES" in condition(obj, "Ready")["message"]
    assert "no-defaults" not in nks_names(t) and t.sim.writes() == writes


@pytest.mark.parametrize(
    ("name", "endpoint"),
    [
        ("loopback", "recorder"),  # a port on the operator's own host nobody allowed
        ("link-local", "http://169.254.169.254"),  # cloud metadata services live here
        ("elsewhere", "https://nks.example.invalid"),
        ("allowed-host-http", "http://kr1-api-kubernetes-infrastructure.nhncloudservice.com"),
        ("half", "recorder-nks-only"),  # identity allowed, nksUrl not
    ],
)
def test_endpoints_off_the_allow_list_receive_nothing(
    tenancy: Tenancy, kubectl: Any, kube_api: client.ApiClient, name: str, endpoint: str
) -> None:
    t = tenancy
    tenant = new_tenant()
    url = t.recorder.url if endpoint.startswith("recorder") else endpoint
    credentials_secret(kubectl, t.a, url, tenant, name=f"creds-{name}")
    if endpoint == "recorder-nks-only":
        kubectl(
            "patch", "secret", f"creds-{name}", "-n", t.a, "--type=merge",
            "-p", json.dumps({"stringData": {"identityUrl": t.sim.url}}),
        )  # fmt: skip
    apply(kubectl, t.a, cluster_manifest(name, credentialsRef={"name": f"creds-{name}"}))
    obj = refused(kube_api, t.a, name, "EndpointNotAllowed")
    message = condition(obj, "Ready")["message"]
    assert "NKS_ALLOWED_ENDPOINTS" in message
    if endpoint.startswith("recorder"):
        assert t.recorder.url.removeprefix("http://") in message
    assert t.recorder.requests == []
    assert Sim(t.sim.url, tenant).calls() == {}  # not even a token was asked for
    kubectl("delete", "nksc", name, "-n", t.a, "--wait=false")
    wait_gone(kube_api, "nksclusters", t.a, name)


@pytest.mark.parametrize(
    ("name", "path", "expected"),
    [
        ("oversized", "/big", "exceeds the limit of 4194304 bytes"),
        # The default 60 s call deadline, waited out in full: a shorter one would hide
        # whatever happens only at the default.
        ("never-ending", "/drip", "no complete answer within 60s"),
    ],
)
def test_oversized_and_never_ending_answers_are_cut_off(
    tenancy: Tenancy,
    team_a_cluster: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    name: str,
    path: str,
    expected: str,
) -> None:
    t = tenancy
    credentials_secret(kubectl, t.b, t.hostile.url + path, new_tenant(), name=f"creds-{name}")
    apply(kubectl, t.b, cluster_manifest(name, credentialsRef={"name": f"creds-{name}"}))
    # Meanwhile team A's cluster is changed and converges: the hostile account holds at
    # most its share of the workers.
    nodes = 2 if name == "oversized" else 3
    patch = {"spec": {"defaultWorker": {"nodeCount": nodes}}}
    kubectl("patch", "nksc", "prod", "-n", t.a, "--type=merge", "-p", json.dumps(patch))

    def reported() -> bool:
        synced = condition(get(kube_api, "nksclusters", t.b, name), "Synced")
        return bool(
            synced and synced["reason"] == "NKSUnavailable" and expected in synced["message"]
        )

    wait_for(reported, 120, what=f"{name}: {expected}")
    wait_for(
        lambda: (
            (get(kube_api, "nksclusters", t.a, "prod") or {})["status"].get("nodeCount") == nodes
        ),
        120,
        what="team A's resize done",
    )
    t.operator.assert_alive()
    assert "exceeds" not in json.dumps(get(kube_api, "nksclusters", t.a, "prod"))
    kubectl("delete", "nksc", name, "-n", t.b, "--wait=false")
    wait_gone(kube_api, "nksclusters", t.b, name)


# -- Argo CD and Secrets ------------------------------------------------------------------


def test_argocd_registration_follows_the_admins_policy(
    tenancy: Tenancy, team_a_cluster: str, kubectl: Any, kube_api: client.ApiClient
) -> None:
    t = tenancy
    # Team A, in its own project with an allowed label key; the Secret goes to the admin's
    # Argo CD namespace, with the API address NKS reports.
    registration = {"enabled": True, "project": t.a, "labels": {"env": "prod"}}
    patch = {"spec": {"argocd": {**registration, "namespace": t.b}}}  # namespace: pruned
    kubectl("patch", "nksc", "prod", "-n", t.a, "--type=merge", "-p", json.dumps(patch))
    name = f"nks-{t.a}.prod"
    server = wait_for(lambda: secret_value(kube_api, t.argocd, name, "server"), 60)
    obj = get(kube_api, "nksclusters", t.a, "prod") or {}
    assert server == obj["status"]["apiAddress"]
    assert secret_value(kube_api, t.argocd, name, "project") == t.a
    assert "namespace" not in obj["spec"]["argocd"]  # not a field: the apiserver drops it
    assert secret_value(kube_api, t.b, name, "server") is None

    # What the policy does not allow is refused before anything is created in NKS.
    cases = [
        (t.b, "b-registers", {"enabled": True, "project": t.b}),  # namespace not allowed
        (t.a, "a-other-project", {"enabled": True, "project": t.b}),
        (t.a, "a-global", {"enabled": True}),  # no project: global in Argo CD
        (t.a, "a-labels", {"enabled": True, "project": t.a, "labels": {"tier": "gold"}}),
    ]
    for namespace, cluster, spec in cases:
        apply(kubectl, namespace, on_defaults(cluster, argocd=spec))
    for namespace, cluster, _ in cases:
        obj = refused(kube_api, namespace, cluster, "NotPermitted")
        assert obj["status"]["phase"] == "Failed"
        assert cluster not in nks_names(t)
        kubectl("delete", "nksc", cluster, "-n", namespace, "--wait=false")

    # Unregistering removes the operator's Secret only.
    kubectl("patch", "nksc", "prod", "-n", t.a, "--type=merge", "-p", '{"spec": {"argocd": null}}')
    wait_for(lambda: secret_value(kube_api, t.argocd, name, "server") is None, 60)


def test_secrets_the_operator_did_not_make_are_left_untouched(
    tenancy: Tenancy, kubectl: Any, kube_api: client.ApiClient
) -> None:
    t = tenancy
    core = client.CoreV1Api(kube_api)
    mine = {"value": base64.b64encode(b"team A's own data").decode()}
    core.create_namespaced_secret(
        t.a, client.V1Secret(metadata=client.V1ObjectMeta(name="taken"), data=mine)
    )
    before = core.read_namespaced_secret("taken", t.a).metadata.resource_version
    apply(kubectl, t.a, on_defaults("named", kubeconfigSecret={"name": "taken"}))
    obj = refused(kube_api, t.a, "named", "SecretNotOwned")
    assert "left untouched" in condition(obj, "Ready")["message"]
    assert core.read_namespaced_secret("taken", t.a).metadata.resource_version == before
    assert any(
        e["type"] == "Warning" and e["reason"] == "SecretNotOwned"
        for e in events(kube_api, t.a, "named")
    )
    # A name that is not a Secret name never reaches the operator.
    bad = kubectl(
        "apply", "-n", t.a, "-f", "-", check=False,
        input=json.dumps(on_defaults("bad-name", kubeconfigSecret={"name": "../etc"})),
    )  # fmt: skip
    assert bad.returncode != 0 and "kubeconfigSecret.name" in bad.stderr
    kubectl("delete", "nksc", "named", "-n", t.a, "--wait=false")
    wait_gone(kube_api, "nksclusters", t.a, "named", timeout=90)
    assert core.read_namespaced_secret("taken", t.a).metadata.resource_version == before


# -- teardown --------------------------------------------------------------------------------


def test_a_namespace_deleted_while_the_operator_is_stopped_strands_no_cluster(
    kube: LocalKube,
    crds_installed: None,
    kubectl: Any,
    kube_api: client.ApiClient,
    clean_simulator_thread: SimulatorThread,
    tmp_path: Path,
) -> None:
    """The credentials Secret keeps the operator's finalizer while a resource refers to it,
    so the namespace's deletion leaves it readable until NKS confirms every deletion."""
    sim = Sim(clean_simulator_thread.url, new_tenant())
    ns = _namespace(kube_api, f"strand-{secrets.token_hex(3)}")
    operator = OperatorProcess(kube, "strand-*", tmp_path / "operator.log")
    operator.start()
    try:
        credentials_secret(kubectl, ns, sim.url, sim.tenant)
        apply(kubectl, ns, cluster_manifest("billed"))
        ready(kube_api, ns, "billed")
        core = client.CoreV1Api(kube_api)
        secret = core.read_namespaced_secret("nks-credentials", ns)
        assert CREDENTIALS_FINALIZER in (secret.metadata.finalizers or [])

        operator.stop()
        kubectl("delete", "namespace", ns, "--wait=false")
        wait_for(
            lambda: (
                (get(kube_api, "nksclusters", ns, "billed") or {})
                .get("metadata", {})
                .get("deletionTimestamp")
            ),
            60,
            what="the NKSCluster being deleted with its namespace",
        )
        deleting = wait_for(
            lambda: core.read_namespaced_secret("nks-credentials", ns).metadata.deletion_timestamp,
            60,
            what="the credentials Secret being deleted",
        )
        assert deleting  # still readable: held by the finalizer
        assert [c["name"] for c in sim.clusters() if c["status"] != "DELETE_COMPLETE"] == ["billed"]

        operator.start()  # a restarted operator, with nothing cached
        wait_for(
            lambda: all(c["status"] == "DELETE_COMPLETE" for c in sim.clusters()),
            120,
            what="the NKS cluster deleted",
        )

        def namespace_gone() -> bool:
            try:
                core.read_namespace(ns)
            except ApiException as error:
                return error.status == 404
            return False

        wait_for(namespace_gone, 120, what="the namespace gone")
        assert sim.writes()["delete_cluster"] == 1
    finally:
        operator.stop()
