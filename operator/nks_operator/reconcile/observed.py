"""NKS's answers (wire JSON) -> status fields and the drift of immutable fields.

NKS reports labels as strings ("True"/"true", colon-joined lists) and may add fields
the guide does not list, so everything here reads defensively.
"""

from __future__ import annotations

from typing import Any

from nks_operator.api.cluster import NKSClusterSpec
from nks_operator.api.nodegroup import NKSNodeGroupSpec
from nks_operator.api.worker import WorkerSpec

DEFAULT_WORKER = "default-worker"


def labels_of(item: dict[str, Any] | None) -> dict[str, Any]:
    labels = (item or {}).get("labels")
    return labels if isinstance(labels, dict) else {}


def label_flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None or value == "":
        return None
    return str(value).strip().lower() == "true"


def colon_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part for part in str(value).split(":") if part]


def _addresses(item: dict[str, Any] | None) -> list[str]:
    addresses = (item or {}).get("node_addresses")
    return [str(a) for a in addresses] if isinstance(addresses, list) else []


def cluster_status_fields(
    details: dict[str, Any], default_worker: dict[str, Any] | None
) -> dict[str, Any]:
    """Status fields (python names of NKSClusterStatus) from a cluster GET."""
    labels = labels_of(details)
    worker = default_worker or {}
    return {
        "cluster_id": details.get("uuid"),
        "nks_status": details.get("status"),
        "status_reason": details.get("status_reason"),
        "health_status": None
        if details.get("health_status") is None
        else str(details["health_status"]),
        "api_address": details.get("api_address"),
        "kubernetes_version": labels.get("kube_tag") or details.get("coe_version"),
        "node_count": worker.get("node_count", details.get("node_count")),
        "node_addresses": _addresses(worker) or _addresses(details),
        "certificate_expiry": labels.get("certificate_expiry"),
        "cni": labels.get("cni_driver"),
    }


def nodegroup_status_fields(cluster_id: str, nodegroup: dict[str, Any]) -> dict[str, Any]:
    labels = labels_of(nodegroup)
    return {
        "node_group_id": nodegroup.get("uuid"),
        "cluster_id": cluster_id,
        "nks_status": nodegroup.get("status"),
        "status_reason": nodegroup.get("status_reason"),
        "kubernetes_version": labels.get("kube_tag") or nodegroup.get("version"),
        "node_count": nodegroup.get("node_count"),
        "node_addresses": _addresses(nodegroup),
    }


def _drift(problems: list[str], field: str, desired: Any, actual: Any) -> None:
    if actual is None or actual == "" or desired is None:
        return  # NKS does not report it (older clusters): nothing to compare
    if str(desired) != str(actual):
        problems.append(
            f"{field} is immutable: NKS has {actual!r}, the spec asks for {desired!r} "
            "(revert the field, or create a new resource)"
        )


def _worker_drift(
    problems: list[str], prefix: str, worker: WorkerSpec, group: dict[str, Any]
) -> None:
    labels = labels_of(group)
    _drift(
        problems,
        f"{prefix}.imageID",
        worker.image_id,
        group.get("image_id") or labels.get("node_image"),
    )
    _drift(
        problems,
        f"{prefix}.availabilityZone",
        worker.availability_zone,
        labels.get("availability_zone"),
    )
    _drift(
        problems,
        f"{prefix}.bootVolume.type",
        worker.boot_volume.type,
        labels.get("boot_volume_type"),
    )
    _drift(
        problems,
        f"{prefix}.bootVolume.sizeGB",
        worker.boot_volume.size_gb,
        labels.get("boot_volume_size"),
    )


def cluster_drift(
    spec: NKSClusterSpec, name: str, details: dict[str, Any], default_worker: dict[str, Any] | None
) -> list[str]:
    """Immutable fields whose spec value differs from what NKS has: nothing may be sent."""
    problems: list[str] = []
    labels = labels_of(details)
    network = spec.network
    _drift(problems, "spec.clusterName", name, details.get("name"))
    _drift(problems, "spec.keypair", spec.keypair, details.get("keypair"))
    _drift(
        problems, "spec.network.vpcNetworkID", network.vpc_network_id, details.get("fixed_network")
    )
    _drift(problems, "spec.network.subnetID", network.subnet_id, details.get("fixed_subnet"))
    _drift(
        problems,
        "spec.network.externalNetworkID",
        network.external_network_id,
        labels.get("external_network_id"),
    )
    if network.external_subnet_ids and labels.get("external_subnet_id_list"):
        _drift(
            problems,
            "spec.network.externalSubnetIDs",
            ":".join(network.external_subnet_ids),
            ":".join(colon_list(labels.get("external_subnet_id_list"))),
        )
    _drift(
        problems,
        "spec.network.serviceClusterIPRange",
        network.service_cluster_ip_range,
        labels.get("service_cluster_ip_range"),
    )
    public = label_flag(labels.get("master_lb_floating_ip_enabled"))
    if public is not None and public != spec.api_endpoint.public_ip:
        problems.append(
            f"spec.apiEndpoint.publicIP is immutable: NKS has {public}, the spec asks for "
            f"{spec.api_endpoint.public_ip}"
        )
    strict = label_flag(labels.get("strict_sg_rules"))
    if strict is not None and strict != spec.strict_security_group_rules:
        problems.append(
            f"spec.strictSecurityGroupRules is immutable: NKS has {strict}, the spec asks for "
            f"{spec.strict_security_group_rules}"
        )
    if default_worker is not None:
        _worker_drift(problems, "spec.defaultWorker", spec.default_worker, default_worker)
    return problems


def nodegroup_drift(spec: NKSNodeGroupSpec, name: str, nodegroup: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    _drift(problems, "spec.nodeGroupName", name, nodegroup.get("name"))
    _worker_drift(problems, "spec", spec, nodegroup)
    return problems
