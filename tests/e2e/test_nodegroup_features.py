"""The current edition's node group features end to end (real kube-apiserver, simulator,
operator process): Kubernetes node labels, the metric-based autoscaler, floating IP
auto-bind and the cluster autoscaler's pod replicas. Each is created with the group,
changed by one call (confirmed), put back after a change behind the operator's back, and
refused input is refused before any NKS call."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

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
    wait_condition,
    write_log,
)
from tests.fixtures.operator import OperatorProcess, wait_for

pytestmark = pytest.mark.kube

SUBNET = "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90"  # the subnet of examples/nkscluster-minimal.yaml
OTHER_SUBNET = "35e220b6-92f9-4c0f-99db-5246daa5a8ae"
CPU = {"metric": "GROUP_CPU_USAGE", "threshold": 80, "durationMinutes": 5}


@pytest.fixture
def sim(clean_simulator_thread: Any) -> Sim:
    return Sim(clean_simulator_thread.url, new_tenant())


@pytest.fixture
def ready_cluster(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> str:
    credentials_secret(kubectl, e2e_namespace, sim.url, sim.tenant)
    apply(kubectl, e2e_namespace, cluster_manifest("demo"))
    wait_condition(kube_api, "nksclusters", e2e_namespace, "demo", "Ready", "True", timeout=90)
    return e2e_namespace


def patch(kubectl: Any, ns: str, kind: str, name: str, body: dict[str, Any]) -> None:
    kubectl("patch", kind, name, "-n", ns, "--type=merge", "-p", json.dumps(body))


def nks_group(sim: Sim, name: str) -> dict[str, Any]:
    """The group as the simulator holds it; `settings`: what it stored, whatever answers show."""
    [cluster] = sim.clusters()
    return next(g for g in cluster["nodegroups"] if g["name"] == name)


def settings(sim: Sim, name: str) -> dict[str, Any]:
    return nks_group(sim, name)["settings"]


def node_group(name: str = "pool", **spec: Any) -> dict[str, Any]:
    manifest = copy.deepcopy(example("nksnodegroup.yaml"))
    manifest["metadata"]["name"] = name
    manifest["spec"].pop("nodeLabels", None)
    manifest["spec"].update(spec)
    return manifest


def status(api: Any, ns: str, plural: str, name: str) -> dict[str, Any]:
    return (get(api, plural, ns, name) or {}).get("status") or {}


def wait_idle(api: Any, ns: str, plural: str, name: str, timeout: float = 60) -> dict[str, Any]:
    """Until the last operation ended and the resource is Ready and Synced."""

    def probe() -> dict[str, Any] | None:
        obj = get(api, plural, ns, name)
        last = ((obj or {}).get("status") or {}).get("lastOperation") or {}
        ready, synced = condition(obj, "Ready"), condition(obj, "Synced")
        if (
            last.get("state") in ("Succeeded", "Failed")
            and ready is not None
            and ready["status"] == "True"
            and synced is not None
            and synced["status"] == "True"
        ):
            return obj
        return None

    try:
        return wait_for(probe, timeout, what=f"{plural}/{name} idle")
    except AssertionError as error:
        raise AssertionError(f"{error}: {json.dumps(status(api, ns, plural, name))}") from None


def wait_polls(sim: Sim, count: int) -> None:
    """Until the operator read this tenant's clusters `count` more times: passes went by."""
    start = sim.calls()["list_clusters"]
    wait_for(lambda: sim.calls()["list_clusters"] >= start + count, 60, what=f"{count} polls")


def reread(kubectl: Any, ns: str, kind: str, name: str, value: str) -> None:
    """Ask for a fresh read of NKS (a change made behind the operator's back shows at once)."""
    annotation = f"nks.nhncloud.com/reconcile-requested-at={value}"
    kubectl("annotate", kind, name, "-n", ns, annotation, "--overwrite")


def wait_confirmed(api: Any, ns: str, plural: str, name: str, key: str) -> None:
    """Until NKS showed the value last sent: a change made afterwards is drift."""

    def confirmed() -> bool:
        record = (status(api, ns, plural, name).get("sentSettings") or {}).get(key) or {}
        return record.get("state") == "Confirmed"

    wait_for(confirmed, 30, what=f"{plural}/{name} {key} confirmed")


def refused_before_any_call(
    kube_api: Any, kubectl: Any, sim: Sim, ns: str, name: str, body: dict[str, Any], why: str
) -> None:
    writes = sim.writes()
    patch(kubectl, ns, "nksng", name, {"spec": body})
    obj = wait_condition(kube_api, "nksnodegroups", ns, name, "Ready", "False", "InvalidSpec")
    ready = condition(obj, "Ready")
    assert ready is not None and why in ready["message"], ready
    wait_polls(sim, 3)
    assert sim.writes() == writes, write_log(sim)


