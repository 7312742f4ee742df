"""Day-2 operations end to end: edit a resource, see the NKS calls, state, conditions, Events."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from nks_operator.nks.userscript import decode_user_script
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
    nks_call,
    secret_value,
    wait_condition,
    wait_events,
    wait_gone,
    write_log,
)
from tests.fixtures.operator import E2E_ARGOCD_NAMESPACE, OperatorProcess, wait_for

pytestmark = pytest.mark.kube


@pytest.fixture
def sim(clean_simulator_thread: Any) -> Sim:
    return Sim(clean_simulator_thread.url, new_tenant())


def nks_group(sim: Sim, name: str) -> dict[str, Any]:
    [cluster] = sim.clusters()
    return next(g for g in cluster["nodegroups"] if g["name"] == name)


def patch(kubectl: Any, ns: str, kind: str, name: str, body: dict[str, Any]) -> None:
    kubectl("patch", kind, name, "-n", ns, "--type=merge", "-p", json.dumps(body))


def upgrade_log(sim: Sim) -> list[tuple[str, str]]:
    """(node group, ...) of every upgrade call, in order, from the simulator's call log."""
    log = sim.http.get("/_sim/calls").json()["log"]
    found = []
    for entry in log:
        if entry.get("tenant") == sim.tenant and entry["operation"] == "upgrade_nodegroup":
            match = re.search(r"/nodegroups/([^/]+)/upgrade", entry["path"])
            found.append((match.group(1) if match else "?", str(entry["status"])))
    return found


def reasons(api: Any, ns: str, name: str) -> list[str]:
    return [e["reason"] for e in events(api, ns, name)]


