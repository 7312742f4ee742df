"""Checks NKS applies that the CRD schema cannot express, run before any NKS call.

Each check returns human-readable problems naming the field, so the same text can go
to a condition, an Event and (later) an admission webhook answer.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

from nks_operator.api.base import NAME_PATTERN
from nks_operator.api.cluster import ControlPlaneLog, NKSClusterSpec
from nks_operator.api.nodegroup import NKSNodeGroupSpec
from nks_operator.api.worker import WorkerSpec
from nks_operator.reconcile import versions

LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
NKS_INTERNAL = ipaddress.ip_network("198.18.0.0/19")
DOCKER_BRIDGE = ipaddress.ip_network("172.17.0.0/16")
# Clusters up to this version still run the Docker bridge network.
LAST_VERSION_WITH_BRIDGE = "v1.23.3"
_UUID_LIKE = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_NAME = re.compile(NAME_PATTERN)


def nks_name_problems(field: str, name: str) -> list[str]:
    """NKS's name rules: <= 20 chars of [a-z0-9-], letter first, letter/digit last, no UUID."""
    if len(name) > 20:
        return [f"{field} {name!r} is longer than 20 characters (NKS limit); set it explicitly"]
    if not _NAME.match(name):
        return [
            f"{field} {name!r} must consist of [a-z0-9-], start with a letter and end with "
            "a letter or digit"
        ]
    if _UUID_LIKE.match(name):
        return [f"{field} {name!r} must not look like a UUID"]
    return []


def _network(field: str, value: str, problems: list[str]) -> ipaddress.IPv4Network | None:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        problems.append(f"{field} {value!r} is not a valid network CIDR: {error}")
        return None
    if not isinstance(network, ipaddress.IPv4Network):
        problems.append(f"{field} {value!r} must be an IPv4 CIDR")
        return None
    return network


def cidr_problems(cidrs: Mapping[str, str | None], kubernetes_version: str | None) -> list[str]:
    """The guide's rules for fixed_subnet / pods_network_cidr / service_cluster_ip_range."""
    problems: list[str] = []
    networks: dict[str, ipaddress.IPv4Network] = {}
    for field, value in cidrs.items():
        if value is None:
            continue
        network = _network(field, value, problems)
        if network is None:
            continue
        networks[field] = network
        problems.extend(_range_problems(field, value, network, kubernetes_version))
    fields = list(networks)
    for i, first in enumerate(fields):
        for second in fields[i + 1 :]:
            if networks[first].overlaps(networks[second]):
                problems.append(f"{first} {networks[first]} overlaps {second} {networks[second]}")
    return problems


def _range_problems(
    field: str, value: str, network: ipaddress.IPv4Network, kubernetes_version: str | None
) -> list[str]:
    """One CIDR's own rules: its size and the ranges NKS keeps for itself."""
    problems: list[str] = []
    if network.prefixlen > 24:
        problems.append(f"{field} {value} is smaller than /24 (NKS needs a prefix of /24 or less)")
    if network.overlaps(LINK_LOCAL):
        problems.append(f"{field} {value} overlaps the link-local range {LINK_LOCAL}")
    if network.overlaps(NKS_INTERNAL):
        problems.append(f"{field} {value} overlaps {NKS_INTERNAL}, which NKS uses internally")
    if (
        kubernetes_version is not None
        and versions.compare(kubernetes_version, LAST_VERSION_WITH_BRIDGE) <= 0
        and network.overlaps(DOCKER_BRIDGE)
    ):
        problems.append(
            f"{field} {value} overlaps the Docker bridge {DOCKER_BRIDGE}, used by clusters "
            f"of {LAST_VERSION_WITH_BRIDGE} or earlier"
        )
    return problems


def pods_subnet_problems(field: str, subnet: int | None, pods_cidr: str | None) -> list[str]:
    """Pod subnet size: 20..28 and at least 2 more than the pod network's prefix."""
    if subnet is None:
        return []
    problems = []
    if not 20 <= subnet <= 28:
        problems.append(f"{field} {subnet} must be between 20 and 28")
    if pods_cidr is not None:
        try:
            prefix = ipaddress.ip_network(pods_cidr, strict=False).prefixlen
        except ValueError:
            return problems  # reported by the CIDR check
        if subnet < prefix + 2:
            problems.append(
                f"{field} {subnet} must be at least the pod network prefix + 2 "
                f"({pods_cidr} -> at least {prefix + 2})"
            )
    return problems


