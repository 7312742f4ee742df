"""Which labels belong where: the cluster, its worker groups, or NKS itself.

Create-cluster labels mix cluster settings with the default worker group's settings; the
simulator stores each on its owner and merges them back when it renders, so a change to
default-worker (autoscaler, user script, ...) shows in the cluster's labels as in NKS.

Answers carry labels as a string map, as Magnum stores them (docs/nks-api-notes.md,
"Labels"): lists as JSON text, numbers as text, and the list-like labels nobody set as
`""` (or `"[]"`, a knob), like the guide's `"user_script_v2": ""`.
"""

from __future__ import annotations

import json
from typing import Any

from nks_operator.simulator import versions
from nks_operator.simulator.config import SimulatorConfig
from nks_operator.simulator.state import Cluster, NodeGroup

CLUSTER_REQUIRED = (
    "availability_zone",
    "node_image",
    "boot_volume_type",
    "boot_volume_size",
    "cert_manager_api",
    "ca_enable",
    "kube_tag",
    "master_lb_floating_ip_enabled",
)
NODEGROUP_REQUIRED = ("availability_zone", "boot_volume_type", "boot_volume_size", "ca_enable")

WORKER_KEYS = frozenset(
    {
        "availability_zone",
        "node_image",
        "boot_volume_type",
        "boot_volume_size",
        "boot_volume_key_id",
        "boot_volume_appkey",
        "ca_enable",
        "ca_max_node_count",
        "ca_min_node_count",
        "ca_scale_down_enable",
        "ca_scale_down_unneeded_time",
        "ca_scale_down_util_thresh",
        "ca_scale_down_delay_after_add",
        "user_script",
        "user_script_v2",
        "additional_network_id_list",
        "additional_subnet_id_list",
        "extra_security_groups",
        "extra_volumes",
    }
)
INHERITED_BY_GROUPS = (
    "external_network_id",
    "external_subnet_id_list",
    "cert_manager_api",
    "master_lb_floating_ip_enabled",
    "strict_sg_rules",
)
STATIC = {
    # Set by NKS on every cluster; shown as in the guide's examples.
    "clusterautoscale": "nodegroupfeature",
    "etcd_volume_size": "10",
    "flavor_type": "core",
    "hypervisor_type": "qemu",
    "login_username": "ubuntu",
    "os_arch": "amd64",
    "os_distro": "Ubuntu",
    "os_type": "linux",
    "os_version": "22.04",
    "project_domain": "NORMAL",
}
CA_IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler:v1.28.0"
# Worker labels every answer carries, empty when unset (the guide's and live answers).
EMPTY_TEXT = ("user_script_v2", "additional_network_id_list", "additional_subnet_id_list")
EMPTY_LISTS = ("extra_security_groups", "extra_volumes")


def version_status(tag: str, supported: dict[str, bool]) -> str:
    return "LATEST" if tag == versions.latest(supported) else "NEED_UPGRADE"


def as_text(value: Any) -> str:
    """A label value as the string NKS answers with."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(", ", ": "))


def _answer(
    labels: dict[str, Any], overrides: dict[str, Any], config: SimulatorConfig
) -> dict[str, Any]:
    """The label map as answered; `overrides` (admin) are shown verbatim, None hides one."""
    empty = {key: "" for key in EMPTY_TEXT} | {key: config.empty_list_label for key in EMPTY_LISTS}
    answer: dict[str, Any] = {key: as_text(value) for key, value in {**empty, **labels}.items()}
    for key, value in overrides.items():
        if value is None:
            answer.pop(key, None)
        else:
            answer[key] = value
    return answer


def for_cluster(cluster: Cluster, config: SimulatorConfig) -> dict[str, Any]:
    labels: dict[str, Any] = {**STATIC, **cluster.labels}
    worker = cluster.default_worker
    if worker is not None:
        labels.update({k: v for k, v in worker.labels.items() if k in WORKER_KEYS})
        labels["server_group_meta"] = f"k8s_{cluster.uuid}_{worker.uuid}"
    labels["kube_tag"] = cluster.kube_tag
    labels["kube_version_status"] = version_status(cluster.kube_tag, config.supported_k8s)
    labels["api_ep_ipacl_enable"] = "true" if cluster.ipacl.enable else "false"
    return _answer(labels, cluster.answer_labels, config)


def for_nodegroup(cluster: Cluster, ng: NodeGroup, config: SimulatorConfig) -> dict[str, Any]:
    inherited = {k: cluster.labels[k] for k in INHERITED_BY_GROUPS if k in cluster.labels}
    labels: dict[str, Any] = {**STATIC, **inherited, **ng.labels}
    labels["ca_image"] = CA_IMAGE
    labels["kube_version_status"] = version_status(ng.kube_tag, config.supported_k8s)
    labels["server_group_meta"] = f"k8s_{cluster.uuid}_{ng.uuid}"
    return _answer(labels, ng.answer_labels, config)
