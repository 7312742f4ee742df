"""NKS answers shaped like the guide's examples (labels as strings), read by the NKS
client's models exactly as the client reads them for the operator."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from nks_operator.importer.inventory import ClusterRecord, Inventory, is_control_plane
from nks_operator.importer.nodes import Servers
from nks_operator.nks.compute import Server
from nks_operator.nks.listing import Listing
from nks_operator.nks.models import IPACL, Cluster, InstalledAddon, NodeGroup

CLUSTER_ID = "2b778d83-8b67-45b1-920e-b0c5ad5c2f30"
WORKER_ID = "018b06c5-1293-4081-8242-167a1cb9f262"
MASTER_ID = "9d5a4d4e-7d49-4b8e-a6bc-2e7b3f0c0e11"
NETWORK = "eb212079-b6ec-430c-ba57-14280a457bcb"
SUBNET = "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90"
FLAVOR = "6ef27f21-c774-4c0e-84ff-7dd4a762571f"
IMAGE = "f462a2a5-ba24-46d6-b7a1-9a9febcd3cfc"
VERSION = "v1.29.3"

SUPPORTED = {
    "v1.26.3": False,
    "v1.27.3": True,
    "v1.28.3": True,
    "v1.29.3": True,
    "v1.30.3": True,
}

WORKER_LABELS: dict[str, Any] = {
    "availability_zone": "kr2-pub-b",
    "boot_volume_size": "50",
    "boot_volume_type": "General HDD",
    "ca_enable": "False",
    "ca_max_node_count": "10",
    "ca_min_node_count": "1",
    "ca_scale_down_delay_after_add": "10",
    "ca_scale_down_enable": "True",
    "ca_scale_down_unneeded_time": "10",
    "ca_scale_down_util_thresh": "50",
    "kube_tag": VERSION,
    "node_image": IMAGE,
    "user_script_v2": "",
    "cert_manager_api": "True",
    "clusterautoscale": "nodegroupfeature",
    "master_lb_floating_ip_enabled": "true",
    "strict_sg_rules": "False",
    "login_username": "ubuntu",
}

CLUSTER_LABELS: dict[str, Any] = {
    **WORKER_LABELS,
    "cni_driver": "calico",
    "service_cluster_ip_range": "10.254.0.0/16",
    "pods_network_cidr": "10.100.0.0/16",
    "pods_network_subnet": "24",
    "term_of_validity": "5",
    "certificate_expiry": "2030-08-05T01:48:39+00:00",
    "kube_version_status": "LATEST",
    "etcd_volume_size": "10",
}


def _labels(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    labels = {**base, **changes}
    return {key: value for key, value in labels.items() if value is not None}


def cluster_json(labels: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A GET /v1/clusters/{id} answer; a label set to None is left out."""
    answer = {
        "uuid": CLUSTER_ID,
        "name": "shop",
        "status": "CREATE_COMPLETE",
        "status_reason": None,
        "api_address": "https://2b778d83-kr2-k8s.container.nhncloud.com:6443",
        "coe_version": VERSION,
        "keypair": "team-keypair",
        "flavor_id": FLAVOR,
        "fixed_network": NETWORK,
        "fixed_subnet": SUBNET,
        "node_count": 2,
        "create_timeout": 60,
        "created_at": "2021-08-05T01:48:39+00:00",
        "labels": _labels(CLUSTER_LABELS, labels or {}),
    }
    answer.update(fields)
    return answer


