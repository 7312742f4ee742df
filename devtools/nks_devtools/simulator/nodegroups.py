"""Node group operations of the guide: list, get, create, delete, stop/start nodes,
autoscaler get/set, upgrade, user script and flavor change.

`default-master` (the control plane) is reachable only as the target of an upgrade;
`default-worker` cannot be deleted; everything else follows the worker group rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nks_devtools.simulator import cidr, labels, nodes, rules, setting_rules, supports, views
from nks_devtools.simulator.clusters import (
    apply_autoscaler_bounds,
    cluster_networks,
    find_cluster,
    json_object,
    new_nodegroup,
)
from nks_devtools.simulator.core import Reply, RequestContext, Simulator
from nks_devtools.simulator.errors import BadRequest, Conflict
from nks_devtools.simulator.state import (
    DEFAULT_WORKER,
    NODE_ACTIVE,
    NODE_STOPPED,
    Cluster,
    Node,
    NodeGroup,
)
from nks_operator.nks.operations import Operation

Params = Mapping[str, str]
CREATE_FIELDS = {"name", "node_count", "flavor_id", "image_id", "labels"}


def _configured(sim: Simulator, subnet_ids: list[str]) -> list[tuple[str, str]]:
    """(id, CIDR) of the subnets whose CIDR is configured (the simulator has no VPC API)."""
    return [(s, sim.config.subnets[s]) for s in subnet_ids if s in sim.config.subnets]


def _accepted(ng: NodeGroup) -> tuple[int, dict[str, str]]:
    return 202, {"uuid": ng.uuid}


def start_update(
    sim: Simulator,
    ctx: RequestContext,
    cluster: Cluster,
    ng: NodeGroup,
    operation: Operation,
    effect: Callable[[NodeGroup, float], None],
    *,
    shows_status: bool = True,
) -> None:
    """A node group update recording `operation`'s task; an upgrade of default-master also
    updates the cluster status. `shows_status` False: the group's status stays (a knob for
    the current edition's settings, whose status NKS does not document)."""
    ng_uuid = ng.uuid

    def apply(c: Cluster, at: float) -> None:
        group = c.nodegroup_by_uuid(ng_uuid)
        if group is not None:
            effect(group, at)

    sim.lifecycle.start(
        ctx.tenant,
        cluster,
        now=ctx.now,
        operation=operation,
        phase="UPDATE",
        event_type=supports.task_name(sim.config, operation),
        resource=ng,
        sets_cluster_status=ng.is_master,
        nodegroups=[ng] if shows_status else [],
        effect=apply,
        fail_reason=ctx.fail_reason,
    )


# --- reads -----------------------------------------------------------------------------


