"""Spec -> the exact JSON bodies of NKS's "Create a Cluster" and "Create a Node Group".

NKS wants label values as strings ("True"/"False", numbers as text), lists joined by
colons, arrays only for extra_security_groups / extra_volumes, and the user script
base64-encoded (docs/nks-api-notes.md, "Requests" and "User script"). `addons` and
`api_ep_ipacl` are newer than the guide and sent only when the spec sets them ("Create");
so are the current edition's `control_plane_log` and `skm` labels. The current edition's
group settings (node labels, metric autoscaler, floating IP auto-bind) go with the create
as labels, objects as JSON text, and the same values make the bodies of their own calls
("The current edition"). App keys (encrypted volumes, Log & Crash Search) come from
Secrets and are passed in already resolved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nks_operator.api.base import SecretKeyReference
from nks_operator.api.cluster import ControlPlaneLog, IPAccessControl, Network, NKSClusterSpec
from nks_operator.api.nodegroup import NKSNodeGroupSpec
from nks_operator.api.worker import (
    Autoscaler,
    FloatingIPAutoBind,
    MetricAutoscaler,
    ScalePolicy,
    WorkerSpec,
)
from nks_operator.nks.userscript import encode_user_script

SecretValues = Mapping[tuple[str, str], str]  # (secret name, key) -> value


def flag(value: bool) -> str:
    return "True" if value else "False"


def _secret(ref: SecretKeyReference | None, secrets: SecretValues) -> str | None:
    return None if ref is None else secrets[(ref.name, ref.key)]


def autoscaler_labels(autoscaler: Autoscaler | None) -> dict[str, str]:
    """The ca_* labels (also the body of POST .../autoscale)."""
    if autoscaler is None or not autoscaler.enabled:
        return {"ca_enable": "False"}
    down = autoscaler.scale_down
    labels = {
        "ca_enable": "True",
        "ca_min_node_count": str(autoscaler.min_nodes),
        "ca_max_node_count": str(autoscaler.max_nodes),
        "ca_scale_down_enable": flag(down.enabled),
        "ca_scale_down_unneeded_time": str(down.unneeded_time_minutes),
        "ca_scale_down_util_thresh": str(down.utilization_threshold_percent),
        "ca_scale_down_delay_after_add": str(down.delay_after_add_minutes),
    }
    if autoscaler.pod_replicas is not None:
        labels["ca_pod_replicas"] = str(autoscaler.pod_replicas)
    return labels


def json_label(value: Any) -> str:
    """An object as the JSON text NKS keeps in a label (the NKS models write the same)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _scale_policy(policy: ScalePolicy | None, count: Mapping[str, int]) -> dict[str, Any]:
    if policy is None:
        return {"enable": False}
    return {
        "enable": policy.enabled,
        **count,
        "rules_operator": policy.rules_operator,
        "delay": policy.delay_minutes,
        "adjustment_count": policy.adjustment_count,
        "rules": [
            {"metric": r.metric, "threshold": r.threshold, "duration": r.duration_minutes}
            for r in policy.rules
        ],
    }


def metric_autoscaler_policies(desired: MetricAutoscaler | None) -> dict[str, dict[str, Any]]:
    """`mba_scale_out` / `mba_scale_in`, whole policies (whether NKS keeps omitted fields is
    unknown); absent is off. The body of `PATCH ... type: metric_base_autoscale` and, as
    JSON text, the create labels."""
    out = desired.scale_out if desired is not None else None
    scale_in = desired.scale_in if desired is not None else None
    return {
        "mba_scale_out": _scale_policy(out, {"max_node_count": out.max_nodes} if out else {}),
        "mba_scale_in": _scale_policy(
            scale_in, {"min_node_count": scale_in.min_nodes} if scale_in else {}
        ),
    }


def floating_ip_settings(fip: FloatingIPAutoBind) -> dict[str, Any]:
    """The arguments of `set_fip_auto_bind` (a JSON boolean in the change's body)."""
    return {"enable": fip.enabled, "subnet": fip.subnet_id, "selector": fip.selector}


