"""Day-2 planning: which NKS operation comes next, and what is refused before any call."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from nks_operator.api.operations import OperationType
from nks_operator.api.status import LastOperation
from nks_operator.nks import NKSClient
from nks_operator.nks.models import IPACL, Cluster, NodeGroup, TaskEvent
from nks_operator.nks.userscript import encode_user_script
from nks_operator.reconcile import day2, operation_state
from nks_operator.reconcile.day2 import Action, Blocked, Plan, Waiting, first_action
from nks_operator.reconcile.nodes import NodeState
from nks_operator.reconcile.reasons import Reason
from tests.unit.specs import cluster_spec, nodegroup_spec

SUPPORTED = {"v1.27.3": True, "v1.28.3": True, "v1.29.3": True, "v1.30.3": True, "v1.31.4": True}
FLAVOR = "6ef27f21-c774-4c0e-84ff-7dd4a762571f"
NODE_2 = "0f2b7a1e-5d3c-4b8a-9e6f-2a1c3d4e5f60"


def group(**changes: Any) -> NodeGroup:
    base: dict[str, Any] = {
        "uuid": "w",
        "name": "default-worker",
        "status": "UPDATE_COMPLETE",
        "flavor_id": FLAVOR,
        "node_count": 2,
        "labels": {"kube_tag": "v1.29.3", "ca_enable": "False"},
    }
    base.update(changes)
    return NodeGroup.model_validate(base)


def details(**labels: Any) -> Cluster:
    return Cluster.model_validate(
        {
            "uuid": "c1",
            "status": "CREATE_COMPLETE",
            "labels": {"kube_tag": "v1.29.3", "cni_driver": "calico", **labels},
        }
    )


def plan(spec: Any = None, det: Any = None, groups: Any = None, **kwargs: Any) -> day2.Plan:
    return day2.plan_cluster(
        spec or cluster_spec(),
        det or details(),
        groups if groups is not None else {"default-worker": group()},
        SUPPORTED,
        now=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        **kwargs,
    )


def worker_plan(spec: Any, g: NodeGroup, **kwargs: Any) -> day2.Plan:
    return day2.plan_worker(
        "pool", spec, g, version_cap=None, target_version=None, supported=SUPPORTED, **kwargs
    )


def test_in_sync() -> None:
    assert plan().state == "in_sync"


def test_resize_default_worker() -> None:
    action = plan(cluster_spec(defaultWorker={"nodeCount": 4})).action
    assert action is not None and action.request is NKSClient.resize_cluster
    assert action.args == {"nodegroup": "default-worker", "node_count": 4}
    assert action.operation == "CLUSTER_RESIZE" and action.confirmation == "task"


def test_scale_in_honours_nodes_to_remove() -> None:
    spec = cluster_spec(defaultWorker={"nodeCount": 1, "nodesToRemove": [NODE_2]})
    action = plan(spec).action
    assert action is not None and action.args["nodes_to_remove"] == [NODE_2]


def test_unknown_node_count_never_resizes() -> None:
    odd = group(node_count="many")  # unreadable: unknown, not zero
    assert (
        plan(cluster_spec(defaultWorker={"nodeCount": 4}), groups={"default-worker": odd}).action
        is None
    )


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
    assert plan(spec, groups={"default-worker": on}).state == "in_sync"  # never fights it
    changed = cluster_spec(
        defaultWorker={"nodeCount": 2, "autoscaler": {"enabled": True, "maxNodes": 6}}
    )
    action = plan(changed, groups={"default-worker": on}).action
    assert action is not None and action.operation == "NODEGROUP_SET_CLUSTER_AUTOSCALER"
    assert action.args["config"]["ca_max_node_count"] == 6


def test_multi_minor_upgrade_steps_control_plane_first() -> None:
    spec = cluster_spec(kubernetesVersion="v1.31.4")
    first = plan(spec, details(kube_tag="v1.29.3")).action
    assert first is not None and first.args == {"nodegroup": "default-master", "version": "v1.30.3"}
    assert first.is_upgrade
    # Control plane moved: the default worker follows before the control plane moves again.
    moved = details(kube_tag="v1.30.3")
    second = plan(spec, moved).action
    assert second is not None and second.target == "default-worker"
    assert second.args["version"] == "v1.30.3"
    # Another group still behind: the control plane waits for it - a plan state, not sync.
    groups = {
        "default-worker": group(labels={"kube_tag": "v1.30.3"}),
        "pool": group(uuid="p", name="pool", labels={"kube_tag": "v1.29.3"}),
    }
    waiting = plan(spec, moved, groups)
    assert waiting.state == "waiting"
    assert waiting.waiting is not None and "pool" in waiting.waiting.message
    assert not waiting.waiting.nks_busy


def test_the_control_plane_never_counts_as_a_worker() -> None:
    master = group(uuid="m", name="default-master", role="master", labels={"kube_tag": "v1.20.0"})
    groups = {"default-worker": group(), "default-master": master}
    assert plan(det=details(), groups=groups).state == "in_sync"


def test_upgrade_refused_with_stopped_nodes() -> None:
    nodes = [NodeState("n1", "a", "10.0.0.1", True), NodeState("n2", "b", "10.0.0.2", False)]
    result = day2.plan_worker(
        "pool",
        nodegroup_spec(nodeCount=2),
        group(labels={"kube_tag": "v1.29.3"}),
        version_cap="v1.30.3",
        target_version="v1.30.3",
        supported=SUPPORTED,
        nodes=nodes,
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
    assert action is not None and action.operation == "CLUSTER_CNI_UPDATE"
    assert action.args["pod_cidr"] == "10.200.0.0/16"
    # Never into the pod network in use (G:648), and never a guessed one.
    for network in ({"cni": "calico"}, {"cni": "calico", "podsNetworkCIDR": "10.100.0.0/16"}):
        refused = plan(
            cluster_spec(kubernetesVersion="v1.26.3", network=network),
            details(kube_tag="v1.25.4", cni_driver="flannel", pods_network_cidr="10.100.0.0/16"),
            {"default-worker": group(labels={"kube_tag": "v1.25.4"})},
        )
        assert refused.action is None, network
        assert refused.blocked[0].reason == "CNIChangeBlocked"
        assert "10.100.0.0/16" in refused.blocked[0].message
    blocked = plan(
        cluster_spec(kubernetesVersion="v1.26.3"),
        details(kube_tag="v1.25.4", cni_driver="flannel"),
        {"default-worker": group(labels={"kube_tag": "v1.25.4"})},
    )
    assert blocked.state == "blocked" and blocked.blocked[0].reason == "UpgradeBlocked"


def test_stop_and_start_nodes() -> None:
    nodes = [NodeState(f"n{i}", f"node-{i}", f"10.0.0.{i}", False) for i in range(3)]
    g = group(name="pool", node_count=3)
    stop = worker_plan(nodegroup_spec(nodeCount=3), g, desired_stopped=["n1"], nodes=nodes)
    assert stop.action is not None and stop.action.args == {"nodegroup": "pool", "node_ids": ["n1"]}
    everything = worker_plan(
        nodegroup_spec(nodeCount=3), g, desired_stopped=["n0", "n1", "n2"], nodes=nodes
    )
    assert everything.blocked[0].reason == "StopNodesBlocked"
    stopped = [NodeState(n.id, n.name, n.address, n.id == "n1") for n in nodes]
    start = worker_plan(nodegroup_spec(nodeCount=3), g, desired_stopped=[], nodes=stopped)
    assert start.action is not None and start.action.operation == "NODEGROUP_NODE_ACTION_NODE_START"
    unknown = worker_plan(nodegroup_spec(nodeCount=3), g, desired_stopped=["zz"], nodes=nodes)
    assert unknown.blocked[0].reason == "UnknownNodes"


def test_node_states_that_cannot_be_read_are_reported_not_guessed() -> None:
    g = group(name="pool", node_count=3)
    result = worker_plan(nodegroup_spec(nodeCount=3), g, desired_stopped=["n1"], nodes=None)
    assert result.action is None
    assert result.blocked[0].reason == "NodeStateUnknown"
    # Without stopped nodes wanted or remembered, nothing needs the node states.
    assert worker_plan(nodegroup_spec(nodeCount=3), g, desired_stopped=[], nodes=None).state == (
        "in_sync"
    )


def test_flavor_user_script_acl_certificate() -> None:
    flavor = plan(cluster_spec(defaultWorker={"flavorID": "1ef27f21-c774-4c0e-84ff-7dd4a762571f"}))
    assert flavor.action is not None and flavor.action.operation == "NODEGROUP_UPDATE_FLAVOR"
    assert flavor.action.args["num_buffer_nodes"] == 1
    script = plan(cluster_spec(defaultWorker={"userScript": "echo hi"})).action
    assert script is not None and script.operation == "NODEGROUP_USERSCRIPT_UPDATE"
    acl_spec = cluster_spec(
        apiEndpoint={
            "ipAccessControl": {
                "enabled": True,
                "targets": [{"cidr": "10.0.0.0/24", "description": "office"}],
            }
        }
    )
    acl = plan(acl_spec, ip_acl=IPACL.model_validate({"enable": "false"})).action
    assert acl is not None and acl.args["enable"] is True and acl.confirmation == "state"
    assert acl.args["targets"] == [{"cidr_address": "10.0.0.0/24", "description": "office"}]
    in_sync = IPACL.model_validate(
        {
            "enable": "true",
            "action": "ALLOW",
            "ipacl_targets": [{"cidr_address": "10.0.0.0/24", "description": "office"}],
        }
    )
    assert plan(acl_spec, ip_acl=in_sync).state == "in_sync"
    due = plan(det=details(certificate_expiry="2026-01-20T00:00:00+00:00")).action
    assert due is not None and due.operation == "RENEW_CERTIFICATE"
    assert due.confirmation == "state"
    assert plan(det=details(certificate_expiry="2027-06-01T00:00:00+00:00")).state == "in_sync"
    manual = plan(renew_requested=True).action
    assert manual is not None and manual.args == {"term_of_validity": 5}


SGW_NCR = "48f4ff38-d14b-4f34-a40c-705524e6a755"
SGW_OBS = "23c550cb-6a5b-4eaa-903a-711c13316d91"
SGW_NEW = "33c550cb-6a5b-4eaa-903a-711c13316d91"


def test_service_gateway_change_sends_both_gateways() -> None:
    spec = cluster_spec(serviceGateways={"ncr": SGW_NEW})
    action = plan(spec, details(ncr_sgw=SGW_NCR, obs_sgw=SGW_OBS)).action
    assert action is not None and action.operation == "UPDATE_SERVICE_GATEWAY"
    assert action.args == {"ncr_sgw": SGW_NEW, "obs_sgw": SGW_OBS}  # the current OBS one kept
    assert action.confirmation == "state"
    # NKS reports no OBS gateway: the call cannot carry both, so nothing is sent.
    lone = plan(spec, details(ncr_sgw=SGW_NCR))
    assert lone.action is None and "obs" in lone.blocked[0].message
    # Applied: in sync.
    assert plan(spec, details(ncr_sgw=SGW_NEW, obs_sgw=SGW_OBS)).state == "in_sync"


def test_a_user_script_is_sent_once_per_spec_change() -> None:
    spec = cluster_spec(defaultWorker={"userScript": "echo hi"})
    other = group(labels={"kube_tag": "v1.29.3", "user_script_v2": encode_user_script("echo")})
    groups = {"default-worker": other}
    first = plan(spec, groups=groups, generation=3, user_script_sent_for=2)
    assert first.action is not None and first.action.operation == "NODEGROUP_USERSCRIPT_UPDATE"
    # Sent for this generation, and NKS still reports another script: said, not resent.
    again = plan(spec, groups=groups, generation=3, user_script_sent_for=3)
    assert again.action is None and again.blocked[0].reason == "UserScriptNotApplied"
    # Applied, in either form NKS may answer with.
    for held in ("echo hi", encode_user_script("echo hi")):
        same = group(labels={"kube_tag": "v1.29.3", "user_script_v2": held})
        assert plan(spec, groups={"default-worker": same}).state == "in_sync"
    # An answer without the label cannot tell: sent once, then trusted.
    unknown = {"default-worker": group()}
    assert plan(spec, groups=unknown, generation=3).action is not None
    assert plan(spec, groups=unknown, generation=3, user_script_sent_for=3).state == "in_sync"


def test_nothing_while_nks_is_busy() -> None:
    busy = plan(
        cluster_spec(defaultWorker={"nodeCount": 4}),
        groups={"default-worker": group(status="UPDATE_IN_PROGRESS")},
    )
    assert busy.action is None and busy.waiting is not None and busy.waiting.nks_busy


def task(id_: int, state: str, type_: str = "CLUSTER_RESIZE") -> TaskEvent:
    return TaskEvent.model_validate({"uuid": f"t{id_}", "id": id_, "type": type_, "state": state})


def follow(last: LastOperation, tasks: list[TaskEvent], status: str, **kwargs: Any) -> str:
    settings: dict[str, Any] = {
        "confirmation": "task",
        "still_wanted": True,
        "age_seconds": 1,
        "confirm_seconds": 30,
        "deadline_seconds": 3600,
        **kwargs,
    }
    return operation_state.follow(last, tasks, status, **settings).verdict


def test_follow_confirms_by_task_history_or_drops() -> None:
    last = LastOperation(type="CLUSTER_RESIZE", state="Requested", since_task_id=10)
    tasks = [task(9, "SUCCESS")]
    assert follow(last, tasks, "UPDATE_COMPLETE") == "waiting"
    assert follow(last, tasks, "UPDATE_COMPLETE", age_seconds=31) == "dropped"
    # Not from a view read before the confirmation time (reads failed since).
    late = follow(last, tasks, "UPDATE_COMPLETE", age_seconds=31, read_after_seconds=20)
    assert late == "waiting"
    tasks.append(task(11, "IN_PROGRESS"))
    assert follow(last, tasks, "UPDATE_IN_PROGRESS") == "in_progress"
    tasks[-1] = task(11, "FAIL")
    assert follow(last, tasks, "UPDATE_FAILED") == "failed"


def test_a_rollback_is_a_failure() -> None:
    last = LastOperation(type="CLUSTER_RESIZE", state="InProgress", since_task_id=10)
    assert follow(last, [task(11, "SUCCESS")], "ROLLBACK_COMPLETE") == "failed"
    assert follow(last, [], "ROLLBACK_COMPLETE") == "failed"
    assert follow(last, [], "ROLLBACK_FAILED") == "failed"
    assert follow(last, [], "UPDATE_COMPLETE") == "succeeded"


def test_state_confirmed_operations_need_no_task() -> None:
    last = LastOperation(type="SET_IP_ACL", state="Requested", since_task_id=10)
    kwargs: dict[str, Any] = {"confirmation": "state"}
    assert follow(last, [], "UPDATE_COMPLETE", still_wanted=True, **kwargs) == "waiting"
    assert follow(last, [], "UPDATE_COMPLETE", still_wanted=False, **kwargs) == "succeeded"
    # Unconfirmed whether NKS moves the cluster's status meanwhile: both are followed.
    assert follow(last, [], "UPDATE_IN_PROGRESS", still_wanted=True, **kwargs) == "in_progress"
    assert (
        follow(last, [], "UPDATE_COMPLETE", still_wanted=True, age_seconds=31, **kwargs)
        == "dropped"
    )


@pytest.mark.parametrize(
    ("sent", "recorded"),
    [
        # The copy's names for node start/stop, the current edition's (issue 18 item 2).
        ("NODEGROUP_NODE_ACTION_NODE_STOP", "NODEGROUP_NODE_ACTION_STOP_NODE"),
        ("NODEGROUP_NODE_ACTION_NODE_START", "NODEGROUP_NODE_ACTION_START_NODE"),
        ("NODEGROUP_NODE_ACTION_NODE_STOP", "NODEGROUP_NODE_ACTION_NODE_STOP"),
        # A resize may be recorded as the current edition's scale-out / scale-in.
        ("CLUSTER_RESIZE", "NODEGROUP_SCALE_OUT"),
        ("CLUSTER_RESIZE", "NODEGROUP_SCALE_IN"),
        # Changes the copy lists no task for, named after the API operation.
        ("SET_IP_ACL", "CLUSTER_API_EP_IPACL_UPDATE"),
        ("UPDATE_SERVICE_GATEWAY", "CLUSTER_UPDATE_SGW"),
        ("RENEW_CERTIFICATE", "CLUSTER_ROTATE_CERTIFICATE"),
    ],
)
def test_a_task_of_either_editions_name_confirms_the_operation(sent: str, recorded: str) -> None:
    last = LastOperation(type=sent, state="Requested", since_task_id=10)
    found = operation_state.matching_task(last, [task(11, "IN_PROGRESS", recorded)])
    assert found is not None and found.type == recorded
    assert follow(last, [task(11, "IN_PROGRESS", recorded)], "UPDATE_IN_PROGRESS") == "in_progress"


def test_a_task_of_another_kind_confirms_nothing() -> None:
    last = LastOperation(
        type="NODEGROUP_NODE_ACTION_NODE_STOP", state="Requested", since_task_id=10
    )
    others = [task(11, "SUCCESS", "NODEGROUP_NODE_ACTION_START_NODE"), task(12, "SUCCESS")]
    assert operation_state.matching_task(last, others) is None


def test_deadline_marks_timed_out_but_keeps_following() -> None:
    last = LastOperation(type="CLUSTER_RESIZE", state="InProgress", since_task_id=10)
    found = operation_state.follow(
        last,
        [task(11, "IN_PROGRESS")],
        "UPDATE_IN_PROGRESS",
        confirmation="task",
        still_wanted=True,
        age_seconds=4000,
        confirm_seconds=30,
        deadline_seconds=3600,
    )
    assert found.verdict == "in_progress" and found.timed_out


def test_every_planned_action_matches_its_client_method() -> None:
    """An action carries the client method it runs: its arguments must fit that method."""
    import inspect

    nodes = [NodeState(f"n{i}", f"node-{i}", f"10.0.0.{i}", i == 2) for i in range(3)]
    actions = [
        plan(cluster_spec(defaultWorker={"nodeCount": 4})).action,
        plan(cluster_spec(defaultWorker={"nodeCount": 1, "nodesToRemove": [NODE_2]})).action,
        plan(cluster_spec(defaultWorker={"autoscaler": {"enabled": True}})).action,
        plan(cluster_spec(kubernetesVersion="v1.30.3")).action,
        plan(cluster_spec(defaultWorker={"flavorID": FLAVOR.replace("6", "7")})).action,
        plan(cluster_spec(defaultWorker={"userScript": "echo hi"})).action,
        plan(renew_requested=True).action,
        plan(
            cluster_spec(serviceGateways={"ncr": SGW_NEW}),
            details(ncr_sgw=SGW_NCR, obs_sgw=SGW_OBS),
        ).action,
        plan(
            cluster_spec(apiEndpoint={"ipAccessControl": {"enabled": False}}),
            ip_acl=IPACL.model_validate({"enable": "true", "action": "ALLOW"}),
        ).action,
        plan(
            cluster_spec(network={"cni": "calico", "podsNetworkCIDR": "10.200.0.0/16"}),
            details(cni_driver="flannel"),
        ).action,
        worker_plan(
            nodegroup_spec(nodeCount=3),
            group(name="pool", node_count=3),
            desired_stopped=["n1", "n2"],
            nodes=nodes,
        ).action,
        worker_plan(
            nodegroup_spec(nodeCount=3),
            group(name="pool", node_count=3),
            desired_stopped=[],
            nodes=nodes,
        ).action,
    ]
    assert all(action is not None for action in actions)
    operations = set()
    for action in actions:
        assert action is not None
        inspect.signature(action.request).bind(object(), "cluster-id", **action.args)
        operations.add(action.operation)
    assert len(operations) == len(actions) - 1  # both resizes are CLUSTER_RESIZE


def test_first_action_keeps_what_the_steps_before_it_report() -> None:
    blocked = Blocked(Reason.UPGRADE_BLOCKED, "stopped nodes")
    waiting = Waiting("the control plane waits")
    action = Action(OperationType.CLUSTER_RESIZE, NKSClient.resize_cluster, {}, "resize")
    never = Action(OperationType.SET_IP_ACL, NKSClient.set_ip_acl, {}, "never looked at")
    looked: list[str] = []

    def step(name: str, plan: Plan) -> Callable[[], Plan]:
        def run() -> Plan:
            looked.append(name)
            return plan

        return run

    plan = first_action(
        (
            step("a", Plan(blocked=[blocked])),
            step("b", Plan(waiting=waiting)),
            step("c", Plan(action)),
            step("d", Plan(never)),
        )
    )
    assert (plan.action, plan.blocked, plan.waiting) == (action, [blocked], waiting)
    assert looked == ["a", "b", "c"]
    assert first_action(()).state == "in_sync"


def test_another_node_groups_operation_holds_changes_but_not_a_cluster_in_sync() -> None:
    """An NKSNodeGroup being created does not make its NKSCluster wait when the cluster
    has nothing to do; a change of the cluster's own waits for the operation to end."""
    other = group(uuid="p", name="pool", status="CREATE_IN_PROGRESS")
    groups = {"default-worker": group(), "pool": other}
    assert plan(groups=groups).state == "in_sync"
    held = plan(cluster_spec(defaultWorker={"nodeCount": 4}), groups=groups)
    assert held.action is None and held.waiting == day2.NKS_BUSY
    # Once it ended, the change goes out.
    done = {"default-worker": group(), "pool": group(uuid="p", name="pool")}
    assert plan(cluster_spec(defaultWorker={"nodeCount": 4}), groups=done).action is not None


def test_a_blocked_change_is_only_held_while_another_group_is_busy() -> None:
    busy = day2.hold_while_busy(Plan(blocked=[Blocked(Reason.UPGRADE_BLOCKED, "x")]), True)
    assert busy.state == "waiting" and busy.waiting == day2.NKS_BUSY
    idle = day2.hold_while_busy(Plan(blocked=[Blocked(Reason.UPGRADE_BLOCKED, "x")]), False)
    assert idle.state == "blocked"
