"""Clusters as a whole: list (paginated), get, create, delete, task history and supported
versions - plus the helpers every cluster and node group handler shares.

Create validates the whole request first (names, fields, labels, CIDRs, versions, quota)
and then starts the asynchronous CREATE that brings the cluster and its default node
groups to CREATE_COMPLETE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nks_devtools.simulator import (
    addon_rules,
    cidr,
    labels,
    nodes,
    rules,
    setting_rules,
    supports,
    versions,
    views,
)
from nks_devtools.simulator.core import Reply, RequestContext, Simulator
from nks_devtools.simulator.errors import BadRequest, Forbidden, NotFound
from nks_devtools.simulator.state import (
    DEFAULT_MASTER,
    DEFAULT_WORKER,
    Cluster,
    NodeGroup,
)
from nks_operator.nks.operations import Operation

Params = Mapping[str, str]
YEAR = 365.25 * 86400

CREATE_FIELDS = {
    "name",
    "cluster_template_id",
    "keypair",
    "node_count",
    "labels",
    "flavor_id",
    "fixed_network",
    "fixed_subnet",
    "create_timeout",
    # Newer than the guide (docs/nks-api-notes.md, "Create").
    "addons",
    "api_ep_ipacl",
}
CNI_CHOICES = ("calico", "calico-ebpf")
DEFAULT_TERM_OF_VALIDITY = 5
SORT_KEYS: dict[str, Callable[[Cluster], Any]] = {
    "id": lambda c: c.id,
    "uuid": lambda c: c.uuid,
    "name": lambda c: c.name,
    "created_at": lambda c: c.created_at,
    "updated_at": lambda c: c.updated_at or 0.0,
    "status": lambda c: c.status,
}


def find_cluster(ctx: RequestContext, params: Params) -> Cluster:
    return ctx.tenant.find_cluster(params["cluster"])


def accepted(cluster: Cluster) -> tuple[int, dict[str, str]]:
    """The 202 answer of a cluster operation: the cluster's UUID."""
    return 202, {"uuid": cluster.uuid}


def json_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


# --- reads -----------------------------------------------------------------------------


