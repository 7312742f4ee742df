"""NKSCluster and NKSNodeGroup end to end: real kube-apiserver, simulator, operator process."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from kubernetes import client

from nks_operator.nks import Credentials, NKSClient
from tests.e2e.helpers import (
    EXAMPLES,
    Sim,
    apply,
    cluster_manifest,
    credentials_secret,
    events,
    example,
    get,
    new_tenant,
    secret_value,
    wait_condition,
    wait_gone,
)
from tests.fixtures.operator import OperatorProcess, wait_for

pytestmark = pytest.mark.kube


@pytest.fixture
def tenant() -> str:
    return new_tenant()


@pytest.fixture
def sim(clean_simulator_thread: Any, tenant: str) -> Sim:
    return Sim(clean_simulator_thread.url, tenant)


async def _kubeconfig_from_nks(sim: Sim, cluster_id: str) -> str:
    creds = Credentials(tenant_id=sim.tenant, username="platform-team@example.com", password="x")
    async with NKSClient(creds, "kr2", nks_url=sim.url, identity_url=sim.url) as nks:
        return (await nks.get_kubeconfig(cluster_id)).get_secret_value()


async def test_minimal_cluster_create_ready_delete(
    operator: OperatorProcess,
    e2e_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: Sim,
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    kubectl("apply", "-n", ns, "-f", str(EXAMPLES / "nkscluster-minimal.yaml"))
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    status = obj["status"]
    assert status["phase"] == "Ready"
    assert status["nksStatus"] == "CREATE_COMPLETE"
    assert status["kubernetesVersion"] == "v1.29.3"
    assert status["nodeCount"] == 1
    assert status["apiAddress"].startswith("https://")
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    assert status["kubeconfigSecretName"] == "demo-kubeconfig"
    assert "creation" not in status
    synced = next(c for c in status["conditions"] if c["type"] == "Synced")
    assert synced["status"] == "True"
    [nks_cluster] = sim.clusters()
    assert nks_cluster["uuid"] == status["clusterID"]

    # Printer columns.
    table = kubectl("get", "nksc", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "PHASE", "VERSION", "NODES", "READY", "SYNCED", "AGE"]
    assert table[1].split()[:6] == ["demo", "Ready", "v1.29.3", "1", "True", "True"]

    # The kubeconfig Secret, in Cluster API's convention, holds NKS's kubeconfig.
    secret = client.CoreV1Api(kube_api).read_namespaced_secret("demo-kubeconfig", ns)
    assert secret.type == "cluster.x-k8s.io/secret"
    assert secret.metadata.labels["cluster.x-k8s.io/cluster-name"] == "demo"
    owner = secret.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.uid) == ("NKSCluster", "demo", obj["metadata"]["uid"])
    calls_before_check = sim.calls()
    value = secret_value(kube_api, ns, "demo-kubeconfig", "value")
    assert value == await _kubeconfig_from_nks(sim, status["clusterID"])
    assert yaml.safe_load(value)["kind"] == "Config"

    reasons = {e["reason"] for e in events(kube_api, ns, "demo")}
    assert {"CreateRequested", "NKSTaskSucceeded", "KubeconfigWritten"} <= reasons

    kubectl("delete", "nksc", "demo", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksclusters", ns, "demo", timeout=60)
    assert sim.clusters() == []
    wait_for(
        lambda: secret_value(kube_api, ns, "demo-kubeconfig", "value") is None,
        30,
        what="kubeconfig Secret garbage-collected",
    )
    cycle = sim.calls()
    cycle.subtract({"get_kubeconfig": 1, "issue_token": 1, "get_supports": 0})
    writes = sim.writes()
    assert writes == {"create_cluster": 1, "delete_cluster": 1}
    # Printed for the record (the closing note quotes it): NKS calls of one full cycle.
    print("NKS calls, create -> Ready -> delete:", json.dumps(dict(sorted(cycle.items()))))
    assert calls_before_check["create_cluster"] == 1


def test_full_example_with_node_group(
    operator: OperatorProcess,
    e2e_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: Sim,
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    sim.patch_config(delay=2.0)  # slow enough to see the node group wait
    kubectl("apply", "-n", ns, "-f", str(EXAMPLES / "nkscluster-full.yaml"))
    group = example("nksnodegroup.yaml")
    group["spec"]["clusterRef"]["name"] = "production"
    apply(kubectl, ns, group)
    # The node group waits (a condition, not an error) for its cluster.
    wait_condition(
        kube_api, "nksnodegroups", ns, "demo-pool", "Ready", "False", "WaitingForCluster"
    )
    cluster = wait_condition(kube_api, "nksclusters", ns, "production", "Ready", "True", timeout=90)
    assert cluster["status"]["nodeCount"] == 3
    ng = wait_condition(kube_api, "nksnodegroups", ns, "demo-pool", "Ready", "True", timeout=90)
    assert ng["status"]["clusterID"] == cluster["status"]["clusterID"]
    assert ng["status"]["nodeCount"] == 2
    assert len(ng["status"]["nodeAddresses"]) == 2

    [nks_cluster] = sim.clusters()
    assert nks_cluster["name"] == "prod-kr2"
    labels = nks_cluster["labels"]
    assert labels["ca_enable"] in ("True", "true")
    assert labels["strict_sg_rules"] in ("True", "true")
    assert labels["pods_network_cidr"] == "10.100.0.0/16"
    names = {g["name"] for g in nks_cluster["nodegroups"]}
    assert {"default-worker", "demo-pool"} <= names

    # Deleting the cluster first must not leave the node group stuck.
    kubectl("delete", "nksc", "production", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksclusters", ns, "production")
    wait_condition(kube_api, "nksnodegroups", ns, "demo-pool", "Ready", "False", "ClusterNotFound")
    kubectl("delete", "nksng", "demo-pool", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksnodegroups", ns, "demo-pool", timeout=30)
    assert sim.clusters() == []


def test_node_group_delete_waits_for_nks(
    operator: OperatorProcess,
    e2e_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: Sim,
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo"))
    apply(kubectl, ns, example("nksnodegroup.yaml"))
    wait_condition(kube_api, "nksnodegroups", ns, "demo-pool", "Ready", "True", timeout=90)
    kubectl("delete", "nksng", "demo-pool", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksnodegroups", ns, "demo-pool")
    [nks_cluster] = sim.clusters()
    assert {g["name"] for g in nks_cluster["nodegroups"]} == {"default-worker", "default-master"}
    assert sim.writes()["delete_nodegroup"] == 1
    kubectl("delete", "nksc", "demo", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksclusters", ns, "demo")
    assert get(kube_api, "nksclusters", ns, "demo") is None
