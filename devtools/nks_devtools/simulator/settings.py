"""The current edition's setting changes: a node group's Kubernetes node labels, metric
autoscaler and floating IP auto-bind (`PATCH .../nodegroups/{ng}` by `type`), and a
cluster's control-plane log shipping (`PATCH /v1/clusters/{id}` type `control_plane_log`).

Each is refused like the other changes (body, then state, then "operation in progress"),
records its task and lands when it completes; whether the group (the cluster, for logs)
shows `UPDATE_IN_PROGRESS` meanwhile is the `setting_change_status` knob.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nks_devtools.simulator import rules, setting_rules, supports
from nks_devtools.simulator.clusters import accepted, find_cluster, json_object
from nks_devtools.simulator.core import Reply, RequestContext, Simulator
from nks_devtools.simulator.errors import BadRequest
from nks_devtools.simulator.nodegroups import start_update
from nks_devtools.simulator.state import Cluster, NodeGroup
from nks_operator.nks.operations import Operation

Params = Mapping[str, str]


def _group_change(
    sim: Simulator,
    ctx: RequestContext,
    params: Params,
    body: Any,
    operation: Operation,
    fields: set[str],
) -> tuple[Cluster, NodeGroup, dict[str, Any]]:
    cluster = find_cluster(ctx, params)
    ng = cluster.find_worker(params["nodegroup"])
    body = json_object(body)
    rules.check_known_fields(body, {"type", *fields}, "nodegroup")
    return cluster, ng, body


def _start(
    sim: Simulator,
    ctx: RequestContext,
    cluster: Cluster,
    ng: NodeGroup,
    operation: Operation,
    effect: Callable[[NodeGroup, float], None],
) -> Reply:
    rules.ensure_operable(cluster, ng)
    answer = (202, {"uuid": ng.uuid})
    rules.ensure_idle(cluster, *answer)
    shows = sim.config.setting_change_status == "update_in_progress"
    start_update(sim, ctx, cluster, ng, operation, effect, shows_status=shows)
    return Reply(*answer)


def group_subnets(cluster: Cluster, ng: NodeGroup) -> list[str]:
    """Subnets a group's floating IPs may bind to: the cluster's and the group's extra ones."""
    extra = str(ng.labels.get("additional_subnet_id_list", "") or "")
    return [cluster.fixed_subnet, *(s for s in extra.split(":") if s)]


def set_node_labels(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    operation = Operation.SET_NODE_LABELS
    cluster, ng, body = _group_change(sim, ctx, params, body, operation, {"k8s_node_labels"})
    if "k8s_node_labels" not in body:
        raise BadRequest("Mandatory field missing: k8s_node_labels")
    labels = setting_rules.check_node_labels(body["k8s_node_labels"])

    def changed(group: NodeGroup, at: float) -> None:
        group.labels["k8s_node_labels"] = labels

    return _start(sim, ctx, cluster, ng, operation, changed)


def set_metric_autoscaler(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    operation = Operation.SET_METRIC_AUTOSCALER
    keys = set(setting_rules.MBA_KEYS)
    cluster, ng, body = _group_change(sim, ctx, params, body, operation, keys)
    if not keys & set(body):
        raise BadRequest("Give mba_scale_out, mba_scale_in or both.")
    policies = {
        key: setting_rules.check_mba_policy(
            body[key], key, ng.labels.get(key), sim.config.max_nodes_per_group
        )
        for key in setting_rules.MBA_KEYS
        if key in body
    }
    if any(p["enable"] for p in policies.values()) and ng.autoscaler_enabled:
        raise BadRequest(setting_rules.NOT_BOTH_AUTOSCALERS)
    if any(p["enable"] for p in policies.values()) and ng.stopped_nodes():
        raise BadRequest(f"Node group {ng.name} has stopped nodes; the autoscaler cannot start.")

    def changed(group: NodeGroup, at: float) -> None:
        group.labels.update(policies)

    return _start(sim, ctx, cluster, ng, operation, changed)


def set_fip_auto_bind(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    operation = Operation.SET_FIP_AUTO_BIND
    info_key = "fip_auto_bind_update_info"
    cluster, ng, body = _group_change(sim, ctx, params, body, operation, {info_key})
    info = body.get(info_key)
    if not isinstance(info, dict):
        raise BadRequest(f"Mandatory field missing: {info_key} (an object)")
    rules.check_known_fields(info, set(setting_rules.FIP_KEYS), info_key)
    if "fip_auto_bind_enable" not in info:
        raise BadRequest(f"Mandatory field missing: {info_key}.fip_auto_bind_enable")
    labels = setting_rules.check_fip(
        info["fip_auto_bind_enable"],
        info.get("fip_bind_subnet"),
        info.get("fip_selector"),
        group_subnets(cluster, ng),
        native=True,
    )

    def changed(group: NodeGroup, at: float) -> None:
        for key in setting_rules.FIP_KEYS:
            group.labels.pop(key, None)
        group.labels.update(labels)

    return _start(sim, ctx, cluster, ng, operation, changed)


def set_control_plane_log(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    body = json_object(body)
    rules.check_known_fields(body, {"type", "control_plane_log"}, "cluster")
    if "control_plane_log" not in body:
        raise BadRequest("Mandatory field missing: control_plane_log")
    settings = setting_rules.check_control_plane_log(body["control_plane_log"])
    rules.ensure_operable(cluster)
    rules.ensure_idle(cluster, *accepted(cluster))

    def changed(c: Cluster, at: float) -> None:
        c.labels["control_plane_log"] = settings

    operation = Operation.SET_CONTROL_PLANE_LOG
    sim.lifecycle.start(
        ctx.tenant,
        cluster,
        now=ctx.now,
        operation=operation,
        phase="UPDATE",
        event_type=supports.task_name(sim.config, operation),
        resource=None,
        sets_cluster_status=sim.config.setting_change_status == "update_in_progress",
        nodegroups=[],
        effect=changed,
        fail_reason=ctx.fail_reason,
    )
    return Reply(*accepted(cluster))
