"""Field and state rules of the guide and docs/nks-api-notes.md, each raising the matching
ApiError.

Pure functions over request values and state objects, so every rule can be read (and
tested) on its own; the operation modules only decide which rules apply where.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Mapping
from typing import Any

from nks_devtools.simulator import versions
from nks_devtools.simulator.errors import BadRequest, OperationInProgress
from nks_devtools.simulator.state import Cluster, IpAcl, NodeGroup

MAX_NAME_LENGTH = 20
_NAME = re.compile(r"^[a-z](?:[a-z0-9-]*[a-z0-9])?$")

MAX_EXTRA_VOLUMES = 3
EXTRA_VOLUME_SIZE = (1, 2048)
MAX_SECURITY_GROUPS_PER_SUBNET = 8
MAX_IPACL_TARGETS = 100
TERM_OF_VALIDITY = (1, 5)

AUTOSCALER_DEFAULTS: dict[str, str] = {
    "ca_enable": "False",
    "ca_max_node_count": "10",
    "ca_min_node_count": "1",
    "ca_scale_down_enable": "True",
    "ca_scale_down_unneeded_time": "10",
    "ca_scale_down_util_thresh": "50",
    "ca_scale_down_delay_after_add": "10",
    # The current edition's cluster-autoscaler pods (range undocumented: the project's).
    "ca_pod_replicas": "1",
}
_AUTOSCALER_RANGES: dict[str, tuple[int, int | None]] = {
    "ca_min_node_count": (1, None),  # None: the per-group node quota
    "ca_max_node_count": (1, None),
    "ca_scale_down_util_thresh": (1, 100),
    "ca_scale_down_unneeded_time": (1, 1440),
    "ca_scale_down_delay_after_add": (10, 1440),
    "ca_pod_replicas": (1, 10),
}
AUTOSCALER_KEYS = frozenset(AUTOSCALER_DEFAULTS)

# Label values are strings, except these (docs/nks-api-notes.md, "Requests").
_NON_STRING_LABELS = {"extra_security_groups": list, "extra_volumes": list}
_INT_OR_STRING_LABELS = {"pods_network_subnet"}

_IN_PROGRESS = "_IN_PROGRESS"
_DEAD_STATES = ("CREATE_FAILED", "DELETE_FAILED")


def looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def check_name(name: object, what: str) -> str:
    """Cluster and node group names: <= 20 of [a-z0-9-], letter first, letter/digit last."""
    if not isinstance(name, str) or not name:
        raise BadRequest(f"The {what} name is required.")
    if len(name) > MAX_NAME_LENGTH:
        raise BadRequest(f"The {what} name {name!r} is longer than {MAX_NAME_LENGTH} characters.")
    if not _NAME.match(name):
        raise BadRequest(
            f"The {what} name {name!r} is invalid: use lowercase letters, digits and '-', "
            "start with a letter and end with a letter or a digit."
        )
    if looks_like_uuid(name):
        raise BadRequest(f"The {what} name {name!r} must not look like a UUID.")
    return name


def check_known_fields(body: Mapping[str, Any], allowed: set[str], what: str) -> None:
    """Magnum rejects attributes it does not know; this catches misspelt fields early."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"Unknown attribute for argument {what}: {', '.join(unknown)}")