def version_problems(
    field: str, version: str, supported: Mapping[str, bool] | None, *, for_create: bool
) -> list[str]:
    """A version NKS lists; for a new cluster one it marks as usable (true)."""
    if supported is None:  # not fetched yet: NKS itself will refuse a bad one
        return []
    if version not in supported:
        listed = ", ".join(sorted(supported, key=lambda v: versions.parse(v) or (0, 0, 0)))
        return [f"{field} {version} is not a version NKS supports (NKS lists: {listed})"]
    if for_create and not supported[version]:
        usable = ", ".join(v for v, ok in supported.items() if ok)
        return [
            f"{field} {version} can no longer be used for new clusters or node groups "
            f"(usable: {usable})"
        ]
    return []


def worker_problems(prefix: str, worker: WorkerSpec) -> list[str]:
    problems: list[str] = []
    if worker.autoscaler is not None and worker.autoscaler.enabled:
        scaler = worker.autoscaler
        if not scaler.min_nodes <= worker.node_count <= scaler.max_nodes:
            problems.append(
                f"{prefix}.nodeCount {worker.node_count} must lie within "
                f"autoscaler.minNodes..maxNodes ({scaler.min_nodes}..{scaler.max_nodes}) "
                "while the autoscaler is enabled"
            )
    volume = worker.boot_volume
    if (volume.key_id is None) != (volume.app_key_secret_ref is None):
        problems.append(
            f"{prefix}.bootVolume.keyID and appKeySecretRef must be set together "
            "(an encrypted volume needs both)"
        )
    for index, extra in enumerate(worker.extra_volumes):
        if (extra.key_id is None) != (extra.app_key_secret_ref is None):
            problems.append(
                f"{prefix}.extraVolumes[{index}].keyID and appKeySecretRef must be set together"
            )
    subnets = [group.target_subnet_id for group in worker.extra_security_groups]
    for subnet in sorted({s for s in subnets if subnets.count(s) > 1}):
        problems.append(f"{prefix}.extraSecurityGroups lists subnet {subnet} more than once")
    problems += autoscalers_problems(prefix, worker)
    return problems


def autoscalers_problems(prefix: str, worker: WorkerSpec) -> list[str]:
    """One autoscaler per group: the user guide's "Autoscaler cannot be enabled multiple
    times", read as the cluster autoscaler and the metric-based autoscaler never both on
    (the project's reading; docs/nks-api-notes.md, "Operation rules")."""
    cluster_on = worker.autoscaler is not None and worker.autoscaler.enabled
    metric_on = worker.metric_autoscaler is not None and worker.metric_autoscaler.enabled
    if cluster_on and metric_on:
        return [
            f"{prefix}.autoscaler and {prefix}.metricAutoscaler cannot both be enabled: NKS "
            "runs one autoscaler per node group (turn one of them off)"
        ]
    return []


def floating_ip_subnet_problems(
    prefix: str, worker: WorkerSpec, cluster_subnet: str | None
) -> list[str]:
    """Floating IPs bind to the cluster's subnet or one of the group's additional subnets
    (docs/nks-api-notes.md, "Floating IP auto-bind"); `cluster_subnet` None: not known
    here (the operator checks once it knows the cluster)."""
    fip = worker.floating_ip_auto_bind
    if fip is None or not fip.enabled or fip.subnet_id is None or cluster_subnet is None:
        return []
    allowed = [cluster_subnet, *(n.subnet_id for n in worker.additional_networks)]
    if fip.subnet_id in allowed:
        return []
    return [
        f"{prefix}.floatingIPAutoBind.subnetID {fip.subnet_id} must be the cluster's subnet "
        f"({cluster_subnet}) or a subnet of {prefix}.additionalNetworks"
    ]


