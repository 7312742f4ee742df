"""The compute (Nova) subset for NKS node instances: `GET /v2/{tenant}/servers/detail`.

Every worker node the simulator runs is a server with the same id - the id stop/start
`node_list` and resize `nodes_to_remove` take - its name, its fixed address (the one NKS
lists in `node_addresses`) and its power state: a stopped node is SHUTOFF. Shapes,
filters and pagination as NHN's Instance API documents them (docs/nks-api-notes.md,
"Node instances"); `servers_links` as upstream Nova pages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from nks_devtools.simulator import labels, rules, views
from nks_devtools.simulator.core import Reply, RequestContext, Simulator
from nks_devtools.simulator.errors import ComputeError
from nks_devtools.simulator.state import Cluster, Node, NodeGroup

Params = Mapping[str, str]
POWER_STATE = {"ACTIVE": 1, "SHUTOFF": 4}
VM_STATE = {"ACTIVE": "active", "SHUTOFF": "stopped"}
IMAGE_METADATA = ("os_distro", "os_type", "os_version", "login_username", "hypervisor_type")


def _network_name(cluster: Cluster) -> str:
    return f"vpc-{cluster.fixed_network[:8]}"


def _mac(node: Node) -> str:
    digits = node.uuid.replace("-", "")[-6:]
    return "fa:16:3e:" + ":".join(digits[i : i + 2] for i in range(0, 6, 2))


def server(cluster: Cluster, ng: NodeGroup, node: Node, base_url: str) -> dict[str, Any]:
    """One node as `servers/detail` lists it."""
    path = f"{cluster.project_id}/servers/{node.uuid}"
    return {
        "id": node.uuid,
        "name": node.name,
        "status": node.status,
        "addresses": {
            _network_name(cluster): [
                {
                    "OS-EXT-IPS-MAC:mac_addr": _mac(node),
                    "version": 4,
                    "addr": node.address,
                    "OS-EXT-IPS:type": "fixed",
                }
            ]
        },
        "links": [
            {"href": f"{base_url}/v2/{path}", "rel": "self"},
            {"href": f"{base_url}/{path}", "rel": "bookmark"},
        ],
        "key_name": cluster.keypair,
        "image": {"id": ng.image_id, "links": []},
        "flavor": {"id": ng.flavor_id, "links": []},
        "OS-EXT-STS:task_state": None,
        "OS-EXT-STS:vm_state": VM_STATE.get(node.status, node.status.lower()),
        "OS-EXT-STS:power_state": POWER_STATE.get(node.status, 0),
        "OS-EXT-AZ:availability_zone": str(ng.labels.get("availability_zone", "")),
        "OS-SRV-USG:launched_at": views.timestamp(node.created_at),
        "OS-SRV-USG:terminated_at": None,
        "security_groups": [{"name": "default"}],
        "user_id": cluster.user_id,
        "tenant_id": cluster.project_id,
        "created": _zulu(node.created_at),
        "updated": _zulu(node.updated_at or node.created_at),
        "hostId": "",
        "metadata": {k: labels.STATIC[k] for k in IMAGE_METADATA if k in labels.STATIC},
        "accessIPv4": "",
        "accessIPv6": "",
        "progress": 0,
        "config_drive": "",
    }


def _zulu(t: float) -> str | None:
    text = views.timestamp(t)
    return text.replace("+00:00", "Z") if text else None


def _changes_since(value: str) -> float:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ComputeError(400, f"Invalid changes-since value {value!r}.") from None


def list_servers(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    """Filters `name` (a regular expression), `status`, `image`, `flavor`, `changes-since`;
    newest first; `limit` / `marker` with a `servers_links` next link."""
    if params["tenant"] != ctx.tenant.id:
        raise ComputeError(403, "Policy does not allow listing another project's servers.")
    found = [
        (cluster, ng, node)
        for cluster in ctx.tenant.clusters.values()
        for ng in cluster.workers
        for node in ng.nodes
    ]
    if "name" in query:
        try:
            pattern = re.compile(query["name"])
        except re.error:
            raise ComputeError(400, "Invalid name filter (not a regular expression).") from None
        found = [f for f in found if pattern.search(f[2].name)]
    if "status" in query:
        found = [f for f in found if f[2].status == query["status"].upper()]
    if "flavor" in query:
        found = [f for f in found if f[1].flavor_id == query["flavor"]]
    if "image" in query:
        found = [f for f in found if f[1].image_id == query["image"]]
    if "changes-since" in query:
        since = _changes_since(query["changes-since"])
        found = [f for f in found if (f[2].updated_at or f[2].created_at) >= since]
    found.sort(key=lambda f: (-f[2].created_at, f[2].uuid))
    start = 0
    if "marker" in query:
        ids = [f[2].uuid for f in found]
        if query["marker"] not in ids:
            raise ComputeError(400, f"marker [{query['marker']}] not found")
        start = ids.index(query["marker"]) + 1
    limit = sim.config.page_max_limit
    if "limit" in query:
        try:
            limit = min(rules.as_int(query["limit"], "limit", 0), limit)
        except Exception:
            raise ComputeError(400, "limit must be a non-negative integer.") from None
    page = found[start : start + limit]
    result: dict[str, Any] = {"servers": [server(c, g, n, ctx.base_url) for c, g, n in page]}
    if page and len(page) == limit and start + limit < len(found):
        href = f"{ctx.base_url}/v2/{ctx.tenant.id}/servers/detail?limit={limit}"
        result["servers_links"] = [{"href": f"{href}&marker={page[-1][2].uuid}", "rel": "next"}]
    return Reply(200, result)