def require_str(body: Mapping[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"Mandatory field missing or empty: {field}")
    return value


def require_uuid(body: Mapping[str, Any], field: str) -> str:
    value = require_str(body, field)
    if not looks_like_uuid(value):
        raise BadRequest(f"Invalid UUID for {field}: {value!r}")
    return value


def as_int(value: object, field: str, low: int | None = None, high: int | None = None) -> int:
    """An integer, also when sent as a decimal string (the guide types several as String)."""
    if isinstance(value, bool):
        raise BadRequest(f"{field} must be an integer, not {value!r}.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        number = int(value.strip())
    else:
        raise BadRequest(f"{field} must be an integer, not {value!r}.")
    if (low is not None and number < low) or (high is not None and number > high):
        raise BadRequest(f"{field} must be between {low} and {high}, not {number}.")
    return number


def as_bool(value: object, field: str, allow_native: bool = False) -> bool:
    """ "True"/"False" in any case; JSON booleans only where the guide's examples send them."""
    if allow_native and isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise BadRequest(f'{field} must be "True" or "False", not {value!r}.')


def bool_label(value: bool) -> str:
    return "True" if value else "False"


def check_label_types(labels: object) -> dict[str, Any]:
    if not isinstance(labels, dict):
        raise BadRequest("labels must be an object.")
    for key, value in labels.items():
        expected = _NON_STRING_LABELS.get(key)
        if expected is not None:
            if not isinstance(value, expected):
                raise BadRequest(f"Label {key} must be a list.")
        elif key in _INT_OR_STRING_LABELS:
            as_int(value, f"labels.{key}")
        elif not isinstance(value, str):
            raise BadRequest(f"Label {key} must be a string, not {value!r}.")
    return dict(labels)


def require_labels(labels: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if not str(labels.get(k, "")).strip()]
    if missing:
        raise BadRequest(f"Mandatory labels missing: {', '.join(missing)}")


def check_colon_lists(labels: Mapping[str, Any], first: str, second: str) -> None:
    """Paired colon-joined lists (network ids and their subnet ids) must match up."""
    a, b = labels.get(first), labels.get(second)
    if a is None and b is None:
        return
    if not a or not b or len(str(a).split(":")) != len(str(b).split(":")):
        raise BadRequest(f"{first} and {second} must be given together with as many entries.")


def check_autoscaler(
    values: Mapping[str, Any],
    current: Mapping[str, Any],
    max_nodes: int,
    allow_native: bool,
) -> dict[str, str]:
    """Autoscaler settings merged over the current ones, as labels.

    The ranges of docs/nks-api-notes.md are enforced when the autoscaler ends up enabled; values
    sent with `ca_enable` false are stored as given (the guide's create example sends a
    delay-after-add of 3 with the autoscaler off).
    """
    if "ca_enable" not in values:
        raise BadRequest("Mandatory field missing: ca_enable")
    merged = {k: str(current.get(k, d)) for k, d in AUTOSCALER_DEFAULTS.items()}
    merged["ca_enable"] = bool_label(as_bool(values["ca_enable"], "ca_enable", allow_native))
    if "ca_scale_down_enable" in values:
        enabled = as_bool(values["ca_scale_down_enable"], "ca_scale_down_enable", allow_native)
        merged["ca_scale_down_enable"] = bool_label(enabled)
    for key in _AUTOSCALER_RANGES:
        if key in values:
            if isinstance(values[key], bool) or not isinstance(values[key], int | str):
                raise BadRequest(f"{key} must be an integer, not {values[key]!r}.")
            merged[key] = str(values[key])
    if merged["ca_enable"] == "True":
        for key, (low, high) in _AUTOSCALER_RANGES.items():
            merged[key] = str(as_int(merged[key], key, low, high or max_nodes))
        if int(merged["ca_min_node_count"]) > int(merged["ca_max_node_count"]):
            raise BadRequest("ca_min_node_count must not be greater than ca_max_node_count.")
    return merged


def check_extra_volumes(volumes: list[Any]) -> list[dict[str, Any]]:
    if len(volumes) > MAX_EXTRA_VOLUMES:
        raise BadRequest(f"At most {MAX_EXTRA_VOLUMES} extra volumes are allowed.")
    allowed = {"volume_type", "volume_size", "volume_key_id", "volume_appkey", "volume_mount_path"}
    result = []
    for volume in volumes:
        if not isinstance(volume, dict):
            raise BadRequest("Every extra volume must be an object.")
        check_known_fields(volume, allowed, "extra_volumes")
        require_str(volume, "volume_type")
        size = as_int(volume.get("volume_size"), "volume_size", *EXTRA_VOLUME_SIZE)
        if ("volume_key_id" in volume) != ("volume_appkey" in volume):
            raise BadRequest("volume_key_id and volume_appkey must be given together.")
        path = volume.get("volume_mount_path")
        if path is not None and (not isinstance(path, str) or not path.startswith("/")):
            raise BadRequest("volume_mount_path must be an absolute path.")
        result.append({**volume, "volume_size": size})
    return result


def check_extra_security_groups(groups: list[Any]) -> list[dict[str, Any]]:
    per_subnet: dict[str, int] = {}
    for group in groups:
        if not isinstance(group, dict):
            raise BadRequest("Every extra security group entry must be an object.")
        check_known_fields(group, {"target_subnet", "security_group_ids"}, "extra_security_groups")
        subnet = require_uuid(group, "target_subnet")
        ids = [i for i in require_str(group, "security_group_ids").split(",") if i.strip()]
        for sg in ids:
            if not looks_like_uuid(sg.strip()):
                raise BadRequest(f"Invalid security group UUID: {sg!r}")
        per_subnet[subnet] = per_subnet.get(subnet, 0) + len(ids)
        if per_subnet[subnet] > MAX_SECURITY_GROUPS_PER_SUBNET:
            raise BadRequest(
                f"At most {MAX_SECURITY_GROUPS_PER_SUBNET} extra security groups per subnet."
            )
    return [dict(g) for g in groups]


def check_worker_labels(labels: Mapping[str, Any], max_nodes: int) -> dict[str, Any]:
    """The labels every worker group shares: volumes, security groups, autoscaler."""
    result = dict(labels)
    as_int(labels.get("boot_volume_size"), "labels.boot_volume_size", 1, 2048)
    if ("boot_volume_key_id" in labels) != ("boot_volume_appkey" in labels):
        raise BadRequest("boot_volume_key_id and boot_volume_appkey must be given together.")
    if "extra_volumes" in labels:
        result["extra_volumes"] = check_extra_volumes(labels["extra_volumes"])
    if "extra_security_groups" in labels:
        result["extra_security_groups"] = check_extra_security_groups(
            labels["extra_security_groups"]
        )
    check_colon_lists(labels, "additional_network_id_list", "additional_subnet_id_list")
    result.update(check_autoscaler(labels, {}, max_nodes, allow_native=False))
    return result


def check_addons(addons: object) -> list[dict[str, Any]]:
    """`addons` of a create: `[{name, version, options?}]`, options a string map."""
    if not isinstance(addons, list):
        raise BadRequest("addons must be a list.")
    result = []
    names: set[str] = set()
    for addon in addons:
        if not isinstance(addon, dict):
            raise BadRequest("Every addon must be an object.")
        check_known_fields(addon, {"name", "version", "options"}, "addons")
        name = require_str(addon, "name")
        require_str(addon, "version")
        options = addon.get("options", {})
        if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
            raise BadRequest(f"Addon {name}: options must be an object of strings.")
        if name in names:
            raise BadRequest(f"Addon {name} is listed twice.")
        names.add(name)
        result.append(dict(addon))
    return result


def check_ipacl(body: Mapping[str, Any]) -> IpAcl:
    check_known_fields(body, {"enable", "action", "ipacl_targets"}, "api_ep_ipacl")
    if "enable" not in body:
        raise BadRequest("Mandatory field missing: enable")
    if not as_bool(body["enable"], "enable", allow_native=True):
        return IpAcl(enable=False)
    action = body.get("action")
    if action not in ("ALLOW", "DENY"):
        raise BadRequest('action must be "ALLOW" or "DENY" when enable is true.')
    targets = body.get("ipacl_targets")
    if not isinstance(targets, list) or not targets:
        raise BadRequest("ipacl_targets must be a non-empty list when enable is true.")
    if len(targets) > MAX_IPACL_TARGETS:
        raise BadRequest(f"At most {MAX_IPACL_TARGETS} IP access control targets are allowed.")
    result = []
    for target in targets:
        if not isinstance(target, dict):
            raise BadRequest("Every ipacl target must be an object.")
        check_known_fields(target, {"cidr_address", "description", "descripion"}, "ipacl_targets")
        address = require_str(target, "cidr_address")
        try:
            ipaddress.ip_network(address, strict=False)
        except ValueError:
            raise BadRequest(f"Invalid IP address or CIDR: {address!r}") from None
        entry = {"cidr_address": address}
        description = target.get("description", target.get("descripion"))
        if description is not None:
            entry["description"] = str(description)
        result.append(entry)
    return IpAcl(enable=True, action=action, targets=result)


def check_rollout(body: Mapping[str, Any], ng: NodeGroup, max_nodes: int) -> dict[str, int]:
    """num_buffer_nodes 0..(quota - nodes), num_max_unavailable_nodes 1..nodes."""
    result = {}
    if "num_buffer_nodes" in body:
        result["num_buffer_nodes"] = as_int(
            body["num_buffer_nodes"], "num_buffer_nodes", 0, max(max_nodes - ng.node_count, 0)
        )
    if "num_max_unavailable_nodes" in body:
        result["num_max_unavailable_nodes"] = as_int(
            body["num_max_unavailable_nodes"], "num_max_unavailable_nodes", 1, ng.node_count
        )
    return result


def check_term_of_validity(value: object) -> int:
    return as_int(value, "term_of_validity", *TERM_OF_VALIDITY)


def ensure_idle(cluster: Cluster, accepted_status: int, accepted_body: Any) -> None:
    """One operation at a time per cluster, its node groups included."""
    states = [cluster.status, *(ng.status for ng in cluster.nodegroups)]
    if cluster.busy or any(s.endswith(_IN_PROGRESS) for s in states):
        raise OperationInProgress(
            f"Operation in progress on cluster {cluster.name} (status {cluster.status}); "
            "retry once it has finished.",
            accepted_status,
            accepted_body,
        )


def ensure_operable(cluster: Cluster, ng: NodeGroup | None = None) -> None:
    """A cluster (or group) whose creation or deletion failed can only be deleted."""
    for what, name, status in (
        ("Cluster", cluster.name, cluster.status),
        *((("Nodegroup", ng.name, ng.status),) if ng else ()),
    ):
        if status in _DEAD_STATES:
            raise BadRequest(f"{what} {name} is in status {status}; it can only be deleted.")


def check_upgrade(cluster: Cluster, ng: NodeGroup, tag: object, supported: dict[str, bool]) -> str:
    """Control plane first, one minor step at a time, workers never ahead of it."""
    target = versions.require(tag, "version")
    assert isinstance(tag, str)
    if tag not in supported:
        raise BadRequest(f"Kubernetes version {tag} is not supported by NKS.")
    plane = versions.require(cluster.kube_tag, "kube_tag")
    if ng.is_master:
        if target <= plane:
            raise BadRequest(f"The control plane is at {cluster.kube_tag}; cannot go to {tag}.")
        if versions.minor_steps(plane, target) > 1:
            raise BadRequest("The control plane can be upgraded by one minor version at a time.")
        behind = [w.name for w in cluster.workers if w.kube_tag != cluster.kube_tag]
        if behind:
            raise BadRequest(
                f"Upgrade the worker node groups ({', '.join(behind)}) to {cluster.kube_tag} "
                "before upgrading the control plane again."
            )
        cni = str(cluster.labels.get("cni_driver", "calico")).lower()
        if plane[:2] == (1, 25) and target[:2] == (1, 26) and not cni.startswith("calico"):
            raise BadRequest("Upgrading to v1.26 requires the CNI to be changed to Calico first.")
        return tag
    current = versions.require(ng.kube_tag, "kube_tag")
    if target > plane:
        raise BadRequest(
            f"Node group {ng.name} cannot be upgraded to {tag}, past the control plane "
            f"({cluster.kube_tag}); upgrade default-master first."
        )
    if target <= current:
        raise BadRequest(f"Node group {ng.name} is at {ng.kube_tag}; cannot go to {tag}.")
    if versions.minor_steps(current, target) > 1:
        raise BadRequest("A node group can be upgraded by one minor version at a time.")
    if ng.stopped_nodes():
        raise BadRequest(f"Node group {ng.name} has stopped nodes; start them before upgrading.")
    return tag