def setting_labels(worker: WorkerSpec) -> dict[str, str]:
    """The create labels of the group settings the spec manages (absent: not sent)."""
    labels: dict[str, str] = {}
    if worker.node_labels is not None:
        labels["k8s_node_labels"] = json_label(worker.node_labels)
    if worker.metric_autoscaler is not None:
        for key, policy in metric_autoscaler_policies(worker.metric_autoscaler).items():
            labels[key] = json_label(policy)
    fip = worker.floating_ip_auto_bind
    if fip is not None:
        labels["fip_auto_bind_enable"] = flag(fip.enabled)
        if fip.subnet_id is not None:
            labels["fip_bind_subnet"] = fip.subnet_id
        if fip.selector is not None:
            labels["fip_selector"] = fip.selector
    return labels


def _worker_labels(worker: WorkerSpec, secrets: SecretValues) -> dict[str, Any]:
    labels: dict[str, Any] = {
        "availability_zone": worker.availability_zone,
        "boot_volume_type": worker.boot_volume.type,
        "boot_volume_size": str(worker.boot_volume.size_gb),
        **autoscaler_labels(worker.autoscaler),
    }
    if worker.boot_volume.key_id is not None:
        labels["boot_volume_key_id"] = worker.boot_volume.key_id
        labels["boot_volume_appkey"] = _secret(worker.boot_volume.app_key_secret_ref, secrets)
    if worker.user_script is not None:
        labels["user_script_v2"] = encode_user_script(worker.user_script)
    if worker.additional_networks:
        labels["additional_network_id_list"] = ":".join(
            n.network_id for n in worker.additional_networks
        )
        labels["additional_subnet_id_list"] = ":".join(
            n.subnet_id for n in worker.additional_networks
        )
    if worker.extra_security_groups:
        labels["extra_security_groups"] = [
            {
                "target_subnet": group.target_subnet_id,
                "security_group_ids": ",".join(group.security_group_ids),
            }
            for group in worker.extra_security_groups
        ]
    if worker.extra_volumes:
        volumes = []
        for volume in worker.extra_volumes:
            entry: dict[str, Any] = {"volume_type": volume.type, "volume_size": volume.size_gb}
            if volume.mount_path is not None:
                entry["volume_mount_path"] = volume.mount_path
            if volume.key_id is not None:
                entry["volume_key_id"] = volume.key_id
                entry["volume_appkey"] = _secret(volume.app_key_secret_ref, secrets)
            volumes.append(entry)
        labels["extra_volumes"] = volumes
    labels.update(setting_labels(worker))
    return labels


def secret_refs(worker: WorkerSpec) -> list[SecretKeyReference]:
    """Secrets a worker spec needs resolved before a create call."""
    refs = [worker.boot_volume.app_key_secret_ref]
    refs += [volume.app_key_secret_ref for volume in worker.extra_volumes]
    return [ref for ref in refs if ref is not None]


def control_plane_log_secret(log: ControlPlaneLog | None) -> SecretKeyReference | None:
    """The Secret key holding the Log & Crash Search app key, when the spec ships there."""
    if log is None or not log.enabled or log.destination != "lncs" or log.lncs is None:
        return None
    return log.lncs.app_key_secret_ref


def cluster_secret_refs(spec: NKSClusterSpec) -> list[SecretKeyReference]:
    """Secrets a cluster create needs resolved (the default worker's, the log app key)."""
    log_key = control_plane_log_secret(spec.control_plane_log)
    return secret_refs(spec.default_worker) + ([log_key] if log_key is not None else [])


def control_plane_log_settings(log: ControlPlaneLog, app_key: str | None) -> dict[str, Any]:
    """The `control_plane_log` object of "Store Logs of Kubernetes Control Plane
    Components" (fields in the client model's order), with the app key resolved."""
    if not log.enabled:
        return {"enable": False}
    settings: dict[str, Any] = {
        "enable": True,
        "type": log.destination,
        "sgw": log.service_gateway_id,
    }
    if log.upload_interval_minutes is not None:
        settings["upload_interval"] = log.upload_interval_minutes
    if log.destination == "lncs":
        settings["lncs_appkey"] = app_key
    elif log.obs is not None:
        settings["obs_api_url"] = log.obs.api_url
        if log.obs.store_as is not None:
            settings["obs_store_as"] = log.obs.store_as
    return settings


