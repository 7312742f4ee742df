"""NKS's answers (typed models) -> status fields and the drift of immutable fields.

A field NKS does not report (older clusters, an unreadable label) is unknown: it is left
out of status and never counts as drift.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, NamedTuple

from nks_operator.api.cluster import ClusterHealth, NKSClusterSpec, NodeGroupHealth
from nks_operator.api.nodegroup import NKSNodeGroupSpec
from nks_operator.api.worker import WorkerSpec
from nks_operator.nks.models import Cluster, NodeGroup
from nks_operator.nks.models.metric_autoscaler import MetricPolicyState


def cluster_status_fields(cluster: Cluster, default_worker: NodeGroup | None) -> dict[str, Any]:
    """Status fields (python names of NKSClusterStatus) from a cluster GET."""
    labels = cluster.labels
    worker_count = default_worker.node_count if default_worker is not None else None
    addresses = default_worker.node_addresses if default_worker is not None else None
    if not addresses:
        addresses = cluster.node_addresses or addresses
    return {
        "cluster_id": cluster.uuid,
        "nks_status": cluster.status,
        "status_reason": cluster.status_reason,
        "health_status": cluster.health_status,
        "api_address": cluster.api_address,
        "kubernetes_version": cluster.kubernetes_version,
        "node_count": worker_count if worker_count is not None else cluster.node_count,
        "node_addresses": _listed(addresses),
        "certificate_expiry": labels.certificate_expiry,
        "cni": labels.cni_driver,
    }


def cluster_health_fields(cluster: Cluster) -> dict[str, Any]:
    """`health`, `upgradableVersions` and `platformVersion` (python names of
    NKSClusterStatus) from a cluster GET; what NKS does not show is left out (None)."""
    return {
        "health": cluster_health(cluster),
        "upgradable_versions": cluster.upgradable_versions,
        "platform_version": cluster.platform_version,
    }


def cluster_health(cluster: Cluster) -> ClusterHealth | None:
    """The current edition's `health_status` (FRESH / STALE / ROTTEN) and its structured
    reason, per worker group; None when NKS shows neither."""
    fresh = cluster.health
    reason = cluster.health_reason
    if fresh is None and reason is None:
        return None
    health = ClusterHealth(freshness=None if fresh is None else fresh.value)
    if reason is None:
        return health
    groups = sorted(set(reason.group_node_status) | set(reason.group_nodes))
    health.refreshed_at = _rfc3339(reason.timestamp)
    health.api, health.api_status, health.node_status = (
        reason.api,
        reason.api_status,
        reason.node_status,
    )
    health.node_groups = [
        NodeGroupHealth(
            name=name,
            node_status=reason.group_node_status.get(name),
            ready_nodes=counts.ready if (counts := reason.group_nodes.get(name)) else None,
            not_ready_nodes=counts.not_ready if counts else None,
        )
        for name in groups
    ] or None
    return health


def _rfc3339(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # Live sends no offset: UTC
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def nodegroup_status_fields(cluster_id: str, group: NodeGroup) -> dict[str, Any]:
    return {
        "node_group_id": group.uuid,
        "cluster_id": cluster_id,
        "nks_status": group.status,
        "status_reason": group.status_reason,
        "kubernetes_version": group.labels.kube_tag or group.version,
        "node_count": group.node_count,
        "node_addresses": _listed(group.node_addresses),
    }


def _listed(values: Any) -> list[Any] | None:
    """An unreadable list (None) stays unknown instead of reading as empty."""
    return None if values is None else list(values)


class Drift(NamedTuple):
    """An immutable field whose spec value differs from what NKS has."""

    field: str  # e.g. spec.network.subnetID
    message: str


def _drift(problems: list[Drift], field: str, desired: Any, actual: Any) -> None:
    if actual is None or actual == "" or desired is None:
        return  # NKS does not report it (older clusters): nothing to compare
    if str(desired) != str(actual):
        problems.append(
            Drift(
                field,
                f"{field} is immutable: NKS has {actual!r}, the spec asks for {desired!r} "
                "(revert the field, or create a new resource)",
            )
        )


def _flag_drift(problems: list[Drift], field: str, desired: bool, actual: bool | None) -> None:
    if actual is not None and actual != desired:
        problems.append(
            Drift(field, f"{field} is immutable: NKS has {actual}, the spec asks for {desired}")
        )


def _worker_drift(problems: list[Drift], prefix: str, worker: WorkerSpec, group: NodeGroup) -> None:
    labels = group.labels
    _drift(problems, f"{prefix}.imageID", worker.image_id, group.image_id or labels.node_image)
    _drift(
        problems, f"{prefix}.availabilityZone", worker.availability_zone, labels.availability_zone
    )
    _drift(problems, f"{prefix}.bootVolume.type", worker.boot_volume.type, labels.boot_volume_type)
    _drift(
        problems, f"{prefix}.bootVolume.sizeGB", worker.boot_volume.size_gb, labels.boot_volume_size
    )


def cluster_drift(
    spec: NKSClusterSpec, name: str, cluster: Cluster, default_worker: NodeGroup | None
) -> list[Drift]:
    """Immutable fields whose spec value differs from what NKS has: nothing may be sent."""
    problems: list[Drift] = []
    labels = cluster.labels
    network = spec.network
    _drift(problems, "spec.clusterName", name, cluster.name)
    _drift(problems, "spec.keypair", spec.keypair, cluster.keypair)
    _drift(problems, "spec.network.vpcNetworkID", network.vpc_network_id, cluster.fixed_network)
    _drift(problems, "spec.network.subnetID", network.subnet_id, cluster.fixed_subnet)
    _drift(
        problems,
        "spec.network.externalNetworkID",
        network.external_network_id,
        labels.external_network_id,
    )
    if network.external_subnet_ids and labels.external_subnet_ids:
        # A set: NKS may answer the ids in another order than they were sent (the provider
        # compares them sorted, for that reason).
        _drift(
            problems,
            "spec.network.externalSubnetIDs",
            ":".join(sorted(i.lower() for i in network.external_subnet_ids)),
            ":".join(sorted(i.lower() for i in labels.external_subnet_ids)),
        )
    _drift(
        problems,
        "spec.network.serviceClusterIPRange",
        network.service_cluster_ip_range,
        labels.service_cluster_ip_range,
    )
    _flag_drift(
        problems,
        "spec.apiEndpoint.publicIP",
        spec.public_endpoint,
        labels.master_lb_floating_ip_enabled,
    )
    _flag_drift(
        problems,
        "spec.strictSecurityGroupRules",
        spec.strict_security_group_rules,
        labels.strict_sg_rules,
    )
    if default_worker is not None:
        _worker_drift(problems, "spec.defaultWorker", spec.default_worker, default_worker)
    return problems


def etcd_encryption_drift(spec: NKSClusterSpec, cluster: Cluster) -> list[Drift]:
    """The SKM key etcd is encrypted with (`labels.skm`) is set at create only: drift when
    NKS shows another key than the spec's. No key in the spec, or none shown (older
    clusters, an answer without the label), is nothing to compare."""
    problems: list[Drift] = []
    shown = cluster.labels.skm
    desired = spec.etcd_encryption
    _drift(
        problems,
        "spec.etcdEncryption.keyID",
        None if desired is None else desired.key_id,
        None if shown is None else shown.key_id,
    )
    return problems


def nodegroup_drift(spec: NKSNodeGroupSpec, name: str, group: NodeGroup) -> list[Drift]:
    problems: list[Drift] = []
    _drift(problems, "spec.nodeGroupName", name, group.name)
    _worker_drift(problems, "spec", spec, group)
    return problems


# -- the current edition's group settings -----------------------------------------------
# Whether NKS shows the value the spec asks for: True / False, or None when its answer does
# not show the setting (how answers show node labels and floating IP auto-bind is unknown;
# docs/nks-api-notes.md, "The current edition"). An unreadable part is unknown and never a
# difference by itself. `wanted` is the value as it is sent (reconcile/payloads.py).


def node_labels_shown(wanted: Mapping[str, str], group: NodeGroup) -> bool | None:
    shown = group.labels.k8s_node_labels
    return None if shown is None else dict(shown) == dict(wanted)


def floating_ip_shown(wanted: Mapping[str, Any], group: NodeGroup) -> bool | None:
    labels = group.labels
    if labels.fip_auto_bind_enable is None:
        return None
    if labels.fip_auto_bind_enable != wanted["enable"]:
        return False
    if not wanted["enable"]:
        return True
    subnet = labels.fip_bind_subnet or None
    if subnet is not None and subnet != wanted["subnet"]:
        return False
    # While NKS shows the setting, a selector it does not show is none.
    return bool((labels.fip_selector or None) == wanted["selector"])


def _policy_shown(wanted: Mapping[str, Any], shown: MetricPolicyState | None) -> bool | None:
    if shown is None or shown.enable is None:
        return None
    if shown.enable != wanted["enable"]:
        return False
    if not wanted["enable"]:
        return True  # the rest of a policy that is off does not matter
    for key in ("max_node_count", "min_node_count", "delay", "adjustment_count"):
        actual = getattr(shown, key)
        if key in wanted and actual is not None and actual != wanted[key]:
            return False
    operator = shown.rules_operator
    if operator is not None and operator.upper() != wanted["rules_operator"]:
        return False  # the current edition's example sends "or": compared in any case
    if shown.rules is not None:
        have = [(r.metric, r.threshold, r.duration) for r in shown.rules]
        want = [(r["metric"], r["threshold"], r["duration"]) for r in wanted["rules"]]
        if all(None not in rule for rule in have) and sorted(have) != sorted(want):
            return False
    return True


def metric_autoscaler_shown(wanted: Mapping[str, Any], group: NodeGroup) -> bool | None:
    """Both policies (`mba_scale_out` / `mba_scale_in` labels) as NKS shows them."""
    found = [
        _policy_shown(wanted["mba_scale_out"], group.labels.mba_scale_out),
        _policy_shown(wanted["mba_scale_in"], group.labels.mba_scale_in),
    ]
    if False in found:
        return False
    return None if None in found else True


def metric_autoscaler_on(group: NodeGroup) -> bool:
    """NKS shows a metric autoscaler policy on: then it chooses the node count."""
    policies = (group.labels.mba_scale_out, group.labels.mba_scale_in)
    return any(policy is not None and policy.enable for policy in policies)


def unreadable_fields(model: Any) -> dict[str, str]:
    """Fields of an NKS answer that could not be read (unknown values, see nks/models)."""
    found = getattr(model, "unreadable", None)
    return dict(found) if isinstance(found, dict) else {}
