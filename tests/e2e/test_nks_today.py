"""Defects found by comparing the operator with today's NKS (issue 18): each test here
failed before its fix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from nks_devtools.localkube import LocalKube
from tests.e2e.helpers import (
    Sim,
    apply,
    cluster_manifest,
    condition,
    credentials_secret,
    events,
    example,
    get,
    new_tenant,
    wait_condition,
)
from tests.fixtures.operator import OperatorProcess, namespace_fixture, wait_for

pytestmark = pytest.mark.kube

# The intervals users get: the session's operator polls every 0.3 s and resyncs every 3 s,
# which hid the stale IP ACL read below.
DEFAULT_TIMINGS = {
    "NKS_FAST_POLL_SECONDS": "2",
    "NKS_SLOW_POLL_SECONDS": "120",
    "NKS_ERROR_BACKOFF_SECONDS": "60",
}

today_namespace = pytest.fixture(namespace_fixture("today"))


@pytest.fixture(scope="module")
def default_operator(
    kube: LocalKube, crds_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """An operator with the default poll intervals, for namespaces `today-*`."""
    log = tmp_path_factory.mktemp("today") / "operator.log"
    process = OperatorProcess(kube, "today-*", log, extra_env=DEFAULT_TIMINGS)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def sim(clean_simulator_thread: Any) -> Sim:
    return Sim(clean_simulator_thread.url, new_tenant())


def last_operation(api: Any, ns: str, name: str) -> dict[str, Any]:
    return ((get(api, "nksclusters", ns, name) or {}).get("status") or {}).get(
        "lastOperation"
    ) or {}


def test_an_ip_acl_change_is_confirmed_by_reading_the_acl_back(
    default_operator: OperatorProcess, today_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    """NKS applies an ACL at once and shows it only in GET api_ep_ipacl: the operator must
    read that again after its send, not judge from the ACL it read before (which made every
    change look dropped after 30 s, and sent it again)."""
    ns = today_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("acl"))
    wait_condition(kube_api, "nksclusters", ns, "acl", "Ready", "True", timeout=90)
    acl = {"enabled": True, "action": "ALLOW", "targets": [{"cidr": "203.0.113.0/24"}]}
    patch = {"spec": {"apiEndpoint": {"ipAccessControl": acl}}}
    kubectl("patch", "nksc", "acl", "-n", ns, "--type=merge", "-p", json.dumps(patch))
    done = wait_for(
        lambda: (
            (op := last_operation(kube_api, ns, "acl")).get("type") == "SET_IP_ACL"
            and op.get("state") in ("Succeeded", "Failed")
            and op
        ),
        120,
        what="the ACL change concluded",
    )
    assert done["state"] == "Succeeded", done
    assert "OperationDropped" not in [e["reason"] for e in events(kube_api, ns, "acl")]
    assert sim.writes()["set_ip_acl"] == 1


def test_a_cni_change_never_reuses_the_pod_network_and_says_when_nks_has_no_such_call(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("cni"))
    obj = wait_condition(kube_api, "nksclusters", ns, "cni", "Ready", "True", timeout=90)
    cluster_id = obj["status"]["clusterID"]
    in_use = sim.clusters()[0]["labels"]["pods_network_cidr"]
    sim.http.patch(
        f"/_sim/clusters/{cluster_id}", json={"labels": {"cni_driver": "flannel"}}
    ).raise_for_status()
    kubectl(
        "annotate", "nksc", "cni", "-n", ns, "nks.nhncloud.com/reconcile-requested-at=1",
    )  # fmt: skip
    # Calico without a new pod network: blocked, nothing sent (no default is ever guessed).
    patch = {"spec": {"network": {"cni": "calico"}}}
    kubectl("patch", "nksc", "cni", "-n", ns, "--type=merge", "-p", json.dumps(patch))
    blocked = wait_condition(
        kube_api, "nksclusters", ns, "cni", "Synced", "False", "CNIChangeBlocked"
    )
    assert in_use in next(
        c["message"] for c in blocked["status"]["conditions"] if c["type"] == "Synced"
    )
    # A new pod network: sent; today's NKS has no CNI change call (404): refused, once.
    patch = {"spec": {"network": {"cni": "calico", "podsNetworkCIDR": "10.200.0.0/16"}}}
    kubectl("patch", "nksc", "cni", "-n", ns, "--type=merge", "-p", json.dumps(patch))
    refused = wait_condition(
        kube_api, "nksclusters", ns, "cni", "Synced", "False", "OperationRefused"
    )
    message = refused["status"]["lastOperation"]["message"]
    assert "does not offer that call" in message, message
    assert sim.calls()["update_cni"] == 1  # not retried until the spec changes
    assert sim.clusters()[0]["labels"]["cni_driver"] == "flannel"


def test_nodes_are_stopped_in_the_right_cluster_when_two_share_a_cidr(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    """Two clusters on subnets with the same CIDR give their nodes the same addresses: the
    project's server list has two servers per address. The group's own hints (NKS's node
    list, its flavor and image) tell them apart; before, both groups' nodes were unknown."""
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    for cluster in ("left", "right"):
        apply(kubectl, ns, cluster_manifest(cluster))
        group = example("nksnodegroup.yaml")
        group["metadata"]["name"] = f"{cluster}-pool"
        group["spec"]["clusterRef"] = {"name": cluster}
        apply(kubectl, ns, group)
    for cluster in ("left", "right"):
        wait_condition(
            kube_api, "nksnodegroups", ns, f"{cluster}-pool", "Ready", "True", timeout=120
        )
    groups = {
        c["name"]: next(g for g in c["nodegroups"] if g["name"].endswith("-pool"))
        for c in sim.clusters()
    }
    left, right = groups["left"]["nodes"], groups["right"]["nodes"]
    assert left[0]["address"] == right[0]["address"]  # what makes addresses ambiguous
    target = right[0]["uuid"]
    patch = {"spec": {"stoppedNodes": [target]}}
    kubectl("patch", "nksng", "right-pool", "-n", ns, "--type=merge", "-p", json.dumps(patch))

    def stopped() -> list[str]:
        return [
            n["uuid"]
            for c in sim.clusters()
            for g in c["nodegroups"]
            for n in g["nodes"]
            if n["status"] in ("STOPPED", "SHUTOFF")
        ]

    wait_for(lambda: stopped() == [target], 60, what="the right cluster's node stopped")

    def reported() -> bool:
        # Synced is already True before the patch: wait for the status that shows the stop.
        obj = get(kube_api, "nksnodegroups", ns, "right-pool") or {}
        synced = condition(obj, "Synced") or {}
        return obj.get("status", {}).get("stoppedNodes") == [target] and (
            synced.get("status") == "True"
        )

    wait_for(reported, 60, what="status.stoppedNodes shows the stopped node, Synced=True")
    left_obj = get(kube_api, "nksnodegroups", ns, "left-pool") or {}
    assert not left_obj.get("status", {}).get("stoppedNodes")