def _json_text(value: Any) -> str:
    """An object as the JSON text NKS takes in a label (as the client writes it)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def ip_acl_body(acl: IPAccessControl) -> dict[str, Any]:
    """The body of "Enforce IP Access Control" (also `api_ep_ipacl` of a create)."""
    if not acl.enabled:
        return {"enable": "false"}
    targets = []
    for target in acl.targets:
        entry = {"cidr_address": target.cidr}
        if target.description:
            entry["description"] = target.description
        targets.append(entry)
    return {"enable": "true", "action": acl.action, "ipacl_targets": targets}


def _network_labels(network: Network) -> dict[str, Any]:
    """The create labels of the network settings the spec gives (NKS's defaults otherwise)."""
    optional = {
        "external_network_id": network.external_network_id,
        "service_cluster_ip_range": network.service_cluster_ip_range,
        "pods_network_cidr": network.pods_network_cidr,
        "pods_network_subnet": network.pods_network_subnet,
        "cni_driver": network.cni,
    }
    labels = {key: value for key, value in optional.items() if value is not None}
    if network.external_subnet_ids:
        labels["external_subnet_id_list"] = ":".join(network.external_subnet_ids)
    return labels


def _cluster_setting_labels(spec: NKSClusterSpec, secrets: SecretValues) -> dict[str, str]:
    """The create labels of service gateways, control-plane logs and etcd encryption."""
    labels: dict[str, str] = {}
    if spec.service_gateways is not None:
        if spec.service_gateways.ncr is not None:
            labels["ncr_sgw"] = spec.service_gateways.ncr
        if spec.service_gateways.obs is not None:
            labels["obs_sgw"] = spec.service_gateways.obs
    log = spec.control_plane_log
    if log is not None and log.enabled:  # off is NKS's default: nothing to send
        app_key = _secret(control_plane_log_secret(log), secrets)
        labels["control_plane_log"] = _json_text(control_plane_log_settings(log, app_key))
    if spec.etcd_encryption is not None:
        labels["skm"] = _json_text({"key_id": spec.etcd_encryption.key_id})
    return labels


def create_cluster_body(spec: NKSClusterSpec, name: str, secrets: SecretValues) -> dict[str, Any]:
    worker = spec.default_worker
    network = spec.network
    labels = _worker_labels(worker, secrets)
    labels.update(
        {
            "kube_tag": spec.kubernetes_version,
            "node_image": worker.image_id,
            "cert_manager_api": "True",
            "clusterautoscale": "nodegroupfeature",
            "master_lb_floating_ip_enabled": flag(spec.public_endpoint),
            "strict_sg_rules": flag(spec.strict_security_group_rules),
        }
    )
    labels.update(_network_labels(network))
    labels.update(_cluster_setting_labels(spec, secrets))
    body: dict[str, Any] = {
        "name": name,
        "cluster_template_id": "iaas_console",
        "keypair": spec.keypair,
        "flavor_id": worker.flavor_id,
        "fixed_network": network.vpc_network_id,
        "fixed_subnet": network.subnet_id,
        "node_count": worker.node_count,
        "create_timeout": spec.create_timeout_minutes,
        "labels": labels,
    }
    if spec.addons:
        body["addons"] = [
            {"name": a.name, "version": a.version, **({"options": a.options} if a.options else {})}
            for a in spec.addons
        ]
    acl = spec.api_endpoint.ip_access_control
    if acl is not None and acl.enabled:
        body["api_ep_ipacl"] = ip_acl_body(acl)  # closed from the first moment
    return body


def create_nodegroup_body(
    spec: NKSNodeGroupSpec, name: str, secrets: SecretValues
) -> dict[str, Any]:
    """The guide's "Create a Node Group" has no strict_sg_rules: node groups inherit the
    cluster's (as the node group answers show)."""
    labels = _worker_labels(spec, secrets)
    return {
        "name": name,
        "node_count": spec.node_count,
        "flavor_id": spec.flavor_id,
        "image_id": spec.image_id,
        "labels": labels,
    }
