"""JSON documents shaped like the guide's examples (field names, nulls, links, strings).

Node group answers have `node_addresses` and no per-node list, as in the guide; node
instances are served by the compute API (`compute.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nks_devtools.simulator import labels
from nks_devtools.simulator.config import SimulatorConfig
from nks_devtools.simulator.state import Cluster, Event, IpAcl, Node, NodeGroup

CONTAINER_VERSION = "1.7.2"


def timestamp(t: float | None) -> str | None:
    """NKS's `2021-08-05T01:48:39+00:00`."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def links(base_url: str, path: str) -> list[dict[str, str]]:
    return [
        {"href": f"{base_url}/v1/{path}", "rel": "self"},
        {"href": f"{base_url}/{path}", "rel": "bookmark"},
    ]


def _worker_nodes(cluster: Cluster) -> list[Node]:
    return [n for ng in cluster.workers for n in ng.nodes]


def cluster_summary(cluster: Cluster, base_url: str, config: SimulatorConfig) -> dict[str, Any]:
    """An entry of `GET /v1/clusters` (the list example's fields only, as in Magnum)."""
    worker = cluster.default_worker
    return {
        "cluster_template_id": cluster.cluster_template_id,
        "create_timeout": cluster.create_timeout,
        "docker_volume_size": None,
        "flavor_id": worker.flavor_id if worker else None,
        "health_status": health_status(cluster),
        "keypair": cluster.keypair,
        "labels": labels.for_cluster(cluster, config),
        "links": links(base_url, f"clusters/{cluster.uuid}"),
        "name": cluster.name,
        "node_count": sum(ng.node_count for ng in cluster.workers),
        "stack_id": cluster.stack_id,
        "status": cluster.status,
        "status_reason": cluster.status_reason,  # in the list since the current edition
        "uuid": cluster.uuid,
    }


def health_status(cluster: Cluster) -> str | None:
    """`FRESH` once the cluster runs (the current edition and Live; the examples' `HEALTHY`
    is the older form): the simulator's view is always current."""
    return "FRESH" if cluster.api_address else None


def _node_status(ready: int, not_ready: int) -> str:
    if not not_ready:
        return "NORMAL"
    return "ALL_NODES_NOT_READY" if not ready else "NOT_READY_NODE_EXIST"


def health_reason(cluster: Cluster, config: SimulatorConfig) -> dict[str, Any]:
    """The structured reason of the current edition (a stopped node is not Ready), with flat
    dotted keys (Live) or nested objects (the `health_reason_form` knob)."""
    if not cluster.api_address:
        return {}
    counts = {
        ng.name: (sum(not n.stopped for n in ng.nodes), sum(n.stopped for n in ng.nodes))
        for ng in cluster.workers
    }
    ready = sum(r for r, _ in counts.values())
    not_ready = sum(n for _, n in counts.values())
    moment = cluster.updated_at or cluster.created_at
    flat: dict[str, Any] = {
        # Live sends no offset (UTC).
        "timestamp": datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "api": "OK",
        "cluster.api_status": "NORMAL",
        "cluster.node_status": _node_status(ready, not_ready),
    }
    for name, (r, n) in counts.items():
        flat[f"nodegroup.node_status.{name}"] = _node_status(r, n)
        flat[f"nodegroup-stats.{name}"] = f"{r}:{n}"
    if config.health_reason_form == "flat":
        return flat
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        head, _, rest = key.partition(".")
        if not rest:
            nested[head] = value
        elif head == "nodegroup":  # nodegroup.node_status.<group>
            middle, _, group = rest.partition(".")
            nested.setdefault(head, {}).setdefault(middle, {})[group] = value
        else:
            nested.setdefault(head, {})[rest] = value
    return nested


def cluster_detail(cluster: Cluster, base_url: str, config: SimulatorConfig) -> dict[str, Any]:
    """`GET /v1/clusters/{id}`."""
    return {
        **cluster_summary(cluster, base_url, config),
        "api_address": cluster.api_address,
        "coe_version": cluster.kube_tag,
        "container_version": CONTAINER_VERSION,
        "created_at": timestamp(cluster.created_at),
        "fixed_network": cluster.fixed_network,
        "fixed_subnet": cluster.fixed_subnet,
        "floating_ip_enabled": False,
        "health_status_reason": health_reason(cluster, config),
        "node_addresses": [n.address for n in _worker_nodes(cluster)],
        "project_id": cluster.project_id,
        "status_reason": cluster.status_reason,
        "updated_at": timestamp(cluster.updated_at),
        "user_id": cluster.user_id,
    }


