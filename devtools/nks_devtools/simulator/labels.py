"""Which labels belong where: the cluster, its worker groups, or NKS itself.

Create-cluster labels mix cluster settings with the default worker group's settings; the
simulator stores each on its owner and merges them back when it renders, so a change to
default-worker (autoscaler, user script, ...) shows in the cluster's labels as in NKS.

Answers carry labels as a string map, as Magnum stores them (docs/nks-api-notes.md,
"Labels"): lists and objects as JSON text, numbers as text, and the list-like labels
nobody set as `"[]"` (Live; or `""`, a knob), like the guide's `"user_script_v2": ""`.
Besides what was sent, answers carry the labels NKS keeps itself (Live):
`kube_version_status`, `upgradable_kube_versions`, `platform_version`,
`upgradable_platform_version`, and on node groups `node_list` and the metric autoscaler's
`mba_*` policies. Knobs decide the contested forms (`kube_version_status`,
`mba_enable_form`) and whether the settings no answer table lists show at all
(`setting_labels`).
"""

from __future__ import annotations

import json
from typing import Any

from nks_devtools.simulator import setting_rules, versions
from nks_devtools.simulator.config import SimulatorConfig
from nks_devtools.simulator.state import Cluster, NodeGroup

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
        # The current edition's per-group settings.
        "k8s_node_labels",
        "mba_scale_out",
        "mba_scale_in",
        "fip_auto_bind_enable",
        "fip_bind_subnet",
        "fip_selector",
        "ca_pod_replicas",
    }
)
# Settings no answer table lists: shown only with `setting_labels: shown`.
UNLISTED_SETTINGS = ("k8s_node_labels", *setting_rules.FIP_KEYS, "control_plane_log")
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


def group_defaults(config: SimulatorConfig) -> dict[str, Any]:
    """Labels NKS gives every new worker group: its platform version and the metric
    autoscaler's policies, off."""
    return {
        "platform_version": config.platform_version,
        **{key: dict(policy) for key, policy in setting_rules.MBA_DEFAULTS.items()},
    }


def version_status(tag: str, newest: str | None, config: SimulatorConfig) -> str:
    """`LATEST`, or the knob's value (Live `NEED_K8S_UPGRADE`, the examples `NEED_UPGRADE`)."""
    return "LATEST" if tag == newest else config.kube_version_status


def upgradable(current: str, ceiling: str | None, supported: dict[str, bool]) -> list[str]:
    """Versions one step up (a patch, or the next minor) from `current`, not past `ceiling`
    (a group cannot pass its control plane)."""
    now, top = versions.parse(current), versions.parse(ceiling) if ceiling else None
    if now is None:
        return []
    found = [
        (v, tag)
        for tag in supported
        if (v := versions.parse(tag)) is not None
        and v > now
        and versions.minor_steps(now, v) <= 1
        and (top is None or v <= top)
    ]
    return [tag for _, tag in sorted(found)]


def _settings_shown(labels: dict[str, Any], config: SimulatorConfig) -> dict[str, Any]:
    """The current edition's settings as answers show them (knobs for the unknown forms)."""
    shown = dict(labels)
    for key in setting_rules.MBA_KEYS:
        policy = shown.get(key)
        if isinstance(policy, dict) and config.mba_enable_form == "string":
            shown[key] = {**policy, "enable": "True" if policy.get("enable") else "False"}
    if config.setting_labels == "hidden":
        for key in UNLISTED_SETTINGS:
            shown.pop(key, None)
    return shown


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
    newest = versions.latest(config.supported_k8s)
    labels["kube_version_status"] = version_status(cluster.kube_tag, newest, config)
    labels["upgradable_kube_versions"] = upgradable(cluster.kube_tag, None, config.supported_k8s)
    labels["upgradable_platform_version"] = ""
    labels["api_ep_ipacl_enable"] = "true" if cluster.ipacl.enable else "false"
    return _answer(_settings_shown(labels, config), cluster.answer_labels, config)


def for_nodegroup(cluster: Cluster, ng: NodeGroup, config: SimulatorConfig) -> dict[str, Any]:
    inherited = {k: cluster.labels[k] for k in INHERITED_BY_GROUPS if k in cluster.labels}
    labels: dict[str, Any] = {**STATIC, **inherited, **ng.labels}
    labels["ca_image"] = CA_IMAGE
    # A group is measured against its control plane (Live: the cluster NEED_K8S_UPGRADE,
    # its group LATEST; a group's upgradable versions stay [] until the plane moves).
    labels["kube_version_status"] = version_status(ng.kube_tag, cluster.kube_tag, config)
    labels["upgradable_kube_versions"] = upgradable(
        ng.kube_tag, cluster.kube_tag, config.supported_k8s
    )
    labels["upgradable_platform_version"] = ""
    labels["node_list"] = ":".join(n.uuid for n in ng.nodes)
    labels["server_group_meta"] = f"k8s_{cluster.uuid}_{ng.uuid}"
    return _answer(_settings_shown(labels, config), ng.answer_labels, config)
