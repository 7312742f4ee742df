"""Cluster-level actions of the guide: resize, kubeconfig, CNI change, IP access control,
certificate renewal and service gateway change. The CNI change exists only with the
`cni_update_api` knob (the current edition removed it: 404).

Each refuses what NKS refuses (body first, then state, then "operation in progress") and,
except the IP ACL which takes effect at once, runs as an UPDATE of the cluster whose
effect lands when it completes. The guide lists no task type for IP ACL, certificate or
service gateway changes: they record no task (unless the `record_unlisted_tasks` knob),
and whether the cluster status moves during the last two is a knob too
(docs/nks-api-notes.md, "Simulator knobs").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from nks_devtools.simulator import cidr, kubeconfig, nodes, rules, supports, versions, views
from nks_devtools.simulator.clusters import YEAR, accepted, find_cluster, json_object
from nks_devtools.simulator.core import Reply, RequestContext, Simulator
from nks_devtools.simulator.errors import BadRequest, NotFound
from nks_devtools.simulator.state import DEFAULT_WORKER, Cluster, NodeGroup
from nks_operator.nks.operations import Operation

Params = Mapping[str, str]


def get_kubeconfig(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    if not cluster.api_address:
        raise BadRequest(
            f"Cluster {cluster.name} is in status {cluster.status}; its kubeconfig exists once "
            "the cluster is created."
        )
    return Reply(200, {"config": kubeconfig.render(cluster)})


def get_ip_acl(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    return Reply(200, views.ipacl(cluster, cluster.ipacl))


def _update(
    sim: Simulator,
    ctx: RequestContext,
    cluster: Cluster,
    operation: Operation,
    event_type: str | None,
    effect: Callable[[Cluster, float], None],
    target: NodeGroup | None = None,
    sets_cluster_status: bool = True,
) -> None:
    sim.lifecycle.start(
        ctx.tenant,
        cluster,
        now=ctx.now,
        operation=operation,
        phase="UPDATE",
        event_type=event_type,
        resource=target,
        sets_cluster_status=sets_cluster_status,
        nodegroups=[target] if target else [],
        effect=effect,
        fail_reason=ctx.fail_reason,
    )


def resize_cluster(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    body = json_object(body)
    rules.check_known_fields(body, {"nodegroup", "node_count", "nodes_to_remove"}, "resize")
    ng = cluster.find_worker(rules.require_str(body, "nodegroup"))
    if "node_count" not in body:
        raise BadRequest("Mandatory field missing: node_count")
    low = 1 if ng.name == DEFAULT_WORKER else 0  # the default group keeps a node
    count = rules.as_int(body["node_count"], "node_count", low, sim.config.max_nodes_per_group)
    to_remove = body.get("nodes_to_remove") or []
    if not isinstance(to_remove, list) or not all(isinstance(u, str) for u in to_remove):
        raise BadRequest("nodes_to_remove must be a list of node UUIDs.")
    unknown = [u for u in to_remove if ng.node(u) is None]
    if unknown:
        raise BadRequest(f"Nodes {', '.join(unknown)} are not in node group {ng.name}.")
    if len(set(to_remove)) > max(ng.node_count - count, 0):
        raise BadRequest("nodes_to_remove names more nodes than the scale-in removes.")
    rules.ensure_operable(cluster, ng)
    if ng.any_autoscaler_enabled:
        raise BadRequest(f"Node group {ng.name} has the autoscaler enabled; resize is refused.")
    rules.ensure_idle(cluster, *accepted(cluster))
    ng_uuid, removal = ng.uuid, list(dict.fromkeys(to_remove))

    def resized(c: Cluster, at: float) -> None:
        group = c.nodegroup_by_uuid(ng_uuid)
        if group is not None:
            nodes.resize(c, group, count, removal, at, sim.rng, sim.new_uuid)

    _update(
        sim,
        ctx,
        cluster,
        Operation.RESIZE_CLUSTER,
        supports.task_name(sim.config, Operation.RESIZE_CLUSTER),
        resized,
        target=ng,
    )
    return Reply(*accepted(cluster))


def _node_subnets(sim: Simulator, cluster: Cluster) -> list[ipaddress.IPv4Network]:
    subnets = [sim.config.subnet_cidr(cluster.fixed_subnet)]
    for ng in cluster.workers:
        extra = str(ng.labels.get("additional_subnet_id_list", ""))
        subnets += [sim.config.subnet_cidr(s) for s in extra.split(":") if s in sim.config.subnets]
    return subnets


def update_cni(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    if not sim.config.cni_update_api:  # gone from the current edition (RN 2025-05-27)
        raise NotFound("The resource could not be found.")
    cluster = find_cluster(ctx, params)
    body = json_object(body)
    allowed = {"cni", "num_buffer_nodes", "num_max_unavailable_nodes", "pod_cidr", "pod_subnet"}
    rules.check_known_fields(body, allowed, "cni_update")
    if body.get("cni") != "calico":
        raise BadRequest('cni must be "calico".')
    current = str(cluster.labels.get("cni_driver", "calico")).lower()
    if current != "flannel":
        raise BadRequest(f"The CNI of cluster {cluster.name} is {current}; only Flannel changes.")
    if "pod_cidr" not in body:
        raise BadRequest("Mandatory field missing: pod_cidr")
    service = cidr.parse(
        cluster.labels.get("service_cluster_ip_range", cidr.DEFAULT_SERVICE_CIDR),
        "service_cluster_ip_range",
    )
    in_use = cluster.labels.get("pods_network_cidr")
    pods, pod_subnet = cidr.check_cni_pod_network(
        body["pod_cidr"],
        body.get("pod_subnet", cidr.DEFAULT_PODS_SUBNET),
        service,
        _node_subnets(sim, cluster),
        cidr.parse(in_use, "pods_network_cidr") if in_use else None,
    )
    quota = sim.config.max_nodes_per_group
    room = min((quota - ng.node_count for ng in cluster.workers), default=0)
    if "num_buffer_nodes" in body:
        rules.as_int(body["num_buffer_nodes"], "num_buffer_nodes", 0, max(room, 0))
    if "num_max_unavailable_nodes" in body:
        total = sum(ng.node_count for ng in cluster.workers)
        rules.as_int(body["num_max_unavailable_nodes"], "num_max_unavailable_nodes", 1, total)
    rules.ensure_operable(cluster)
    rules.ensure_idle(cluster, *accepted(cluster))

    def changed(c: Cluster, at: float) -> None:
        c.labels.update(
            cni_driver="calico", pods_network_cidr=str(pods), pods_network_subnet=str(pod_subnet)
        )

    _update(
        sim,
        ctx,
        cluster,
        Operation.UPDATE_CNI,
        supports.task_name(sim.config, Operation.UPDATE_CNI),
        changed,
    )
    return Reply(*accepted(cluster))


def set_ip_acl(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    """Applied at once (a load balancer setting); read back with GET api_ep_ipacl."""
    cluster = find_cluster(ctx, params)
    acl = rules.check_ipacl(json_object(body))
    rules.ensure_operable(cluster)
    rules.ensure_idle(cluster, 200, {"uuid": cluster.uuid})
    cluster.ipacl = acl
    cluster.updated_at = ctx.now
    if (task := supports.task_name(sim.config, Operation.SET_IP_ACL)) is not None:
        sim.lifecycle.record_event(cluster, task, None, ctx.now)
    return Reply(200, {"uuid": cluster.uuid})


def renew_certificate(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    body = json_object(body)
    rules.check_known_fields(body, {"term_of_validity"}, "certificates")
    if "term_of_validity" not in body:
        raise BadRequest("Mandatory field missing: term_of_validity")
    years = rules.check_term_of_validity(body["term_of_validity"])
    kube = versions.require(cluster.kube_tag, "kube_tag")
    cni = str(cluster.labels.get("cni_driver", "calico")).lower()
    if kube < (1, 24, 0) or not cni.startswith("calico"):
        raise BadRequest("Certificate renewal needs Kubernetes v1.24 or later with Calico.")
    rules.ensure_operable(cluster)
    rules.ensure_idle(cluster, *accepted(cluster))

    def renewed(c: Cluster, at: float) -> None:
        c.certificate_generation += 1
        c.labels["term_of_validity"] = str(years)
        c.labels["certificate_expiry"] = views.timestamp(at + years * YEAR)

    _update(
        sim,
        ctx,
        cluster,
        Operation.RENEW_CERTIFICATE,
        supports.task_name(sim.config, Operation.RENEW_CERTIFICATE),
        renewed,
        sets_cluster_status=sim.config.certificate_renewal_status == "update_in_progress",
    )
    return Reply(*accepted(cluster))


def update_service_gateway(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    """Both gateways are required (the guide, lines 819-820 and its example)."""
    cluster = find_cluster(ctx, params)
    body = json_object(body)
    rules.check_known_fields(body, {"ncr_sgw", "obs_sgw"}, "update_sgw")
    changes = {key: rules.require_uuid(body, key) for key in ("ncr_sgw", "obs_sgw")}
    for key in changes:
        if not cluster.labels.get(key):
            raise BadRequest(
                f"Cluster {cluster.name} was created without {key}; only a service gateway set "
                "at creation can be changed."
            )
    rules.ensure_operable(cluster)
    rules.ensure_idle(cluster, *accepted(cluster))

    def changed(c: Cluster, at: float) -> None:
        c.labels.update(changes)

    _update(
        sim,
        ctx,
        cluster,
        Operation.UPDATE_SERVICE_GATEWAY,
        supports.task_name(sim.config, Operation.UPDATE_SERVICE_GATEWAY),
        changed,
        sets_cluster_status=sim.config.service_gateway_status == "update_in_progress",
    )
    return Reply(*accepted(cluster))