def nodegroup_summary(ng: NodeGroup) -> dict[str, Any]:
    """An entry of `GET .../nodegroups`."""
    return {
        "flavor_id": ng.flavor_id,
        "image_id": ng.image_id,
        "is_default": ng.is_default,
        "max_node_count": ng.max_node_count,
        "min_node_count": ng.min_node_count,
        "name": ng.name,
        "node_count": ng.node_count,
        "role": ng.role,
        "stack_id": ng.stack_id,
        "status": ng.status,
        "uuid": ng.uuid,
    }


def node(n: Node) -> dict[str, Any]:
    """A node as the admin state shows it (NKS answers have no such list)."""
    return {"uuid": n.uuid, "name": n.name, "address": n.address, "status": n.status}


def nodegroup_created(
    cluster: Cluster, ng: NodeGroup, base_url: str, config: SimulatorConfig
) -> dict[str, Any]:
    """The answer of `POST .../nodegroups` (the guide's example fields)."""
    return {
        "cluster_id": cluster.uuid,
        "flavor_id": ng.flavor_id,
        "image_id": ng.image_id,
        "labels": labels.for_nodegroup(cluster, ng, config),
        "links": links(base_url, f"clusters/{cluster.uuid}/nodegroups/{ng.uuid}"),
        "max_node_count": ng.max_node_count,
        "min_node_count": ng.min_node_count,
        "name": ng.name,
        "node_count": ng.node_count,
        "project_id": cluster.project_id,
        "role": ng.role,
        "uuid": ng.uuid,
    }


def nodegroup_detail(
    cluster: Cluster, ng: NodeGroup, base_url: str, config: SimulatorConfig
) -> dict[str, Any]:
    """`GET .../nodegroups/{id}`: the guide's fields (`node_addresses`, no node list)."""
    return {
        **nodegroup_created(cluster, ng, base_url, config),
        "created_at": timestamp(ng.created_at),
        "docker_volume_size": None,
        "id": ng.id,
        "is_default": ng.is_default,
        "node_addresses": [n.address for n in ng.nodes],
        "stack_id": ng.stack_id,
        "status": ng.status,
        "status_reason": ng.status_reason,
        "updated_at": timestamp(ng.updated_at),
        "version": None,
    }


def autoscaler(ng: NodeGroup) -> dict[str, Any]:
    """`GET .../autoscale`: typed values, as in the guide's example."""
    get = ng.labels.get
    return {
        "ca_enable": ng.autoscaler_enabled,
        "ca_image": labels.CA_IMAGE,
        "ca_max_node_count": int(get("ca_max_node_count", 10)),
        "ca_min_node_count": int(get("ca_min_node_count", 1)),
        "ca_scale_down_delay_after_add": int(get("ca_scale_down_delay_after_add", 10)),
        "ca_scale_down_enable": str(get("ca_scale_down_enable", "True")).lower() == "true",
        "ca_scale_down_unneeded_time": int(get("ca_scale_down_unneeded_time", 10)),
        "ca_scale_down_util_thresh": int(get("ca_scale_down_util_thresh", 50)),
        "clusterautoscale": "nodegroupfeature",
    }


def event(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "uuid": e.uuid,
        "project_id": e.project_id,
        "cluster_uuid": e.cluster_uuid,
        "cluster_name": e.cluster_name,
        "resource_uuid": e.resource_uuid,
        "resource_name": e.resource_name,
        "resource_type": e.resource_type,
        "type": e.type,
        "state": e.state,
        "contents": e.contents,
        "created_at": timestamp(e.created_at),
        "updated_at": timestamp(e.updated_at),
    }


def ipacl(cluster: Cluster, acl: IpAcl) -> dict[str, Any]:
    if not acl.enable:
        return {"cluster_uuid": cluster.uuid, "enable": "false"}
    return {
        "cluster_uuid": cluster.uuid,
        "enable": "true",
        "action": acl.action,
        "ipacl_targets": [dict(t) for t in acl.targets],
    }