@pytest.fixture
def ready_cluster(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> str:
    credentials_secret(kubectl, e2e_namespace, sim.url, sim.tenant)
    apply(kubectl, e2e_namespace, cluster_manifest("demo"))
    wait_condition(kube_api, "nksclusters", e2e_namespace, "demo", "Ready", "True", timeout=90)
    return e2e_namespace


def wait_idle(api: Any, ns: str, plural: str, name: str, timeout: float = 60) -> dict[str, Any]:
    """Until the last operation ended and the resource is Ready again."""

    def probe() -> dict[str, Any] | None:
        obj = get(api, plural, ns, name)
        status = (obj or {}).get("status") or {}
        last = status.get("lastOperation") or {}
        ready = condition(obj, "Ready")
        if (
            last.get("state") in ("Succeeded", "Failed")
            and status.get("phase") == "Ready"
            and ready
            and ready["status"] == "True"
        ):
            return obj
        return None

    try:
        return wait_for(probe, timeout, what=f"{plural}/{name} idle")
    except AssertionError as error:
        obj = get(api, plural, ns, name)
        raise AssertionError(f"{error}: {json.dumps((obj or {}).get('status'))}") from None


def test_resize_default_worker(ready_cluster: str, kubectl: Any, kube_api: Any, sim: Sim) -> None:
    ns = ready_cluster
    patch(kubectl, ns, "nksc", "demo", {"spec": {"defaultWorker": {"nodeCount": 3}}})
    obj = wait_for(
        lambda: (
            (o := get(kube_api, "nksclusters", ns, "demo"))
            and o["status"].get("nodeCount") == 3
            and o["status"]["lastOperation"]["state"] == "Succeeded"
            and o
        ),
        60,
        what="resized",
    )
    assert obj["status"]["lastOperation"]["type"] == "CLUSTER_RESIZE"
    assert nks_group(sim, "default-worker")["node_count"] == 3
    assert sim.writes()["resize_cluster"] == 1
    wait_events(kube_api, ns, "demo", "OperationSucceeded")
    assert "OperationRequested" in reasons(kube_api, ns, "demo")
    progressing = condition(obj, "Progressing")
    assert progressing is not None and progressing["status"] == "False"


def test_node_group_day2_operations(
    ready_cluster: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = ready_cluster
    apply(kubectl, ns, example("nksnodegroup.yaml"))
    wait_condition(kube_api, "nksnodegroups", ns, "demo-pool", "Ready", "True", timeout=60)

    # Resize down, removing a chosen node.
    nodes = [n["uuid"] for n in nks_group(sim, "demo-pool")["nodes"]]
    patch(
        kubectl, ns, "nksng", "demo-pool", {"spec": {"nodeCount": 1, "nodesToRemove": [nodes[1]]}}
    )
    wait_for(lambda: nks_group(sim, "demo-pool")["node_count"] == 1, 60, what="scale-in")
    assert [n["uuid"] for n in nks_group(sim, "demo-pool")["nodes"]] == [nodes[0]]
    wait_idle(kube_api, ns, "nksnodegroups", "demo-pool")

    # Flavor change with the rollout settings, then the user script.
    patch(
        kubectl,
        ns,
        "nksng",
        "demo-pool",
        {
            "spec": {
                "nodeCount": 2,
                "nodesToRemove": [],
                "flavorID": "1d0d6983-8e9d-44dc-810e-d7689afa372c",
                "userScript": "#!/bin/sh\necho hello",
            }
        },
    )
    wait_for(
        lambda: (
            nks_group(sim, "demo-pool")["flavor_id"] == "1d0d6983-8e9d-44dc-810e-d7689afa372c"
            and nks_group(sim, "demo-pool")["node_count"] == 2
            and decode_user_script(nks_group(sim, "demo-pool")["labels"].get("user_script_v2", ""))
            == "#!/bin/sh\necho hello"
        ),
        90,
        what="flavor, size and user script applied",
    )
    wait_idle(kube_api, ns, "nksnodegroups", "demo-pool")
    writes = sim.writes()
    assert writes["change_flavor"] == 1 and writes["update_user_script"] == 1, write_log(sim)
    assert writes["resize_cluster"] == 2

    # Stop a node, refuse stopping them all, start it again.
    nodes = [n["uuid"] for n in nks_group(sim, "demo-pool")["nodes"]]
    patch(kubectl, ns, "nksng", "demo-pool", {"spec": {"stoppedNodes": [nodes[0]]}})
    try:
        wait_for(
            lambda: any(
                n["uuid"] == nodes[0] and n["status"] in ("STOPPED", "SHUTOFF")
                for n in nks_group(sim, "demo-pool")["nodes"]
            ),
            60,
            what="node stopped",
        )
    except AssertionError:
        obj = get(kube_api, "nksnodegroups", ns, "demo-pool")
        state = [obj and obj["status"], nks_group(sim, "demo-pool"), write_log(sim)]
        raise AssertionError(json.dumps(state)) from None
    wait_idle(kube_api, ns, "nksnodegroups", "demo-pool")
    patch(kubectl, ns, "nksng", "demo-pool", {"spec": {"stoppedNodes": nodes}})
    wait_condition(
        kube_api, "nksnodegroups", ns, "demo-pool", "Synced", "False", "StopNodesBlocked"
    )
    assert sim.writes()["stop_nodes"] == 1
    patch(kubectl, ns, "nksng", "demo-pool", {"spec": {"stoppedNodes": []}})
    wait_for(
        lambda: all(
            n["status"] not in ("STOPPED", "SHUTOFF") for n in nks_group(sim, "demo-pool")["nodes"]
        ),
        60,
        what="node started",
    )
    wait_idle(kube_api, ns, "nksnodegroups", "demo-pool")

    # Autoscaler: on, then the operator never resizes and refuses to stop nodes.
    patch(
        kubectl,
        ns,
        "nksng",
        "demo-pool",
        {"spec": {"autoscaler": {"enabled": True, "minNodes": 1, "maxNodes": 4}}},
    )
    wait_for(
        lambda: nks_group(sim, "demo-pool")["labels"].get("ca_enable") in ("True", "true"),
        60,
        what="autoscaler on",
    )
    wait_idle(kube_api, ns, "nksnodegroups", "demo-pool")
    resizes = sim.writes()["resize_cluster"]
    patch(kubectl, ns, "nksng", "demo-pool", {"spec": {"nodeCount": 3, "stoppedNodes": [nodes[0]]}})
    wait_condition(
        kube_api, "nksnodegroups", ns, "demo-pool", "Synced", "False", "StopNodesBlocked"
    )
    assert sim.writes()["resize_cluster"] == resizes
    assert sim.writes()["stop_nodes"] == 1
    blocked = wait_events(kube_api, ns, "demo-pool", "StopNodesBlocked")
    assert blocked and "autoscaler" in " ".join(e["message"] for e in blocked)


def test_multi_step_upgrade_order(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo", kubernetesVersion="v1.29.3"))
    for name in ("pool-a", "pool-b"):
        group = example("nksnodegroup.yaml")
        group["metadata"]["name"] = name
        apply(kubectl, ns, group)
    for name in ("pool-a", "pool-b"):
        wait_condition(kube_api, "nksnodegroups", ns, name, "Ready", "True", timeout=90)
    # A downgrade is refused before any call.
    patch(kubectl, ns, "nksc", "demo", {"spec": {"kubernetesVersion": "v1.28.3"}})
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "False", "InvalidSpec")
    assert "upgrade_nodegroup" not in sim.writes()

    patch(kubectl, ns, "nksc", "demo", {"spec": {"kubernetesVersion": "v1.31.4"}})
    try:
        wait_for(
            lambda: all(
                g["labels"].get("kube_tag") == "v1.31.4" for g in sim.clusters()[0]["nodegroups"]
            ),
            180,
            what="every group on v1.31.4",
        )
    except AssertionError:
        statuses = {
            name: (get(kube_api, plural, ns, name) or {}).get("status")
            for plural, name in (
                ("nksclusters", "demo"),
                ("nksnodegroups", "pool-a"),
                ("nksnodegroups", "pool-b"),
            )
        }
        versions = {g["name"]: g["labels"].get("kube_tag") for g in sim.clusters()[0]["nodegroups"]}
        raise AssertionError(json.dumps([versions, upgrade_log(sim), statuses])) from None
    calls = [name for name, status in upgrade_log(sim) if status.startswith("2")]
    # Control plane first, then every worker group, one minor version at a time.
    first, second = calls[:4], calls[4:8]
    assert first[0] == "default-master" and second[0] == "default-master"
    assert set(first[1:]) == {"default-worker", "pool-a", "pool-b"}
    assert set(second[1:]) == {"default-worker", "pool-a", "pool-b"}
    assert len(calls) == 8
    cluster = wait_idle(kube_api, ns, "nksclusters", "demo", timeout=60)
    assert cluster["status"]["kubernetesVersion"] == "v1.31.4"
    for name in ("pool-a", "pool-b"):
        obj = wait_idle(kube_api, ns, "nksnodegroups", name, timeout=60)
        assert obj["status"]["kubernetesVersion"] == "v1.31.4"


def test_cluster_settings(ready_cluster: str, kubectl: Any, kube_api: Any, sim: Sim) -> None:
    """IP ACL (incl. drift and disabling), certificate renewal, CNI change, gateways."""
    ns = ready_cluster
    obj = get(kube_api, "nksclusters", ns, "demo")
    assert obj is not None
    cluster_id = obj["status"]["clusterID"]
    acl = {
        "enabled": True,
        "action": "ALLOW",
        "targets": [{"cidr": "203.0.113.0/24", "description": "office"}],
    }
    patch(kubectl, ns, "nksc", "demo", {"spec": {"apiEndpoint": {"ipAccessControl": acl}}})
    wait_for(
        lambda: sim.state()["clusters"][0].get("ipacl", {}).get("enable") in (True, "true", "True"),
        60,
        what="IP ACL applied",
    )
    wait_idle(kube_api, ns, "nksclusters", "demo")
    # Drift: someone disables it in the console; the operator puts it back.
    nks_call(sim, lambda nks: nks.set_ip_acl(cluster_id, enable=False))
    kubectl(
        "annotate",
        "nksc",
        "demo",
        "-n",
        ns,
        "nks.nhncloud.com/reconcile-requested-at=1",
        "--overwrite",
    )
    wait_for(lambda: sim.writes()["set_ip_acl"] >= 3, 30, what="ACL drift corrected")
    wait_for(
        lambda: str(sim.state()["clusters"][0]["ipacl"].get("enable")).lower() == "true",
        30,
        what="ACL enabled again",
    )
    patch(
        kubectl,
        ns,
        "nksc",
        "demo",
        {"spec": {"apiEndpoint": {"ipAccessControl": {"enabled": False}}}},
    )
    wait_for(
        lambda: (
            str(sim.state()["clusters"][0].get("ipacl", {}).get("enable")).lower() == "false"
            and sim.writes()["set_ip_acl"] >= 4
        ),
        60,
        what="IP ACL disabled",
    )
    wait_idle(kube_api, ns, "nksclusters", "demo")

    # Manual certificate renewal refreshes the kubeconfig Secret.
    before = secret_value(kube_api, ns, "demo-kubeconfig", "value")
    kubectl("annotate", "nksc", "demo", "-n", ns, "nks.nhncloud.com/renew-certificate=2026-11-27")
    wait_for(
        lambda: secret_value(kube_api, ns, "demo-kubeconfig", "value") not in (before, None),
        60,
        what="kubeconfig refreshed",
    )
    assert sim.writes()["renew_certificate"] == 1
    wait_events(kube_api, ns, "demo", "KubeconfigRefreshed")
    wait_idle(kube_api, ns, "nksclusters", "demo")
    assert sim.writes()["renew_certificate"] == 1  # once per annotation value

    # Flannel -> Calico, through the copy's CNI change API (the current edition has none).
    sim.patch_config(cni_update_api=True)
    sim.http.patch(
        f"/_sim/clusters/{cluster_id}", json={"labels": {"cni_driver": "flannel"}}
    ).raise_for_status()
    kubectl(
        "annotate",
        "nksc",
        "demo",
        "-n",
        ns,
        "nks.nhncloud.com/reconcile-requested-at=2",
        "--overwrite",
    )
    patch(
        kubectl,
        ns,
        "nksc",
        "demo",
        {"spec": {"network": {"cni": "calico", "podsNetworkCIDR": "10.200.0.0/16"}}},
    )
    wait_for(
        lambda: sim.clusters()[0]["labels"].get("cni_driver") == "calico", 60, what="CNI calico"
    )
    assert sim.writes()["update_cni"] == 1
    wait_idle(kube_api, ns, "nksclusters", "demo")


def test_argocd_cluster_secret(ready_cluster: str, kubectl: Any, kube_api: Any, sim: Sim) -> None:
    """Written into the Argo CD namespace the admin configured (the session's operator:
    E2E_ARGOCD_ARGS), with NKS's API address, removed when switched off and with the
    NKSCluster."""
    ns, argo_ns = ready_cluster, E2E_ARGOCD_NAMESPACE
    patch(
        kubectl,
        ns,
        "nksc",
        "demo",
        {"spec": {"argocd": {"enabled": True, "labels": {"env": "test"}}}},
    )
    name = f"nks-{ns}.demo"
    config = wait_for(
        lambda: secret_value(kube_api, argo_ns, name, "config"), 60, what="argo secret"
    )
    assert json.loads(config)["tlsClientConfig"]["caData"]
    server = secret_value(kube_api, argo_ns, name, "server")
    obj = get(kube_api, "nksclusters", ns, "demo")
    assert obj is not None and server == obj["status"]["apiAddress"]
    assert obj["status"]["argocdSecret"] == f"{argo_ns}/{name}"
    # Switched off: removed; on again: written again (the off passes stopped looking).
    patch(kubectl, ns, "nksc", "demo", {"spec": {"argocd": {"enabled": False}}})
    wait_for(
        lambda: secret_value(kube_api, argo_ns, name, "config") is None, 60, what="unregistered"
    )
    patch(kubectl, ns, "nksc", "demo", {"spec": {"argocd": {"enabled": True}}})
    wait_for(lambda: secret_value(kube_api, argo_ns, name, "config"), 60, what="registered")
    kubectl("delete", "nksc", "demo", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksclusters", ns, "demo", timeout=60)
    assert secret_value(kube_api, argo_ns, name, "config") is None


NCR = "48f4ff38-d14b-4f34-a40c-705524e6a755"
NCR_NEW = "5bac7acd-58b7-4cf5-95f5-a25d67da13a2"
OBS = "23c550cb-6a5b-4eaa-903a-711c13316d91"


def wait_polls(sim: Sim, count: int) -> None:
    """Until the operator listed this tenant's clusters `count` more times: passes went by."""
    start = sim.calls()["list_clusters"]
    wait_for(lambda: sim.calls()["list_clusters"] >= start + count, 60, what=f"{count} polls")


@pytest.mark.parametrize("status_moves", [True, False], ids=["status-moves", "status-stays"])
def test_service_gateway_change_and_refusal(
    operator: OperatorProcess,
    e2e_namespace: str,
    kubectl: Any,
    kube_api: Any,
    sim: Sim,
    status_moves: bool,
) -> None:
    """A change sends both gateways (the guide requires both), is confirmed by the labels
    read back - NKS records no task for it - whether or not NKS moves the cluster's status
    meanwhile (unconfirmed: the simulator does either), and never warns it was dropped."""
    ns = e2e_namespace
    sim.patch_config(service_gateway_status="update_in_progress" if status_moves else "unchanged")
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("gw", serviceGateways={"ncr": NCR, "obs": OBS}))
    apply(kubectl, ns, cluster_manifest("nogw"))
    wait_condition(kube_api, "nksclusters", ns, "gw", "Ready", "True", timeout=90)
    wait_condition(kube_api, "nksclusters", ns, "nogw", "Ready", "True", timeout=90)
    patch(kubectl, ns, "nksc", "gw", {"spec": {"serviceGateways": {"ncr": NCR_NEW}}})
    wait_for(
        lambda: any(c["labels"].get("ncr_sgw") == NCR_NEW for c in sim.clusters()),
        60,
        what="gateway changed",
    )
    obj = wait_condition(kube_api, "nksclusters", ns, "gw", "Synced", "True", "Synced")
    assert obj["status"]["lastOperation"]["type"] == "UPDATE_SERVICE_GATEWAY"
    assert obj["status"]["lastOperation"]["state"] == "Succeeded"
    wait_events(kube_api, ns, "gw", "OperationSucceeded")
    assert "OperationDropped" not in reasons(kube_api, ns, "gw")
    assert [c["labels"].get("obs_sgw") for c in sim.clusters() if c["name"] == "gw"] == [OBS]

    # Only one gateway known: NKS needs both in the call, so nothing is sent.
    patch(kubectl, ns, "nksc", "nogw", {"spec": {"serviceGateways": {"obs": OBS}}})
    obj = wait_condition(
        kube_api, "nksclusters", ns, "nogw", "Synced", "False", "ServiceGatewayBlocked"
    )
    assert "spec.serviceGateways.ncr" in condition(obj, "Synced")["message"]
    # Both given, but NKS only changes gateways set at creation: refused, reported, not
    # retried while the spec stays.
    patch(kubectl, ns, "nksc", "nogw", {"spec": {"serviceGateways": {"ncr": NCR, "obs": OBS}}})
    obj = wait_condition(kube_api, "nksclusters", ns, "nogw", "Synced", "False", "OperationRefused")
    assert "gateway" in condition(obj, "Synced")["message"]
    wait_polls(sim, 5)
    sends = [path for op, _, path in write_log(sim) if op == "update_service_gateway"]
    assert len(sends) == 2, sends  # gw's change, nogw's refusal: no retry loop
    refusals = [e for e in events(kube_api, ns, "nogw") if e["reason"] == "OperationRefused"]
    assert len(refusals) == 1


def test_automatic_certificate_renewal(
    ready_cluster: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = ready_cluster
    obj = get(kube_api, "nksclusters", ns, "demo")
    assert obj is not None
    before = secret_value(kube_api, ns, "demo-kubeconfig", "value")
    soon = "2026-11-30T00:00:00+00:00"  # within renewBeforeDays (30) of "now"
    sim.http.patch(
        f"/_sim/clusters/{obj['status']['clusterID']}",
        json={"labels": {"certificate_expiry": soon}},
    ).raise_for_status()
    kubectl(
        "annotate",
        "nksc",
        "demo",
        "-n",
        ns,
        "nks.nhncloud.com/reconcile-requested-at=x",
        "--overwrite",
    )
    wait_for(lambda: sim.writes()["renew_certificate"] == 1, 60, what="automatic renewal")
    wait_for(
        lambda: secret_value(kube_api, ns, "demo-kubeconfig", "value") not in (before, None),
        60,
        what="kubeconfig refreshed",
    )
    obj = wait_idle(kube_api, ns, "nksclusters", "demo")
    assert obj["status"]["certificateExpiry"] != soon
    assert sim.writes()["renew_certificate"] == 1
