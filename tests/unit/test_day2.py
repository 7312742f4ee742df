"""Day-2 planning: which NKS operation comes next, and what is refused before any call."""

from __future__ import annotations

import copy
import datetime
from typing import Any

from nks_operator.api.status import LastOperation
from nks_operator.reconcile import day2, operation_state
from tests.unit.specs import cluster_spec, nodegroup_spec

SUPPORTED = {"v1.27.3": True, "v1.28.3": True, "v1.29.3": True, "v1.30.3": True, "v1.31.4": True}

NODE_1 = "00000001-0000-4000-8000-000000000001"
NODE_2 = "00000002-0000-4000-8000-000000000002"
NEW_FLAVOR = "1d0d6983-8e9d-44dc-810e-d7689afa372c"
SGW_1 = "48f4ff38-d14b-4f34-a40c-705524e6a755"
SGW_2 = "23c550cb-6a5b-4eaa-903a-711c13316d91"


def group(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "default-worker",
        "status": "UPDATE_COMPLETE",
        "flavor_id": "6ef27f21-c774-4c0e-84ff-7dd4a762571f",
        "node_count": 2,
        "labels": {"kube_tag": "v1.29.3", "ca_enable": "False"},
    }
    base.update(changes)
    return base


def details(**labels: Any) -> dict[str, Any]:
    return {
        "uuid": "c1",
        "status": "CREATE_COMPLETE",
        "labels": {"kube_tag": "v1.29.3", "cni_driver": "calico", **labels},
    }


def plan(spec: Any = None, det: Any = None, groups: Any = None, **kwargs: Any) -> day2.Plan:
    return day2.plan_cluster(
        spec or cluster_spec(),
        det or details(),
        groups if groups is not None else {"default-worker": group()},
        SUPPORTED,
        now=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        **kwargs,
    )


def test_in_sync() -> None:
    assert plan().in_sync


def test_resize_default_worker() -> None:
    action = plan(cluster_spec(defaultWorker={"nodeCount": 4})).action
    assert action is not None and action.method == "resize_cluster"
    assert action.args == {"nodegroup": "default-worker", "node_count": 4}


def test_scale_in_honours_nodes_to_remove() -> None:
    spec = cluster_spec(defaultWorker={"nodeCount": 1, "nodesToRemove": [NODE_2]})
    action = plan(spec).action
    assert action is not None and action.args["nodes_to_remove"] == [NODE_2]


def test_autoscaler_on_means_no_resize() -> None:
    on = group(
        labels={
            "kube_tag": "v1.29.3",
            "ca_enable": "True",
            "ca_min_node_count": "1",
            "ca_max_node_count": "5",
            "ca_scale_down_enable": "True",
            "ca_scale_down_unneeded_time": "10",
            "ca_scale_down_util_thresh": "50",
            "ca_scale_down_delay_after_add": "10",
        },
        node_count=4,
    )
    spec = cluster_spec(
        defaultWorker={"nodeCount": 2, "autoscaler": {"enabled": True, "maxNodes": 5}}
    )
    assert plan(spec, groups={"default-worker": on}).in_sync  # never fights the autoscaler
    changed = cluster_spec(
        defaultWorker={"nodeCount": 2, "autoscaler": {"enabled": True, "maxNodes": 6}}
    )
    action = plan(changed, groups={"default-worker": on}).action
    assert action is not None and action.method == "set_autoscaler"
    assert action.args["config"]["ca_max_node_count"] == 6


def test_multi_minor_upgrade_steps_control_plane_first() -> None:
    spec = cluster_spec(kubernetesVersion="v1.31.4")
    old = details(kube_tag="v1.29.3")
    first = plan(spec, old).action
    assert first is not None and first.args == {"nodegroup": "default-master", "version": "v1.30.3"}
    # Control plane moved: the default worker follows before the control plane moves again.
    moved = details(kube_tag="v1.30.3")
    second = plan(spec, moved).action
    assert second is not None and second.target == "default-worker"
    assert second.args["version"] == "v1.30.3"
    # Another group still behind: the control plane waits for it.
    groups = {
        "default-worker": group(labels={"kube_tag": "v1.30.3"}),
        "pool": group(name="pool", labels={"kube_tag": "v1.29.3"}),
    }
    waiting = plan(spec, moved, groups)
    assert waiting.action is None and "pool" in (waiting.waiting or "")


def test_upgrade_refused_with_stopped_nodes() -> None:
    stopped = group(
        labels={"kube_tag": "v1.29.3"},
        nodes=[{"uuid": "n1", "status": "STOPPED"}, {"uuid": "n2", "status": "ACTIVE"}],
    )
    result = day2.plan_worker(
        "pool",
        nodegroup_spec(nodeCount=2),
        stopped,
        version_cap="v1.30.3",
        target_version="v1.30.3",
        supported=SUPPORTED,
    )
    assert result.action is None
    assert result.blocked[0].reason == "UpgradeBlocked"