def test_node_labels(ready_cluster: str, kubectl: Any, kube_api: Any, sim: Sim) -> None:
    ns = ready_cluster
    apply(kubectl, ns, node_group(nodeLabels={"example.com/pool": "a"}))
    wait_condition(kube_api, "nksnodegroups", ns, "pool", "Ready", "True", timeout=60)
    assert settings(sim, "pool")["k8s_node_labels"] == {"example.com/pool": "a"}
    wait_confirmed(kube_api, ns, "nksnodegroups", "pool", "nodeLabels")
    assert "set_node_labels" not in sim.writes()  # the create carried them

    # A change sends the complete set, once, confirmed by its task.
    wanted = {"example.com/pool": "a", "tier": "web"}
    patch(kubectl, ns, "nksng", "pool", {"spec": {"nodeLabels": {"tier": "web"}}})
    wait_for(lambda: settings(sim, "pool")["k8s_node_labels"] == wanted, 60, what="labels set")
    obj = wait_idle(kube_api, ns, "nksnodegroups", "pool")
    last = obj["status"]["lastOperation"]
    assert (last["type"], last["state"]) == ("NODEGROUP_UPDATE_K8S_NODE_LABELS", "Succeeded")
    assert last["taskID"]
    wait_confirmed(kube_api, ns, "nksnodegroups", "pool", "nodeLabels")
    assert sim.writes()["set_node_labels"] == 1

    # Drift: someone changes them in the console; the operator puts the spec's back.
    cluster_id = obj["status"]["clusterID"]
    nks_call(sim, lambda nks: nks.set_node_labels(cluster_id, "pool", {"rogue": "x"}))
    wait_for(lambda: settings(sim, "pool")["k8s_node_labels"] == {"rogue": "x"}, 30, what="drift")
    reread(kubectl, ns, "nksng", "pool", "drift")
    wait_for(lambda: settings(sim, "pool")["k8s_node_labels"] == wanted, 60, what="corrected")
    wait_idle(kube_api, ns, "nksnodegroups", "pool")
    wait_polls(sim, 3)
    assert sim.writes()["set_node_labels"] == 3  # the operator's two and the console's

    # Refused before any call: a prefix NKS keeps for itself.
    refused_before_any_call(
        kube_api,
        kubectl,
        sim,
        ns,
        "pool",
        {"nodeLabels": {"node-role.kubernetes.io/worker": ""}},
        "is reserved by NKS",
    )

    # The default worker group: the NKSCluster's spec.defaultWorker.nodeLabels.
    patch(kubectl, ns, "nksc", "demo", {"spec": {"defaultWorker": {"nodeLabels": {"a": "b"}}}})
    wait_for(
        lambda: settings(sim, "default-worker").get("k8s_node_labels") == {"a": "b"},
        60,
        what="default worker labelled",
    )
    obj = wait_idle(kube_api, ns, "nksclusters", "demo")
    assert obj["status"]["lastOperation"]["target"] == "default-worker"
    assert sim.writes()["set_node_labels"] == 4