EXTERNAL = {
    "externalNetworkID": "751b8227-7b45-440a-9349-dbf829d0aba5",
    "externalSubnetIDs": [
        "2d3fbc8e-4b8a-4a3c-9f1e-7a6b5c4d3e2f",
        "6c1e2f3a-9b8d-4e7f-8a6b-5c4d3e2f1a0b",
    ],
}


def test_the_endpoint_follows_the_network_and_subnet_order_is_not_drift(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    """Today's NKS gives a public endpoint only through an internet gateway network; NKS
    may list the external subnets in another order than they were sent."""
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    network = {**cluster_manifest()["spec"]["network"]}
    # Asked for a public endpoint without the network it needs: refused before any call.
    apply(kubectl, ns, cluster_manifest("public", apiEndpoint={"publicIP": True}))
    refused = wait_condition(kube_api, "nksclusters", ns, "public", "Ready", "False", "InvalidSpec")
    assert "publicIP true needs spec.network.externalNetworkID" in json.dumps(refused["status"])
    assert not sim.writes()
    kubectl("delete", "nksc", "public", "-n", ns)
    # Unset: private without it, public with it.
    apply(kubectl, ns, cluster_manifest("private"))
    apply(kubectl, ns, cluster_manifest("gateway", network={**network, **EXTERNAL}))
    for name in ("private", "gateway"):
        wait_condition(kube_api, "nksclusters", ns, name, "Ready", "True", timeout=90)
    labels = {c["name"]: c["labels"] for c in sim.clusters()}
    assert labels["private"]["master_lb_floating_ip_enabled"].lower() == "false"
    assert labels["gateway"]["master_lb_floating_ip_enabled"].lower() == "true"
    # NKS answers the subnets in another order: the same set, no immutable-field drift.
    gateway = next(c for c in sim.clusters() if c["name"] == "gateway")
    reordered = ":".join(reversed(EXTERNAL["externalSubnetIDs"]))
    sim.http.patch(
        f"/_sim/clusters/{gateway['uuid']}", json={"labels": {"external_subnet_id_list": reordered}}
    ).raise_for_status()
    kubectl(
        "annotate", "nksc", "gateway", "-n", ns, "nks.nhncloud.com/reconcile-requested-at=1",
    )  # fmt: skip
    patch = {"spec": {"defaultWorker": {"nodeCount": 2}}}
    kubectl("patch", "nksc", "gateway", "-n", ns, "--type=merge", "-p", json.dumps(patch))
    wait_for(
        lambda: next(c for c in sim.clusters() if c["name"] == "gateway")["node_count"] == 2,
        60,
        what="a change sent: no false drift blocks the cluster",
    )
    obj = get(kube_api, "nksclusters", ns, "gateway") or {}
    assert not obj["status"].get("drift")


@pytest.mark.parametrize(
    ("task_names", "list_default_master"),
    [("current", False), ("copy", True)],
    ids=["current-names-master-unlisted", "copy-names-master-listed"],
)
def test_operations_are_confirmed_under_either_editions_task_names(
    operator: OperatorProcess,
    e2e_namespace: str,
    kubectl: Any,
    kube_api: Any,
    sim: Sim,
    task_names: str,
    list_default_master: bool,
) -> None:
    """Today's NKS records a node stop as NODEGROUP_NODE_ACTION_STOP_NODE, the guide's copy
    as NODEGROUP_NODE_ACTION_NODE_STOP; whether default-master is in the node group list is
    contested. The operator confirms the operation either way (before, only the copy's names
    matched: a stop NKS did was reported dropped and sent again)."""
    sim.patch_config(task_names=task_names, list_default_master=list_default_master)
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("names"))
    group = example("nksnodegroup.yaml")
    group["metadata"]["name"] = "names-pool"
    group["spec"]["clusterRef"] = {"name": "names"}
    apply(kubectl, ns, group)
    wait_condition(kube_api, "nksnodegroups", ns, "names-pool", "Ready", "True", timeout=120)
    [cluster] = sim.clusters()
    pool = next(g for g in cluster["nodegroups"] if g["name"] == "names-pool")
    target = pool["nodes"][0]["uuid"]
    patch = {"spec": {"stoppedNodes": [target]}}
    kubectl("patch", "nksng", "names-pool", "-n", ns, "--type=merge", "-p", json.dumps(patch))

    def concluded() -> dict[str, Any] | None:
        obj = get(kube_api, "nksnodegroups", ns, "names-pool") or {}
        last = (obj.get("status") or {}).get("lastOperation") or {}
        stop = last.get("type", "").startswith("NODEGROUP_NODE_ACTION")
        return last if stop and last.get("state") in ("Succeeded", "Failed") else None

    last = wait_for(concluded, 90, what="the stop concluded")
    assert last["state"] == "Succeeded" and last.get("taskID"), last
    reasons = [e["reason"] for e in events(kube_api, ns, "names-pool")]
    assert "OperationDropped" not in reasons
    assert sim.writes()["stop_nodes"] == 1