def list_clusters(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    """Magnum-style pagination: limit (<= page_max_limit), marker, sort_key, sort_dir, next."""
    limit = sim.config.page_max_limit
    if "limit" in query:
        limit = min(rules.as_int(query["limit"], "limit"), limit)
        if limit <= 0:
            raise BadRequest("Limit must be positive")
    sort_key = query.get("sort_key", "id")
    if sort_key not in SORT_KEYS:
        raise BadRequest(f"The sort_key value {sort_key!r} is an invalid field for sorting")
    sort_dir = query.get("sort_dir", "asc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(
            f"Invalid sort direction: {sort_dir}. Acceptable values are 'asc' or 'desc'"
        )
    key = SORT_KEYS[sort_key]
    ordered = sorted(ctx.tenant.clusters.values(), key=lambda c: (key(c), c.id))
    if sort_dir == "desc":
        ordered.reverse()
    start = 0
    if "marker" in query:
        marker = query["marker"]
        index = next((i for i, c in enumerate(ordered) if c.uuid == marker), None)
        if index is None:
            raise NotFound(f"Cluster {marker} could not be found.")
        start = index + 1
    page = ordered[start : start + limit]
    result: dict[str, Any] = {
        "clusters": [views.cluster_summary(c, ctx.base_url, sim.config) for c in page]
    }
    if page and len(page) == limit and start + limit < len(ordered):
        extra = "".join(f"&{k}={query[k]}" for k in ("sort_key", "sort_dir") if k in query)
        result["next"] = f"{ctx.base_url}/v1/clusters?limit={limit}&marker={page[-1].uuid}{extra}"
    return Reply(200, result)


def get_cluster(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    return Reply(200, views.cluster_detail(cluster, ctx.base_url, sim.config))


def list_events(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    return Reply(200, {"events": [views.event(e) for e in cluster.events]})


def get_event(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    event = cluster.event(params["event"])
    if event is None:
        raise NotFound(f"Event {params['event']} could not be found.")
    return Reply(200, views.event(event))


def get_supports(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    config = sim.config
    return Reply(200, supports.document(config))


# --- create and delete -----------------------------------------------------------------


def cluster_networks(cluster: Cluster) -> list[tuple[str, cidr.IPv4Network]]:
    """The pod and service networks of a cluster (node subnets must stay clear of them)."""
    return [
        (
            "pods_network_cidr",
            cidr.parse(
                cluster.labels.get("pods_network_cidr", cidr.DEFAULT_PODS_CIDR),
                "pods_network_cidr",
            ),
        ),
        (
            "service_cluster_ip_range",
            cidr.parse(
                cluster.labels.get("service_cluster_ip_range", cidr.DEFAULT_SERVICE_CIDR),
                "service_cluster_ip_range",
            ),
        ),
    ]


def _check_public_endpoint(sim: Simulator, given: dict[str, Any]) -> None:
    """The current edition: `master_lb_floating_ip_enabled` "True" needs an external network
    and subnets (the `public_endpoint_rule` knob; the copy had no such condition)."""
    public = rules.as_bool(
        given["master_lb_floating_ip_enabled"], "labels.master_lb_floating_ip_enabled"
    )
    if sim.config.public_endpoint_rule != "current" or not public:
        return
    if not given.get("external_network_id") or not given.get("external_subnet_id_list"):
        raise BadRequest(
            'labels.master_lb_floating_ip_enabled may be "True" only with '
            "labels.external_network_id and labels.external_subnet_id_list."
        )


def _validate_create(sim: Simulator, body: dict[str, Any], now: float) -> dict[str, Any]:
    config = sim.config
    rules.check_known_fields(body, CREATE_FIELDS, "cluster")
    name = rules.check_name(body.get("name"), "cluster")
    if body.get("cluster_template_id") != "iaas_console":
        raise BadRequest('cluster_template_id must be "iaas_console".')
    keypair = rules.require_str(body, "keypair")
    ids = {f: rules.require_uuid(body, f) for f in ("flavor_id", "fixed_network", "fixed_subnet")}
    if "node_count" not in body:
        raise BadRequest("Mandatory field missing: node_count")
    node_count = rules.as_int(body["node_count"], "node_count", 1, config.max_nodes_per_group)
    timeout = rules.as_int(body.get("create_timeout", 60), "create_timeout", 0, 10080)
    if "labels" not in body:
        raise BadRequest("Mandatory field missing: labels")
    given = rules.check_label_types(body["labels"])
    rules.require_labels(given, labels.CLUSTER_REQUIRED)
    kube_tag = given["kube_tag"]
    kube = versions.require(kube_tag, "labels.kube_tag")
    if not config.supported_k8s.get(kube_tag, False):
        raise BadRequest(f"Kubernetes version {kube_tag} cannot be used for new clusters.")
    rules.require_uuid(given, "node_image")
    if not rules.as_bool(given["cert_manager_api"], "labels.cert_manager_api"):
        raise BadRequest('labels.cert_manager_api must be "True".')
    for flag in ("master_lb_floating_ip_enabled", "strict_sg_rules"):
        if flag in given:
            rules.as_bool(given[flag], f"labels.{flag}")
    if given.get("cni_driver", "calico") not in CNI_CHOICES:
        raise BadRequest(f"labels.cni_driver must be one of {', '.join(CNI_CHOICES)}.")
    if "external_subnet_id_list" in given and "external_network_id" not in given:
        raise BadRequest("labels.external_subnet_id_list needs labels.external_network_id.")
    for key in ("external_network_id", "ncr_sgw", "obs_sgw"):
        if key in given:
            rules.require_uuid(given, key)
    if "term_of_validity" in given:
        rules.check_term_of_validity(given["term_of_validity"])
    _check_public_endpoint(sim, given)
    worker = rules.check_worker_labels(given, config.max_nodes_per_group)
    extra_subnets = [s for s in str(given.get("additional_subnet_id_list", "")).split(":") if s]
    settings = setting_rules.check_create_settings(
        given, [ids["fixed_subnet"], *extra_subnets], config.max_nodes_per_group, cluster=True
    )
    worker.update({k: v for k, v in settings.items() if k in labels.WORKER_KEYS})
    acl = rules.check_ipacl(json_object(body["api_ep_ipacl"])) if "api_ep_ipacl" in body else None
    subnet_cidr = config.subnet_cidr(ids["fixed_subnet"])
    networks = cidr.check_cluster_networks(given, subnet_cidr, kube)
    cidr.check_node_subnets(
        [(name, cidr.parse(networks[name], name)) for name in cidr.CLUSTER_NETWORKS],
        [(s, config.subnets[s]) for s in extra_subnets if s in config.subnets],
        "additional_subnet_id_list",
    )
    addons = addon_rules.at_create(sim, rules.check_addons(body.get("addons", [])), kube_tag, now)
    return {
        "name": name,
        "keypair": keypair,
        **ids,
        "node_count": node_count,
        "create_timeout": timeout,
        "kube_tag": kube_tag,
        "subnet_cidr": str(subnet_cidr),
        "cluster_labels": {
            "cni_driver": "calico",
            "strict_sg_rules": "False",
            "term_of_validity": str(DEFAULT_TERM_OF_VALIDITY),
            "platform_version": config.platform_version,
            **{k: v for k, v in given.items() if k not in labels.WORKER_KEYS and k != "kube_tag"},
            **{k: v for k, v in settings.items() if k not in labels.WORKER_KEYS},
            **networks,
        },
        "worker_labels": {
            **labels.group_defaults(config),
            **{k: v for k, v in worker.items() if k in labels.WORKER_KEYS},
        },
        "addons": addons,
        "ipacl": acl,
    }


def new_nodegroup(
    sim: Simulator,
    cluster: Cluster,
    now: float,
    *,
    name: str,
    role: str,
    flavor_id: str,
    image_id: str,
    node_count: int,
    group_labels: dict[str, Any],
) -> NodeGroup:
    ng = NodeGroup(
        id=sim.store.next_id(),
        uuid=sim.new_uuid(),
        name=name,
        cluster_uuid=cluster.uuid,
        role=role,
        # NKS answers false for default-worker (G:880, 964; the current edition; Live).
        is_default=name == DEFAULT_MASTER,
        flavor_id=flavor_id,
        image_id=image_id,
        labels=group_labels,
        node_count=node_count,
        stack_id=sim.new_uuid(),
        status="CREATE_IN_PROGRESS",
        created_at=now,
    )
    apply_autoscaler_bounds(ng)
    return ng


def apply_autoscaler_bounds(ng: NodeGroup) -> None:
    """min/max_node_count follow the autoscaler (as in the guide's examples)."""
    if ng.autoscaler_enabled:
        ng.min_node_count = int(ng.labels["ca_min_node_count"])
        ng.max_node_count = int(ng.labels["ca_max_node_count"])
    else:
        ng.min_node_count, ng.max_node_count = 1, None


def _api_address(sim: Simulator, cluster: Cluster) -> str:
    public = str(cluster.labels.get("master_lb_floating_ip_enabled", "false")).lower() == "true"
    if public:
        region = sim.config.region.lower()
        return f"https://{cluster.uuid[:8]}-{region}-k8s.container.nhncloud.com:6443"
    return f"https://{nodes.allocate_address(cluster)}:6443"


def create_cluster(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    spec = _validate_create(sim, json_object(body), ctx.now)
    quota = sim.config.max_clusters_per_tenant
    if quota is not None and len(ctx.tenant.clusters) >= quota:
        raise Forbidden(
            f"You have reached the maximum clusters per project, {quota}. You may delete a "
            "cluster to make room for a new one."
        )
    now = ctx.now
    cluster = Cluster(
        id=sim.store.next_id(),
        uuid=sim.new_uuid(),
        name=spec["name"],
        project_id=ctx.tenant.id,
        user_id=ctx.token.user_id,
        keypair=spec["keypair"],
        fixed_network=spec["fixed_network"],
        fixed_subnet=spec["fixed_subnet"],
        subnet_cidr=spec["subnet_cidr"],
        cluster_template_id=sim.new_uuid(),
        create_timeout=spec["create_timeout"],
        labels=spec["cluster_labels"],
        stack_id=sim.new_uuid(),
        status="CREATE_IN_PROGRESS",
        created_at=now,
        addons=spec["addons"],
    )
    if spec["ipacl"] is not None:
        cluster.ipacl = spec["ipacl"]  # in force from the start: never open in between
    master = new_nodegroup(
        sim,
        cluster,
        now,
        name=DEFAULT_MASTER,
        role="master",
        flavor_id=spec["flavor_id"],
        image_id=spec["worker_labels"]["node_image"],
        node_count=1,
        group_labels={
            "kube_tag": spec["kube_tag"],
            "platform_version": sim.config.platform_version,
        },
    )
    worker = new_nodegroup(
        sim,
        cluster,
        now,
        name=DEFAULT_WORKER,
        role="worker",
        flavor_id=spec["flavor_id"],
        image_id=spec["worker_labels"]["node_image"],
        node_count=spec["node_count"],
        group_labels={**spec["worker_labels"], "kube_tag": spec["kube_tag"]},
    )
    cluster.nodegroups = [master, worker]
    ctx.tenant.clusters[cluster.uuid] = cluster
    worker_uuid = worker.uuid

    def created(c: Cluster, at: float) -> None:
        c.api_address = _api_address(sim, c)
        years = int(c.labels.get("term_of_validity", DEFAULT_TERM_OF_VALIDITY))
        c.labels["certificate_expiry"] = views.timestamp(at + years * YEAR)
        ng = c.nodegroup_by_uuid(worker_uuid)
        if ng is not None:
            nodes.add_nodes(c, ng, ng.node_count, at, sim.new_uuid)
        for addon in c.addons:
            addon.status, addon.updated_at = addon_rules.COMPLETE, at

    sim.lifecycle.start(
        ctx.tenant,
        cluster,
        now=now,
        operation=Operation.CREATE_CLUSTER,
        phase="CREATE",
        event_type=supports.task_name(sim.config, Operation.CREATE_CLUSTER),
        resource=None,
        sets_cluster_status=True,
        nodegroups=[master, worker],
        effect=created,
        fail_reason=ctx.fail_reason,
    )
    return Reply(*accepted(cluster))


def delete_cluster(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    rules.ensure_idle(cluster, 204, None)
    sim.lifecycle.start(
        ctx.tenant,
        cluster,
        now=ctx.now,
        operation=Operation.DELETE_CLUSTER,
        phase="DELETE",
        event_type=supports.task_name(sim.config, Operation.DELETE_CLUSTER),
        resource=None,
        sets_cluster_status=True,
        nodegroups=list(cluster.nodegroups),
        fail_reason=ctx.fail_reason,
        removes="cluster",
    )
    return Reply(204)
