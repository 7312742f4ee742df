"""`nks-operator import` end to end: a project made directly through the NKS API, the real
command in a subprocess, the real kube-apiserver and the operator process - and not one
NKS write from the import to the steady state, nor when the resources are deleted."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from nks_devtools.localkube import LocalKube
from nks_devtools.simulator import Credential, SimulatorConfig, SimulatorThread
from tests.e2e.helpers import (
    WRITES,
    Sim,
    apply,
    credentials_secret,
    get,
    new_tenant,
    wait_condition,
    wait_gone,
)
from tests.fixtures.operator import OperatorProcess
from tests.importer.project import build_project, build_stopped_project

pytestmark = pytest.mark.kube

ROOT = Path(__file__).resolve().parents[2]
SECRET = "nks-credentials"
CLUSTERS = ("plain", "shop")
NODEGROUPS = ("shop-batch", "shop-legacy", "shop-web")


@pytest.fixture
def sim(clean_simulator_thread: Any) -> Sim:
    return Sim(clean_simulator_thread.url, new_tenant())


def run_import(kube: LocalKube, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, as a user runs it against the current kubeconfig."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NKS_")}
    env["KUBECONFIG"] = str(kube.kubeconfig)
    return subprocess.run(
        [sys.executable, "-m", "nks_operator", "import", "--region", "kr2", "-n", namespace, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def put_secret(kubectl: Any, namespace: str, data: dict[str, str]) -> None:
    """The credentials Secret with exactly these keys."""
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": SECRET}}
    kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps({**manifest, "stringData": data}))


def last_seq(sim: Sim) -> int:
    return int(sim.http.get("/_sim/calls", params={"log": "0"}).json()["last_seq"])


def writes_since(sim: Sim, seq: int) -> list[tuple[str, str]]:
    log = sim.http.get("/_sim/calls", params={"since": str(seq)}).json()["log"]
    return [
        (e["operation"], e["path"])
        for e in log
        if e.get("tenant") == sim.tenant and e["operation"] in WRITES
    ]


def wait_synced(api: client.ApiClient, plural: str, ns: str, name: str) -> dict[str, Any]:
    """Ready, and Synced because spec and NKS agree (the operator planned nothing)."""
    wait_condition(api, plural, ns, name, "Ready", "True", timeout=90)
    return wait_condition(api, plural, ns, name, "Synced", "True", "Synced", timeout=60)


def test_import_apply_and_reconcile_without_a_single_nks_write(
    operator: OperatorProcess,
    e2e_namespace: str,
    kubectl: Any,
    kube: LocalKube,
    kube_api: client.ApiClient,
    sim: Sim,
) -> None:
    ns = e2e_namespace
    project = asyncio.run(build_project(sim.url, sim.tenant))
    credentials_secret(kubectl, ns, sim.url, sim.tenant, name=SECRET)
    start = last_seq(sim)

    printed = run_import(kube, ns, "--credentials-secret", SECRET)
    assert printed.returncode == 0, printed.stderr
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(printed.stdout)}
    assert sorted(docs) == sorted(CLUSTERS + NODEGROUPS)
    assert docs["shop"]["spec"]["credentialsRef"] == {"name": SECRET}
    assert get(kube_api, "nksclusters", ns, "shop") is None  # printing applies nothing

    applied = run_import(kube, ns, "--credentials-secret", SECRET, "--apply")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines() == [
        "nksclusters.nks.nhncloud.com/plain created",
        "nksclusters.nks.nhncloud.com/shop created",
        "nksnodegroups.nks.nhncloud.com/shop-batch created",
        "nksnodegroups.nks.nhncloud.com/shop-legacy created",
        "nksnodegroups.nks.nhncloud.com/shop-web created",
    ]

    for name in CLUSTERS:
        obj = wait_synced(kube_api, "nksclusters", ns, name)
        assert obj["status"]["clusterID"] == project.clusters[name]
        managers = {f["manager"] for f in obj["metadata"]["managedFields"]}
        assert "nks-operator-import" in managers
        assert "annotations" not in obj["metadata"] or (
            "nks.nhncloud.com/paused" not in obj["metadata"]["annotations"]
        )
    for name in NODEGROUPS:
        obj = wait_synced(kube_api, "nksnodegroups", ns, name)
        assert obj["status"]["nodeGroupID"] == project.nodegroups[name.replace("-", "/", 1)]
    legacy = get(kube_api, "nksnodegroups", ns, "shop-legacy")
    assert legacy is not None and legacy["status"]["kubernetesVersion"] == "v1.28.3"
    assert writes_since(sim, start) == []

    # A second run finds everything in place and changes nothing.
    again = run_import(kube, ns, "--credentials-secret", SECRET, "--apply")
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert len(lines) == 5 and all("unchanged (already exists" in line for line in lines)

    # Deleting the imported resources leaves every cluster and node group in NKS.
    before = {c["uuid"]: sorted(g["name"] for g in c["nodegroups"]) for c in sim.clusters()}
    kubectl("delete", "nksnodegroups", "--all", "-n", ns, "--wait=false")
    kubectl("delete", "nksclusters", "--all", "-n", ns, "--wait=false")
    for name in NODEGROUPS:
        wait_gone(kube_api, "nksnodegroups", ns, name)
    for name in CLUSTERS:
        wait_gone(kube_api, "nksclusters", ns, name)
    after = {c["uuid"]: sorted(g["name"] for g in c["nodegroups"]) for c in sim.clusters()}
    assert after == before and set(after) == set(project.clusters.values())
    assert all(c["status"].endswith("_COMPLETE") for c in sim.clusters())
    assert writes_since(sim, start) == []


def test_a_stopped_node_stays_stopped(
    operator: OperatorProcess,
    e2e_namespace: str,
    kubectl: Any,
    kube: LocalKube,
    kube_api: client.ApiClient,
    sim: Sim,
) -> None:
    """A node stopped through the NKS API is imported in stoppedNodes; the operator, reading
    the power states from the compute API itself, agrees and sends nothing."""
    ns = e2e_namespace
    project = asyncio.run(build_stopped_project(sim.url, sim.tenant))
    credentials_secret(kubectl, ns, sim.url, sim.tenant, name=SECRET)
    start = last_seq(sim)

    applied = run_import(kube, ns, "--credentials-secret", SECRET, "--apply")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines() == [
        "nksclusters.nks.nhncloud.com/ops created",
        "nksnodegroups.nks.nhncloud.com/ops-pool created",
    ]
    wait_synced(kube_api, "nksclusters", ns, "ops")
    pool = wait_synced(kube_api, "nksnodegroups", ns, "ops-pool")
    assert pool["spec"]["stoppedNodes"] == [project.stopped]
    assert "nks.nhncloud.com/paused" not in (pool["metadata"].get("annotations") or {})
    # What the operator read from the compute API itself.
    assert pool["status"]["stoppedNodes"] == [project.stopped]
    nodes = {
        n["uuid"]: n["status"]
        for c in sim.clusters()
        for g in c["nodegroups"]
        if g["name"] == "pool"
        for n in g["nodes"]
    }
    assert nodes[project.stopped] == "SHUTOFF" and list(nodes.values()).count("SHUTOFF") == 1
    assert writes_since(sim, start) == []


def service_account_kubeconfig(
    kube: LocalKube, kubectl: Any, namespace: str, rules: list[dict[str, Any]], path: Path
) -> Path:
    """A kubeconfig of a ServiceAccount allowed `rules` in `namespace` only."""
    account = "importer"
    objects = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": account},
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": account},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        },
    ]
    for item in objects:
        apply(kubectl, namespace, item)
    token = kubectl("create", "token", account, "-n", namespace, "--duration=1h").stdout.strip()
    config = yaml.safe_load(kube.kubeconfig.read_text())
    for user in config["users"]:
        user["user"] = {"token": token}
    path.write_text(yaml.safe_dump(config))
    return path


def test_nothing_is_applied_when_the_api_server_refuses_one_resource(
    crds_installed: None,
    namespace: str,
    kubectl: Any,
    kube: LocalKube,
    kube_api: client.ApiClient,
    sim: Sim,
    tmp_path: Path,
) -> None:
    asyncio.run(build_project(sim.url, sim.tenant))
    credentials_secret(kubectl, namespace, sim.url, sim.tenant, name=SECRET)
    # Allowed to apply clusters but not node groups, in this namespace only.
    rules = [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
        {
            "apiGroups": ["nks.nhncloud.com"],
            "resources": ["nksclusters"],
            "verbs": ["get", "list", "create", "patch"],
        },
        {"apiGroups": ["nks.nhncloud.com"], "resources": ["nksnodegroups"], "verbs": ["list"]},
    ]
    config = service_account_kubeconfig(kube, kubectl, namespace, rules, tmp_path / "config")
    result = run_import(
        kube, namespace, "--credentials-secret", SECRET, "--apply", "--kubeconfig", str(config)
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NKSNodeGroup" in result.stderr and "would be refused by the API server" in result.stderr
    assert "HTTP 403" in result.stderr and "nothing was applied" in result.stderr
    assert result.stdout == ""
    for plural in ("nksclusters", "nksnodegroups"):
        items = client.CustomObjectsApi(kube_api).list_namespaced_custom_object(
            "nks.nhncloud.com", "v1alpha1", namespace, plural
        )["items"]
        assert items == [], plural


def test_an_existing_name_is_not_overwritten(
    crds_installed: None,
    namespace: str,
    kubectl: Any,
    kube: LocalKube,
    kube_api: client.ApiClient,
    sim: Sim,
) -> None:
    project = asyncio.run(build_project(sim.url, sim.tenant))
    credentials_secret(kubectl, namespace, sim.url, sim.tenant, name=SECRET)
    # Someone's own NKSCluster already named "plain", for another cluster.
    printed = run_import(kube, namespace, "--credentials-secret", SECRET, "--cluster", "plain")
    other = yaml.safe_load(printed.stdout)
    other["spec"]["clusterID"] = "00000000-0000-4000-8000-000000000000"
    apply(kubectl, namespace, other)
    result = run_import(
        kube, namespace, "--credentials-secret", SECRET, "--cluster", "plain", "--apply"
    )
    assert result.returncode == 0, result.stderr
    suffix = project.clusters["plain"][:8]
    assert result.stdout.splitlines() == [f"nksclusters.nks.nhncloud.com/plain-{suffix} created"]
    kept = get(kube_api, "nksclusters", namespace, "plain")
    assert kept is not None and kept["spec"]["clusterID"] == other["spec"]["clusterID"]
    new = get(kube_api, "nksclusters", namespace, f"plain-{suffix}")
    assert new is not None and new["spec"]["clusterName"] == "plain"


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "Secret {ns}/nks-credentials named by spec.credentialsRef does not exist"),
        ({"tenantId": "t", "username": "u"}, "lacks key(s) password"),
        (
            {"tenantId": "t", "username": "u", "password": "p", "nksUrl": "not-a-url"},
            "key nksUrl: base URL must start with http:// or https://",
        ),
        (
            {
                "tenantId": "t",
                "username": "u",
                "password": "p",
                "nksUrl": "http://127.0.0.1:9",
                "identityUrl": "http://127.0.0.1:9",
            },
            "cannot reach NKS",
        ),
    ],
)
def test_credentials_problems_are_clear_errors(
    namespace: str,
    kubectl: Any,
    kube: LocalKube,
    secret: dict[str, str] | None,
    message: str,
) -> None:
    if secret is not None:
        put_secret(kubectl, namespace, secret)
    result = run_import(kube, namespace, "--credentials-secret", SECRET)
    assert result.returncode == 1
    assert result.stdout == ""
    last = result.stderr.splitlines()[-1]  # retries of an unreachable endpoint come first
    assert last.startswith("nks-operator import: ")
    assert message.format(ns=namespace) in last


def test_rejected_credentials_and_an_unknown_cluster(
    namespace: str, kubectl: Any, kube: LocalKube
) -> None:
    config = SimulatorConfig(delay=0.05, credentials=[Credential.parse("tenant:user:right")])
    strict = SimulatorThread(config).start()
    try:
        credentials = {"tenantId": "tenant", "username": "user", "password": "wrong"}
        credentials.update(identityUrl=strict.url, nksUrl=strict.url)
        put_secret(kubectl, namespace, credentials)
        rejected = run_import(kube, namespace, "--credentials-secret", SECRET)
        put_secret(kubectl, namespace, {**credentials, "password": "right"})
        unknown = run_import(kube, namespace, "--credentials-secret", SECRET, "--cluster", "nope")
    finally:
        strict.stop()
    assert rejected.returncode == 1
    assert f"NKS rejected the credentials from Secret {namespace}/{SECRET}" in rejected.stderr
    assert "wrong" not in rejected.stderr
    assert unknown.returncode == 1
    assert "no NKS cluster 'nope' in this project and region" in unknown.stderr


def test_an_empty_project_prints_nothing(
    namespace: str, kubectl: Any, kube: LocalKube, sim: Sim
) -> None:
    credentials_secret(kubectl, namespace, sim.url, sim.tenant, name=SECRET)
    result = run_import(kube, namespace, "--credentials-secret", SECRET)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "printed 0 NKSCluster(s) and 0 NKSNodeGroup(s)" in result.stderr
