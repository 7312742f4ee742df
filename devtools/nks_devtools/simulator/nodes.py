"""Worker instances: created with addresses from the cluster's VPC subnet, removed on
scale-in (named ones first, then random ones - as NKS does without `nodes_to_remove`).

Names follow the guide's example (`test-k8s-default-w-bnga636xulqk-node-0`: cluster,
group name cut to 9 characters, a stack suffix, `node-N`); the compute API (`compute.py`)
serves the same instances as servers with the same ids."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Iterable

from nks_devtools.simulator.state import Cluster, Node, NodeGroup

FIRST_HOST_OFFSET = 4  # .1-.4 are the gateway and NHN's reserved addresses


def allocate_address(cluster: Cluster) -> str:
    net = ipaddress.ip_network(cluster.subnet_cidr)
    usable = max(net.num_addresses - FIRST_HOST_OFFSET - 1, 1)
    index = FIRST_HOST_OFFSET + 1 + cluster.addresses_allocated % usable
    cluster.addresses_allocated += 1
    return str(net.network_address + index)


def add_nodes(
    cluster: Cluster, ng: NodeGroup, count: int, now: float, new_uuid: Callable[[], str]
) -> None:
    suffix = ng.uuid.replace("-", "")[:12]
    for _ in range(count):
        name = f"{cluster.name}-{ng.name[:9]}-{suffix}-node-{ng.nodes_created}"
        address = allocate_address(cluster)
        ng.nodes.append(Node(new_uuid(), name, address, created_at=now, updated_at=now))
        ng.nodes_created += 1


def resize(
    cluster: Cluster,
    ng: NodeGroup,
    count: int,
    to_remove: Iterable[str],
    now: float,
    rng: random.Random,
    new_uuid: Callable[[], str],
) -> None:
    if count > len(ng.nodes):
        add_nodes(cluster, ng, count - len(ng.nodes), now, new_uuid)
    excess = len(ng.nodes) - count
    if excess > 0:
        chosen = [u for u in to_remove if ng.node(u)][:excess]
        others = [n.uuid for n in ng.nodes if n.uuid not in chosen]
        chosen += rng.sample(others, excess - len(chosen))
        ng.nodes = [n for n in ng.nodes if n.uuid not in chosen]
    ng.node_count = count
