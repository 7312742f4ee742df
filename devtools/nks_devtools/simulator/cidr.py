"""The guide's CIDR rules for cluster networks and for the pod network of a CNI change."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, ip_network
from itertools import combinations

from nks_devtools.simulator.errors import BadRequest
from nks_devtools.simulator.rules import as_int
from nks_devtools.simulator.versions import Version

LINK_LOCAL = ip_network("169.254.0.0/16")
NKS_INTERNAL = ip_network("198.18.0.0/19")
DOCKER_BRIDGE = ip_network("172.17.0.0/16")
LAST_VERSION_WITH_BRIDGE: Version = (1, 23, 3)

DEFAULT_PODS_CIDR = "10.100.0.0/16"
DEFAULT_PODS_SUBNET = 24
DEFAULT_SERVICE_CIDR = "10.254.0.0/16"
POD_SUBNET_RANGE = (20, 28)
LARGEST_PREFIX = 24  # "no CIDR block smaller than /24": prefix length must be <= 24
CLUSTER_NETWORKS = ("pods_network_cidr", "service_cluster_ip_range")


def parse(value: object, field: str) -> IPv4Network:
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a CIDR string like 10.100.0.0/16.")
    try:
        net = ip_network(value, strict=True)
    except ValueError:
        raise BadRequest(f"{field} {value!r} is not a valid CIDR (host bits must be 0).") from None
    if not isinstance(net, IPv4Network) or "/" not in value:
        raise BadRequest(f"{field} {value!r} must be an IPv4 CIDR block.")
    return net


def _reserved(net: IPv4Network, field: str, bridge: bool) -> None:
    reserved = [(LINK_LOCAL, "the link-local range"), (NKS_INTERNAL, "the range NKS uses inside")]
    if bridge:
        reserved.append((DOCKER_BRIDGE, "the Docker bridge (BIP) range of v1.23.3 and earlier"))
    for block, what in reserved:
        if net.overlaps(block):
            raise BadRequest(f"{field} {net} overlaps {what} ({block}).")


def _block_size(net: IPv4Network, field: str) -> None:
    if net.prefixlen > LARGEST_PREFIX:
        raise BadRequest(f"{field} {net}: CIDR blocks smaller than /{LARGEST_PREFIX} are refused.")


def _pod_subnet(value: object, pods: IPv4Network, field: str) -> int:
    size = as_int(value, field, *POD_SUBNET_RANGE)
    if size < pods.prefixlen + 2:
        raise BadRequest(
            f"{field} ({size}) must be at least 2 greater than the pod network prefix "
            f"(/{pods.prefixlen})."
        )
    return size


def _no_overlaps(named: Iterable[tuple[str, IPv4Network]]) -> None:
    for (name_a, a), (name_b, b) in combinations(named, 2):
        if a.overlaps(b):
            raise BadRequest(f"{name_a} {a} overlaps {name_b} {b}.")


def check_cluster_networks(
    labels: dict[str, object], fixed_subnet: IPv4Network, kube: Version
) -> dict[str, str]:
    """fixed_subnet / pods_network_cidr / service_cluster_ip_range at cluster creation;
    returns the network labels to store (defaults filled in)."""
    pods = parse(labels.get("pods_network_cidr", DEFAULT_PODS_CIDR), "pods_network_cidr")
    service = parse(
        labels.get("service_cluster_ip_range", DEFAULT_SERVICE_CIDR), "service_cluster_ip_range"
    )
    bridge = kube <= LAST_VERSION_WITH_BRIDGE
    named = [
        ("fixed_subnet", fixed_subnet),
        ("pods_network_cidr", pods),
        ("service_cluster_ip_range", service),
    ]
    for name, net in named:
        _reserved(net, name, bridge)
    for name, net in named[1:]:
        _block_size(net, name)
    _no_overlaps(named)
    subnet = _pod_subnet(
        labels.get("pods_network_subnet", DEFAULT_PODS_SUBNET), pods, "pods_network_subnet"
    )
    return {
        "pods_network_cidr": str(pods),
        "pods_network_subnet": str(subnet),
        "service_cluster_ip_range": str(service),
    }


def check_cni_pod_network(
    pod_cidr: object,
    pod_subnet: object,
    service: IPv4Network,
    node_subnets: list[IPv4Network],
    current_pods: IPv4Network | None,
) -> tuple[IPv4Network, int]:
    """The pod network of a CNI change: clear of reserved, service, node and current pod
    ranges, at least a /24, pod subnet size 20..28 and >= prefix + 2."""
    pods = parse(pod_cidr, "pod_cidr")
    _reserved(pods, "pod_cidr", bridge=False)
    _block_size(pods, "pod_cidr")
    _no_overlaps([("pod_cidr", pods), ("service_cluster_ip_range", service)])
    for subnet in node_subnets:
        _no_overlaps([("pod_cidr", pods), ("the node subnet", subnet)])
    if current_pods is not None:
        _no_overlaps([("pod_cidr", pods), ("the pod network in use", current_pods)])
    return pods, _pod_subnet(pod_subnet, pods, "pod_subnet")


def check_node_subnets(
    networks: Iterable[tuple[str, IPv4Network]], subnets: Iterable[tuple[str, str]], field: str
) -> None:
    """Additional node subnets (id, CIDR) must not overlap the pod or service network
    (UG §Creating Clusters); subnets whose CIDR is not configured cannot be checked."""
    named = list(networks)
    for subnet_id, text in subnets:
        net = ip_network(text)
        assert isinstance(net, IPv4Network)
        for name, other in named:
            if net.overlaps(other):
                raise BadRequest(f"{field} subnet {subnet_id} ({net}) overlaps {name} {other}.")