def list_nodegroups(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    """Every worker group, and `default-master` only with the `list_default_master` knob
    (contested); a GET on the control plane group answers 403 either way."""
    cluster = find_cluster(ctx, params)
    listed = cluster.nodegroups if sim.config.list_default_master else cluster.workers
    groups = [views.nodegroup_summary(ng) for ng in listed]
    return Reply(200, {"nodegroups": groups})


def get_nodegroup(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    ng = cluster.find_worker(params["nodegroup"])
    return Reply(200, views.nodegroup_detail(cluster, ng, ctx.base_url, sim.config))


def get_autoscaler(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    return Reply(200, views.autoscaler(cluster.find_worker(params["nodegroup"])))


# --- create and delete -----------------------------------------------------------------


def create_nodegroup(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    body = json_object(body)
    max_nodes = sim.config.max_nodes_per_group
    rules.check_known_fields(body, CREATE_FIELDS, "nodegroup")
    name = rules.check_name(body.get("name"), "node group")
    flavor_id = rules.require_uuid(body, "flavor_id")
    image_id = rules.require_uuid(body, "image_id")
    # 0 nodes: NHN's provider creates such groups (docs/nks-api-notes.md, "Node groups and
    # node counts").
    count = rules.as_int(body.get("node_count", 1), "node_count", 0, max_nodes)
    if "labels" not in body:
        raise BadRequest("Mandatory field missing: labels")
    given = rules.check_label_types(body["labels"])
    rules.require_labels(given, labels.NODEGROUP_REQUIRED)
    worker = rules.check_worker_labels(given, max_nodes)
    extra_subnets = [s for s in str(given.get("additional_subnet_id_list", "")).split(":") if s]
    worker.update(
        setting_rules.check_create_settings(
            given, [cluster.fixed_subnet, *extra_subnets], max_nodes, cluster=False
        )
    )
    cidr.check_node_subnets(
        cluster_networks(cluster), _configured(sim, extra_subnets), "additional_subnet_id_list"
    )
    if any(ng.name == name for ng in cluster.nodegroups):
        raise Conflict(f"A node group with name {name} already exists in the cluster.")
    rules.ensure_operable(cluster)
    group_labels = {
        **labels.group_defaults(sim.config),
        **{k: v for k, v in worker.items() if k in labels.WORKER_KEYS},
        "node_image": image_id,
        "kube_tag": cluster.kube_tag,
    }
    ng = new_nodegroup(
        sim,
        cluster,
        ctx.now,
        name=name,
        role="worker",
        flavor_id=flavor_id,
        image_id=image_id,
        node_count=count,
        group_labels=group_labels,
    )
    created = views.nodegroup_created(cluster, ng, ctx.base_url, sim.config)
    rules.ensure_idle(cluster, 202, created)
    cluster.nodegroups.append(ng)
    ng_uuid = ng.uuid

    def provisioned(c: Cluster, at: float) -> None:
        group = c.nodegroup_by_uuid(ng_uuid)
        if group is not None:
            nodes.add_nodes(c, group, group.node_count, at, sim.new_uuid)

    sim.lifecycle.start(
        ctx.tenant,
        cluster,
        now=ctx.now,
        operation=Operation.CREATE_NODEGROUP,
        phase="CREATE",
        event_type=supports.task_name(sim.config, Operation.CREATE_NODEGROUP),
        resource=ng,
        sets_cluster_status=False,
        nodegroups=[ng],
        effect=provisioned,
        fail_reason=ctx.fail_reason,
    )
    return Reply(202, created)


def delete_nodegroup(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    ng = cluster.find_worker(params["nodegroup"])
    if ng.name == DEFAULT_WORKER:
        raise BadRequest(f"The {DEFAULT_WORKER} node group cannot be deleted.")
    rules.ensure_idle(cluster, 204, None)
    sim.lifecycle.start(
        ctx.tenant,
        cluster,
        now=ctx.now,
        operation=Operation.DELETE_NODEGROUP,
        phase="DELETE",
        event_type=supports.task_name(sim.config, Operation.DELETE_NODEGROUP),
        resource=ng,
        sets_cluster_status=False,
        nodegroups=[ng],
        fail_reason=ctx.fail_reason,
        removes="nodegroup",
    )
    return Reply(204)


# --- node actions ----------------------------------------------------------------------


def _node_list(body: dict[str, Any], ng: NodeGroup) -> list[Node]:
    """The nodes named by `node_list` (instance UUIDs joined with colons)."""
    rules.check_known_fields(body, {"node_list"}, "node_list")
    uuids = list(dict.fromkeys(u for u in rules.require_str(body, "node_list").split(":") if u))
    found = {u: node for u in uuids if (node := ng.node(u)) is not None}
    unknown = [u for u in uuids if u not in found]
    if unknown:
        raise BadRequest(f"Nodes {', '.join(unknown)} are not in node group {ng.name}.")
    return list(found.values())


def _set_node_status(targets: list[Node], status: str) -> Callable[[NodeGroup, float], None]:
    uuids = [n.uuid for n in targets]

    def apply(ng: NodeGroup, at: float) -> None:
        for uuid in uuids:
            if (node := ng.node(uuid)) is not None:
                node.status, node.updated_at = status, at

    return apply


def stop_nodes(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    ng = cluster.find_worker(params["nodegroup"])
    targets = _node_list(json_object(body), ng)
    rules.ensure_operable(cluster, ng)
    if ng.any_autoscaler_enabled:
        raise BadRequest(f"Node group {ng.name} has the autoscaler enabled; nodes cannot stop.")
    stopped = [n.uuid for n in targets if n.stopped]
    if stopped:
        raise BadRequest(f"Nodes {', '.join(stopped)} are already stopped.")
    if not [n for n in ng.nodes if not n.stopped and n not in targets]:
        raise BadRequest(f"Not all nodes of node group {ng.name} may be stopped.")
    rules.ensure_idle(cluster, *_accepted(ng))
    start_update(
        sim,
        ctx,
        cluster,
        ng,
        Operation.STOP_NODES,
        _set_node_status(targets, NODE_STOPPED),
    )
    return Reply(*_accepted(ng))


def start_nodes(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    ng = cluster.find_worker(params["nodegroup"])
    targets = _node_list(json_object(body), ng)
    rules.ensure_operable(cluster, ng)
    running = [n.uuid for n in targets if not n.stopped]
    if running:
        raise BadRequest(f"Nodes {', '.join(running)} are not stopped.")
    rules.ensure_idle(cluster, *_accepted(ng))
    start_update(
        sim,
        ctx,
        cluster,
        ng,
        Operation.START_NODES,
        _set_node_status(targets, NODE_ACTIVE),
    )
    return Reply(*_accepted(ng))


# --- settings --------------------------------------------------------------------------


def set_autoscaler(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    ng = cluster.find_worker(params["nodegroup"])
    body = json_object(body)
    rules.check_known_fields(body, set(rules.AUTOSCALER_KEYS), "autoscale")
    settings = rules.check_autoscaler(body, ng.labels, sim.config.max_nodes_per_group, True)
    rules.ensure_operable(cluster, ng)
    if settings["ca_enable"] == "True" and ng.stopped_nodes():
        raise BadRequest(f"Node group {ng.name} has stopped nodes; the autoscaler cannot start.")
    if settings["ca_enable"] == "True" and ng.metric_autoscaler_enabled:
        raise BadRequest(setting_rules.NOT_BOTH_AUTOSCALERS)
    rules.ensure_idle(cluster, *_accepted(ng))

    def configured(group: NodeGroup, at: float) -> None:
        group.labels.update(settings)
        apply_autoscaler_bounds(group)

    start_update(
        sim,
        ctx,
        cluster,
        ng,
        Operation.SET_AUTOSCALER,
        configured,
    )
    return Reply(*_accepted(ng))


def upgrade_nodegroup(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    ng = cluster.find_nodegroup(params["nodegroup"])  # default-master is allowed here
    body = json_object(body)
    allowed = {"version", "num_buffer_nodes", "num_max_unavailable_nodes"}
    rules.check_known_fields(body, allowed, "upgrade")
    if "version" not in body:
        raise BadRequest("Mandatory field missing: version")
    if not ng.is_master:
        rules.check_rollout(body, ng, sim.config.max_nodes_per_group)
    rules.ensure_operable(cluster, ng)
    version = rules.check_upgrade(cluster, ng, body["version"], sim.config.supported_k8s)
    rules.ensure_idle(cluster, *_accepted(ng))

    def upgraded(group: NodeGroup, at: float) -> None:
        group.labels["kube_tag"] = version

    start_update(sim, ctx, cluster, ng, Operation.UPGRADE_NODEGROUP, upgraded)
    return Reply(*_accepted(ng))


def update_user_script(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    ng = cluster.find_worker(params["nodegroup"])
    body = json_object(body)
    rules.check_known_fields(body, {"contents"}, "userscript")
    contents = body.get("contents")
    if not isinstance(contents, str):
        raise BadRequest("Mandatory field missing: contents (a string)")
    rules.ensure_operable(cluster, ng)
    rules.ensure_idle(cluster, *_accepted(ng))

    def changed(group: NodeGroup, at: float) -> None:
        group.labels["user_script_v2"] = contents

    start_update(sim, ctx, cluster, ng, Operation.UPDATE_USER_SCRIPT, changed)
    return Reply(*_accepted(ng))


def change_flavor(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    ng = cluster.find_worker(params["nodegroup"])
    body = json_object(body)
    allowed = {"type", "flavor_id", "num_buffer_nodes", "num_max_unavailable_nodes"}
    rules.check_known_fields(body, allowed, "nodegroup")
    if body.get("type") != "flavor_id":
        raise BadRequest('type must be "flavor_id".')
    flavor_id = rules.require_uuid(body, "flavor_id")
    if flavor_id == ng.flavor_id:
        raise BadRequest(f"Node group {ng.name} already uses flavor {flavor_id}.")
    rules.check_rollout(body, ng, sim.config.max_nodes_per_group)
    rules.ensure_operable(cluster, ng)
    rules.ensure_idle(cluster, *_accepted(ng))

    def changed(group: NodeGroup, at: float) -> None:
        group.flavor_id = flavor_id

    start_update(sim, ctx, cluster, ng, Operation.CHANGE_FLAVOR, changed)
    return Reply(*_accepted(ng))