def test_flannel_to_calico_before_126() -> None:
    spec = cluster_spec(
        kubernetesVersion="v1.26.3", network={"cni": "calico", "podsNetworkCIDR": "10.200.0.0/16"}
    )
    action = plan(
        spec,
        details(kube_tag="v1.25.4", cni_driver="flannel"),
        {"default-worker": group(labels={"kube_tag": "v1.25.4"})},
    ).action
    assert action is not None and action.method == "update_cni"
    assert action.args["pod_cidr"] == "10.200.0.0/16"
    blocked = plan(
        cluster_spec(kubernetesVersion="v1.26.3"),
        details(kube_tag="v1.25.4", cni_driver="flannel"),
        {"default-worker": group(labels={"kube_tag": "v1.25.4"})},
    )
    assert blocked.blocked and blocked.blocked[0].reason == "UpgradeBlocked"


def test_stop_and_start_nodes() -> None:
    nodes = [{"uuid": f"n{i}", "status": "ACTIVE"} for i in range(3)]
    g = group(name="pool", node_count=3, nodes=nodes)
    stop = day2.plan_worker(
        "pool",
        nodegroup_spec(nodeCount=3, stoppedNodes=[NODE_1]),
        g,
        version_cap=None,
        target_version=None,
        supported=SUPPORTED,
        desired_stopped=["n1"],
    )
    assert stop.action is not None and stop.action.args == {"nodegroup": "pool", "node_ids": ["n1"]}
    everything = day2.plan_worker(
        "pool",
        nodegroup_spec(nodeCount=3),
        g,
        version_cap=None,
        target_version=None,
        supported=SUPPORTED,
        desired_stopped=["n0", "n1", "n2"],
    )
    assert everything.blocked[0].reason == "StopNodesBlocked"
    g2 = copy.deepcopy(g)
    g2["nodes"][1]["status"] = "STOPPED"
    start = day2.plan_worker(
        "pool",
        nodegroup_spec(nodeCount=3),
        g2,
        version_cap=None,
        target_version=None,
        supported=SUPPORTED,
        desired_stopped=[],
    )
    assert start.action is not None and start.action.method == "start_nodes"
    auto = day2.plan_worker(
        "pool",
        nodegroup_spec(nodeCount=3, autoscaler={"enabled": True}),
        g,
        version_cap=None,
        target_version=None,
        supported=SUPPORTED,
        desired_stopped=["n1"],
    )
    assert any(b.reason == "StopNodesBlocked" for b in auto.blocked) or (
        auto.action is not None and auto.action.method == "set_autoscaler"
    )


def test_flavor_user_script_sgw_acl_certificate() -> None:
    flavor = plan(cluster_spec(defaultWorker={"flavorID": NEW_FLAVOR})).action
    assert flavor is not None and flavor.method == "change_flavor"
    assert flavor.args["num_buffer_nodes"] == 1
    script = plan(cluster_spec(defaultWorker={"userScript": "echo hi"})).action
    assert script is not None and script.method == "update_user_script"
    sgw = plan(cluster_spec(serviceGateways={"ncr": SGW_2}), details(ncr_sgw=SGW_1)).action
    assert sgw is not None and sgw.args == {"ncr_sgw": SGW_2}
    acl_spec = cluster_spec(
        apiEndpoint={
            "ipAccessControl": {
                "enabled": True,
                "targets": [{"cidr": "10.0.0.0/24", "description": "office"}],
            }
        }
    )
    acl = plan(acl_spec, ip_acl={"enable": "false"}).action
    assert acl is not None and acl.args["enable"] is True
    assert acl.args["targets"] == [{"cidr_address": "10.0.0.0/24", "description": "office"}]
    in_sync = {
        "enable": "true",
        "action": "ALLOW",
        "ipacl_targets": [{"cidr_address": "10.0.0.0/24", "description": "office"}],
    }
    assert plan(acl_spec, ip_acl=in_sync).in_sync
    due = plan(det=details(certificate_expiry="2026-01-20T00:00:00+00:00")).action
    assert due is not None and due.method == "renew_certificate"
    assert plan(det=details(certificate_expiry="2027-06-01T00:00:00+00:00")).in_sync
    manual = plan(renew_requested=True).action
    assert manual is not None and manual.args == {"term_of_validity": 5}


def test_nothing_while_nks_is_busy() -> None:
    busy = plan(
        cluster_spec(defaultWorker={"nodeCount": 4}),
        groups={"default-worker": group(status="UPDATE_IN_PROGRESS")},
    )
    assert busy.action is None and busy.waiting


def test_follow_confirms_by_task_history_or_drops() -> None:
    last = LastOperation(type="CLUSTER_RESIZE", state="Requested", since_task_id=10)
    tasks = [{"id": 9, "type": "CLUSTER_RESIZE", "state": "SUCCESS"}]
    assert (
        operation_state.follow(last, tasks, "UPDATE_COMPLETE", age_seconds=1, confirm_seconds=30)[0]
        == "waiting"
    )
    assert (
        operation_state.follow(last, tasks, "UPDATE_COMPLETE", age_seconds=31, confirm_seconds=30)[
            0
        ]
        == "dropped"
    )
    tasks.append({"id": 11, "type": "CLUSTER_RESIZE", "state": "IN_PROGRESS"})
    assert (
        operation_state.follow(
            last, tasks, "UPDATE_IN_PROGRESS", age_seconds=1, confirm_seconds=30
        )[0]
        == "in_progress"
    )
    tasks[-1]["state"] = "FAIL"
    assert (
        operation_state.follow(last, tasks, "UPDATE_FAILED", age_seconds=1, confirm_seconds=30)[0]
        == "failed"
    )