def nodegroup_json(
    name: str = "default-worker",
    uuid: str = WORKER_ID,
    labels: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A GET .../nodegroups/{id} answer; a label set to None is left out."""
    answer = {
        "uuid": uuid,
        "name": name,
        "cluster_id": CLUSTER_ID,
        "role": "worker",
        "is_default": name == "default-worker",
        "status": "CREATE_COMPLETE",
        "status_reason": "Stack CREATE completed successfully",
        "flavor_id": FLAVOR,
        "image_id": IMAGE,
        "node_count": 2,
        "min_node_count": 1,
        "max_node_count": None,
        "node_addresses": ["192.168.0.40", "192.168.0.19"],
        "version": None,
        "labels": _labels(WORKER_LABELS, labels or {}),
    }
    answer.update(fields)
    return answer


def control_plane_json() -> dict[str, Any]:
    """The list entry of `default-master` (its GET answers 403)."""
    return {
        "uuid": MASTER_ID,
        "name": "default-master",
        "role": "master",
        "is_default": True,
        "status": "CREATE_COMPLETE",
        "flavor_id": FLAVOR,
        "node_count": 1,
    }


def acl_json(
    enable: bool = False, action: str | None = None, targets: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """GET api_ep_ipacl, as in the guide's examples (`enable` as a string)."""
    if not enable:
        return {"cluster_uuid": CLUSTER_ID, "enable": "false"}
    return {
        "cluster_uuid": CLUSTER_ID,
        "enable": "true",
        "action": action,
        "ipacl_targets": list(targets),
    }


def record(
    cluster: dict[str, Any] | None = None,
    groups: Sequence[dict[str, Any]] | None = None,
    acl: dict[str, Any] | None = None,
    *,
    acl_error: str | None = None,
    addons: Sequence[dict[str, Any]] | None = (),
    addons_error: str | None = None,
) -> ClusterRecord:
    """A ClusterRecord as `inventory.read` builds it (`addons` None: the list unread)."""
    cluster = cluster if cluster is not None else cluster_json()
    groups = list(groups) if groups is not None else [nodegroup_json(), control_plane_json()]
    if acl is None and acl_error is None:
        acl = acl_json()
    nodegroups = {g["name"]: NodeGroup.model_validate(copy.deepcopy(g)) for g in groups}
    return ClusterRecord(
        cluster=Cluster.model_validate(copy.deepcopy(cluster)),
        nodegroups=nodegroups,
        ip_acl=None if acl is None else IPACL.model_validate(acl),
        ip_acl_error=acl_error,
        addons=None
        if addons is None
        else [InstalledAddon.model_validate(copy.deepcopy(a)) for a in addons],
        addons_error=addons_error,
    )


def server_id(address: str) -> str:
    """The instance UUID of the server with `address` (stable, so tests can name it)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"server/{address}"))


def server_json(address: str, status: str = "ACTIVE", **fields: Any) -> dict[str, Any]:
    """One server of `GET servers/detail`, as NHN's Instance API documents it."""
    answer = {
        "id": server_id(address),
        "name": f"shop-node-{address.rsplit('.', 1)[-1]}",
        "status": status,
        "addresses": {
            "vpc-eb212079": [
                {"addr": address, "version": 4, "OS-EXT-IPS:type": "fixed"},
            ]
        },
        "OS-EXT-STS:power_state": 4 if status == "SHUTOFF" else 1,
    }
    answer.update(fields)
    return answer


def servers(*answers: dict[str, Any]) -> Servers:
    return Servers(Listing(Server.model_validate(a) for a in answers))


def running(records: Iterable[ClusterRecord], stopped: Sequence[str] = ()) -> Servers:
    """A server for every node address of the records' worker groups; `stopped` addresses
    are SHUTOFF."""
    return servers(
        *(
            server_json(address, "SHUTOFF" if address in stopped else "ACTIVE")
            for rec in records
            for group in rec.nodegroups.values()
            if not is_control_plane(group)
            for address in group.node_addresses or []
        )
    )


def inventory(
    *records: ClusterRecord,
    supported: dict[str, bool] | None = None,
    servers: Servers | None = None,
) -> Inventory:
    """An inventory; by default every node is a running server."""
    return Inventory(
        list(records),
        dict(supported or SUPPORTED),
        servers=servers if servers is not None else running(records),
    )
