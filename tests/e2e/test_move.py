"""Moving to another management cluster: the same manifests, applied to a new one (its
apiserver and etcd fresh: nothing of the old one's data, no status), end with the same NKS
clusters and node groups - adopted by name, never created again (docs/operations.md,
"Moving between management clusters")."""

from __future__ import annotations

import copy
import json
import secrets
from typing import Any

import pytest

from nks_devtools.localkube import LocalKube
from nks_operator.api.crd import crd_stream
from tests.e2e.helpers import (
    Sim,
    apply,
    cluster_manifest,
    credentials_secret,
    example,
    get,
    new_tenant,
    wait_condition,
    wait_gone,
)
from tests.fixtures.kube import Kubectl, _kubectl_binary
from tests.fixtures.operator import OperatorProcess

pytestmark = pytest.mark.kube


@pytest.fixture
def sim(clean_simulator_thread: Any) -> Sim:
    return Sim(clean_simulator_thread.url, new_tenant())


def manifests() -> list[dict[str, Any]]:
    cluster = cluster_manifest("moving", adoption="ByName")
    group = copy.deepcopy(example("nksnodegroup.yaml"))
    group["metadata"]["name"] = "moving-pool"
    group["spec"].update(clusterRef={"name": "moving"}, adoption="ByName")
    return [cluster, group]


def nks_ids(sim: Sim) -> dict[str, str]:
    return {
        f"{c['name']}/{g['name']}": g["uuid"] for c in sim.clusters() for g in c["nodegroups"]
    } | {c["name"]: c["uuid"] for c in sim.clusters()}


def test_the_same_manifests_on_a_new_management_cluster_adopt_what_nks_has(
    operator: OperatorProcess,
    e2e_namespace: str,
    kubectl: Any,
    kube_api: Any,
    sim: Sim,
    tmp_path: Any,
) -> None:
    # On the old management cluster: created, Ready.
    credentials_secret(kubectl, e2e_namespace, sim.url, sim.tenant)
    for manifest in manifests():
        apply(kubectl, e2e_namespace, manifest)
    wait_condition(
        kube_api, "nksnodegroups", e2e_namespace, "moving-pool", "Ready", "True", timeout=120
    )
    before, writes = nks_ids(sim), sim.writes()
    assert writes["create_cluster"] == 1 and writes["create_nodegroup"] == 1

    # The old one goes away: its resources are let go without deleting anything in NKS
    # (docs/operations.md: Retain first, or the operator stopped for good).
    for kind, name in (("nksng", "moving-pool"), ("nksc", "moving")):
        patch = {"spec": {"deletionPolicy": "Retain"}}
        kubectl("patch", kind, name, "-n", e2e_namespace, "--type=merge", "-p", json.dumps(patch))
        kubectl("delete", kind, name, "-n", e2e_namespace)
    wait_gone(kube_api, "nksclusters", e2e_namespace, "moving")

    # A new management cluster: fresh apiserver and etcd, the CRDs, an operator, and the same
    # manifests from Git (no status: the NKS ids live nowhere on it).
    with LocalKube() as new:
        kubectl_new = Kubectl(_kubectl_binary(), new.kubeconfig, tmp_path / "kubectl-cache")
        kubectl_new("apply", "-f", "-", input=crd_stream())
        for crd in ("nksclusters", "nksnodegroups", "nksownerships"):
            kubectl_new("wait", "--for=condition=Established", f"crd/{crd}.nks.nhncloud.com")
        namespace = f"move-{secrets.token_hex(3)}"
        kubectl_new("create", "namespace", namespace)
        moved = OperatorProcess(new, "move-*", tmp_path / "operator.log")
        moved.start()
        try:
            credentials_secret(kubectl_new, namespace, sim.url, sim.tenant)
            for manifest in manifests():
                apply(kubectl_new, namespace, manifest)
            with new.api_client() as api:
                group = wait_condition(
                    api, "nksnodegroups", namespace, "moving-pool", "Ready", "True", timeout=120
                )
                cluster = get(api, "nksclusters", namespace, "moving")
            moved.assert_alive()
        finally:
            moved.stop()
    assert cluster is not None
    assert cluster["status"]["clusterID"] == before["moving"]
    assert group["status"]["nodeGroupID"] == before["moving/moving-pool"]
    assert nks_ids(sim) == before
    assert sim.writes() == writes  # nothing created (or changed) in NKS