def test_node_labels_nks_does_not_show_are_sent_once(
    ready_cluster: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    """How answers show the labels is unknown: with answers that do not show them, what
    the create carried is not sent again, and a change is sent once, never in a loop. The
    group's status does not move either (also unknown): the task alone confirms it."""
    ns = ready_cluster
    sim.patch_config(setting_labels="hidden", setting_change_status="unchanged")
    apply(kubectl, ns, node_group(nodeLabels={"a": "1"}))
    wait_condition(kube_api, "nksnodegroups", ns, "pool", "Ready", "True", timeout=60)
    assert settings(sim, "pool")["k8s_node_labels"] == {"a": "1"}
    assert "k8s_node_labels" not in nks_group(sim, "pool")["labels"]
    wait_polls(sim, 5)
    record = status(kube_api, ns, "nksnodegroups", "pool")["sentSettings"]["nodeLabels"]
    assert record["state"] == "Unconfirmed"
    assert "set_node_labels" not in sim.writes()

    patch(kubectl, ns, "nksng", "pool", {"spec": {"nodeLabels": {"a": "2"}}})
    wait_for(lambda: settings(sim, "pool")["k8s_node_labels"] == {"a": "2"}, 60, what="changed")
    obj = wait_idle(kube_api, ns, "nksnodegroups", "pool")
    last = obj["status"]["lastOperation"]
    assert (last["type"], last["state"]) == ("NODEGROUP_UPDATE_K8S_NODE_LABELS", "Succeeded")
    wait_polls(sim, 5)
    assert sim.writes()["set_node_labels"] == 1
    record = status(kube_api, ns, "nksnodegroups", "pool")["sentSettings"]["nodeLabels"]
    assert record["state"] == "Unconfirmed"
    synced = condition(get(kube_api, "nksnodegroups", ns, "pool"), "Synced")
    assert synced is not None and synced["status"] == "True"


def test_metric_autoscaler(ready_cluster: str, kubectl: Any, kube_api: Any, sim: Sim) -> None:
    ns = ready_cluster
    scale_out = {"enabled": True, "maxNodes": 5, "rules": [CPU]}
    apply(kubectl, ns, node_group(nodeCount=2, metricAutoscaler={"scaleOut": scale_out}))
    wait_condition(kube_api, "nksnodegroups", ns, "pool", "Ready", "True", timeout=60)
    stored = settings(sim, "pool")
    assert stored["mba_scale_out"]["enable"] is True
    assert stored["mba_scale_out"]["max_node_count"] == 5
    assert stored["mba_scale_out"]["rules"] == [
        {"metric": "GROUP_CPU_USAGE", "threshold": 80, "duration": 5}
    ]
    assert stored["mba_scale_in"]["enable"] is False
    wait_idle(kube_api, ns, "nksnodegroups", "pool")

    # While a policy is on, the node count is NKS's: never resized.
    patch(kubectl, ns, "nksng", "pool", {"spec": {"nodeCount": 4}})
    wait_polls(sim, 5)
    assert "resize_cluster" not in sim.writes(), write_log(sim)
    synced = condition(get(kube_api, "nksnodegroups", ns, "pool"), "Synced")
    assert synced is not None and synced["status"] == "True"

    # A change: whole policies in one call, confirmed by its task.
    scale_in = {"enabled": True, "minNodes": 1, "rules": [{**CPU, "threshold": 10}]}
    patch(
        kubectl,
        ns,
        "nksng",
        "pool",
        {"spec": {"metricAutoscaler": {"scaleOut": {"delayMinutes": 20}, "scaleIn": scale_in}}},
    )
    wait_for(
        lambda: (
            settings(sim, "pool")["mba_scale_out"]["delay"] == 20
            and settings(sim, "pool")["mba_scale_in"]["enable"] is True
        ),
        60,
        what="policies changed",
    )
    obj = wait_idle(kube_api, ns, "nksnodegroups", "pool")
    last = obj["status"]["lastOperation"]
    assert (last["type"], last["state"]) == ("NODEGROUP_SET_METRIC_BASE_AUTOSCALER", "Succeeded")
    assert sim.writes()["set_metric_autoscaler"] == 1
    wait_confirmed(kube_api, ns, "nksnodegroups", "pool", "metricAutoscaler")

    # Drift: scale-out turned off in the console; the operator turns it on again.
    cluster_id = obj["status"]["clusterID"]

    async def turn_off(nks: Any) -> Any:
        from nks_operator.nks.models import ScaleOutPolicy

        return await nks.set_metric_autoscaler(
            cluster_id, "pool", scale_out=ScaleOutPolicy(enable=False)
        )

    nks_call(sim, turn_off)
    wait_for(lambda: settings(sim, "pool")["mba_scale_out"]["enable"] is False, 30, what="off")
    reread(kubectl, ns, "nksng", "pool", "drift")
    wait_for(lambda: settings(sim, "pool")["mba_scale_out"]["enable"] is True, 60, what="on again")
    wait_idle(kube_api, ns, "nksnodegroups", "pool")
    assert sim.writes()["set_metric_autoscaler"] == 3  # the operator's two and the console's
    assert "resize_cluster" not in sim.writes()

    # Refused before any call: both autoscalers on one group.
    refused_before_any_call(
        kube_api,
        kubectl,
        sim,
        ns,
        "pool",
        {"autoscaler": {"enabled": True, "maxNodes": 5}},
        "cannot both be enabled",
    )

    # Off (absent): turned off, then the group is resized to the spec's count.
    patch(kubectl, ns, "nksng", "pool", {"spec": {"autoscaler": None, "metricAutoscaler": None}})
    wait_for(lambda: nks_group(sim, "pool")["node_count"] == 4, 90, what="resized after off")
    stored = settings(sim, "pool")
    assert stored["mba_scale_out"]["enable"] is False and stored["mba_scale_in"]["enable"] is False
    writes = sim.writes()
    assert (writes["set_metric_autoscaler"], writes["resize_cluster"]) == (4, 1), write_log(sim)


def test_floating_ip_auto_bind(ready_cluster: str, kubectl: Any, kube_api: Any, sim: Sim) -> None:
    ns = ready_cluster
    fip = {"enabled": True, "subnetID": SUBNET}
    apply(kubectl, ns, node_group(floatingIPAutoBind=fip))
    wait_condition(kube_api, "nksnodegroups", ns, "pool", "Ready", "True", timeout=60)
    stored = settings(sim, "pool")
    assert (stored["fip_auto_bind_enable"], stored["fip_bind_subnet"]) == ("True", SUBNET)
    assert "fip_selector" not in stored
    wait_confirmed(kube_api, ns, "nksnodegroups", "pool", "floatingIPAutoBind")

    # A change: one call, confirmed.
    patch(kubectl, ns, "nksng", "pool", {"spec": {"floatingIPAutoBind": {"selector": "pool-ips"}}})
    wait_for(
        lambda: settings(sim, "pool").get("fip_selector") == "pool-ips", 60, what="selector set"
    )
    obj = wait_idle(kube_api, ns, "nksnodegroups", "pool")
    last = obj["status"]["lastOperation"]
    assert (last["type"], last["state"]) == ("NODEGROUP_UPDATE_FIP_AUTO_BIND", "Succeeded")
    assert sim.writes()["set_fip_auto_bind"] == 1
    wait_confirmed(kube_api, ns, "nksnodegroups", "pool", "floatingIPAutoBind")

    # Drift: turned off in the console; turned on again.
    cluster_id = obj["status"]["clusterID"]
    nks_call(sim, lambda nks: nks.set_fip_auto_bind(cluster_id, "pool", enable=False))
    wait_for(lambda: settings(sim, "pool")["fip_auto_bind_enable"] == "False", 30, what="off")
    reread(kubectl, ns, "nksng", "pool", "drift")
    wait_for(lambda: settings(sim, "pool")["fip_auto_bind_enable"] == "True", 60, what="on again")
    assert settings(sim, "pool")["fip_selector"] == "pool-ips"
    wait_idle(kube_api, ns, "nksnodegroups", "pool")
    assert sim.writes()["set_fip_auto_bind"] == 3

    # Refused before any call: a subnet that is not the cluster's nor the group's.
    refused_before_any_call(
        kube_api,
        kubectl,
        sim,
        ns,
        "pool",
        {"floatingIPAutoBind": {"subnetID": OTHER_SUBNET}},
        "must be the cluster's subnet",
    )

    # Whether NKS lets the setting change after creation is contested: when it refuses, the
    # refusal is reported and not retried until the spec changes.
    fault = {"operation": "set_fip_auto_bind", "action": "error", "status": 400, "count": 1}
    sim.http.post("/_sim/faults", json=fault).raise_for_status()
    patch(
        kubectl,
        ns,
        "nksng",
        "pool",
        {"spec": {"floatingIPAutoBind": {"enabled": False, "subnetID": SUBNET}}},
    )
    obj = wait_condition(
        kube_api, "nksnodegroups", ns, "pool", "Synced", "False", "OperationRefused"
    )
    wait_polls(sim, 5)
    log = sim.http.get("/_sim/calls").json()["log"]
    # An injected fault answers before the tenant is known: its entry names none.
    sends = [
        int(e["status"])
        for e in log
        if e["operation"] == "set_fip_auto_bind" and e.get("tenant") in (sim.tenant, None)
    ]
    assert sends == [202, 202, 202, 400], sends
    refusals = [e for e in events(kube_api, ns, "pool") if e["reason"] == "OperationRefused"]
    assert len(refusals) == 1
    assert settings(sim, "pool")["fip_auto_bind_enable"] == "True"


def test_autoscaler_pod_replicas(ready_cluster: str, kubectl: Any, kube_api: Any, sim: Sim) -> None:
    ns = ready_cluster
    scaler = {"enabled": True, "minNodes": 1, "maxNodes": 4, "podReplicas": 2}
    apply(kubectl, ns, node_group(autoscaler=scaler))
    wait_condition(kube_api, "nksnodegroups", ns, "pool", "Ready", "True", timeout=60)
    assert settings(sim, "pool")["ca_pod_replicas"] == "2"
    wait_idle(kube_api, ns, "nksnodegroups", "pool")
    wait_polls(sim, 3)
    assert "set_autoscaler" not in sim.writes()  # the create carried it, NKS shows it

    # Out of the operator's bounds (NKS documents none): refused by the schema, no call.
    writes = sim.writes()
    refused = kubectl(
        "patch",
        "nksng",
        "pool",
        "-n",
        ns,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"autoscaler": {"podReplicas": 0}}}),
        check=False,
    )
    assert refused.returncode != 0 and "podReplicas" in refused.stderr
    wait_polls(sim, 2)
    assert sim.writes() == writes