def control_plane_log_problems(log: ControlPlaneLog | None) -> list[str]:
    """What NKS needs to ship the control plane's logs: a destination, its service
    gateway, and the destination's own settings (only those)."""
    if log is None or not log.enabled:
        return []
    field = "spec.controlPlaneLog"
    problems = [
        f"{field}.{name} is required when enabled is true"
        for name, value in (
            ("destination", log.destination),
            ("serviceGatewayID", log.service_gateway_id),
        )
        if value is None
    ]
    wanted = log.destination
    for name, value in (("lncs", log.lncs), ("obs", log.obs)):
        if wanted == name and value is None:
            problems.append(f"{field}.{name} is required with destination {name}")
        elif wanted is not None and wanted != name and value is not None:
            problems.append(f"{field}.{name} is set, but the destination is {wanted}")
    return problems


def cluster_problems(
    spec: NKSClusterSpec,
    metadata_name: str,
    supported: Mapping[str, bool] | None,
    *,
    for_create: bool,
) -> list[str]:
    """Everything wrong with an NKSCluster spec that NKS would refuse (or that is unsafe)."""
    name_field = "spec.clusterName" if spec.cluster_name else "metadata.name (as clusterName)"
    problems = nks_name_problems(name_field, spec.cluster_name or metadata_name)
    problems += version_problems(
        "spec.kubernetesVersion", spec.kubernetes_version, supported, for_create=for_create
    )
    network = spec.network
    problems += cidr_problems(
        {
            "spec.network.podsNetworkCIDR": network.pods_network_cidr,
            "spec.network.serviceClusterIPRange": network.service_cluster_ip_range,
        },
        spec.kubernetes_version,
    )
    problems += pods_subnet_problems(
        "spec.network.podsNetworkSubnet", network.pods_network_subnet, network.pods_network_cidr
    )
    if for_create and spec.api_endpoint.public_ip and not network.has_external_network:
        problems.append(
            "spec.apiEndpoint.publicIP true needs spec.network.externalNetworkID and "
            "externalSubnetIDs (NKS gives the API endpoint a public address only through an "
            "internet gateway network); leave publicIP unset to follow the network"
        )
    acl = spec.api_endpoint.ip_access_control
    if acl is not None:
        if acl.enabled and not acl.targets:
            problems.append("spec.apiEndpoint.ipAccessControl.targets is empty but enabled is true")
        for index, target in enumerate(acl.targets):
            try:
                ipaddress.ip_network(target.cidr, strict=False)
            except ValueError as error:
                problems.append(
                    f"spec.apiEndpoint.ipAccessControl.targets[{index}].cidr {target.cidr!r}: "
                    f"{error}"
                )
    names = [addon.name for addon in spec.addons]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"spec.addons lists {name!r} more than once")
    problems += control_plane_log_problems(spec.control_plane_log)
    problems += worker_problems("spec.defaultWorker", spec.default_worker)
    problems += floating_ip_subnet_problems(
        "spec.defaultWorker", spec.default_worker, spec.network.subnet_id
    )
    return problems


def nodegroup_problems(
    spec: NKSNodeGroupSpec,
    metadata_name: str,
    supported: Mapping[str, bool] | None,
    *,
    for_create: bool,
    cluster_subnet: str | None = None,
) -> list[str]:
    name_field = (
        "spec.nodeGroupName" if spec.node_group_name else "metadata.name (as nodeGroupName)"
    )
    problems = nks_name_problems(name_field, spec.node_group_name or metadata_name)
    name = spec.node_group_name or metadata_name
    if name in ("default-worker", "default-master"):
        problems.append(f"{name_field} {name!r} is reserved by NKS")
    if spec.kubernetes_version is not None:
        problems += version_problems(
            "spec.kubernetesVersion", spec.kubernetes_version, supported, for_create=False
        )
    problems += worker_problems("spec", spec)
    problems += floating_ip_subnet_problems("spec", spec, cluster_subnet)
    if spec.stopped_nodes and len(set(spec.stopped_nodes)) != len(spec.stopped_nodes):
        problems.append("spec.stoppedNodes lists a node more than once")
    return problems
