"""Rules of the current edition's settings, at create (labels, objects as JSON text) and
in their own calls: Kubernetes node labels, the metric-based autoscaler, floating IP
auto-bind, control-plane logs, `skm`, `ca_pod_replicas` (docs/nks-api-notes.md, "The
current edition").

Each check returns the value as the simulator stores it (objects as dicts; answers render
them as JSON text) or raises BadRequest. Error text names fields, never a value that may
be secret (the Log & Crash Search app key).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from nks_devtools.simulator.errors import BadRequest
from nks_devtools.simulator.rules import as_bool, as_int, check_known_fields, looks_like_uuid
from nks_operator.nks.models.node_labels import node_label_problems

METRICS = (
    "GROUP_CPU_USAGE",
    "GROUP_MEMORY_USAGE",
    "GROUP_DISK_READ_BYTES",
    "GROUP_DISK_WRITE_BYTES",
    "GROUP_NETWORK_SENT_BYTES",
    "GROUP_NETWORK_RECV_BYTES",
)
DELAY, ADJUSTMENT, DURATION = (1, 60), (1, 10), (2, 60)
UPLOAD_INTERVAL = (1, 60)
DEFAULT_UPLOAD_INTERVAL = 10
# A policy nobody set, as Live answers show it while off.
MBA_DEFAULTS: dict[str, dict[str, Any]] = {
    "mba_scale_out": {
        "enable": False,
        "max_node_count": 10,
        "rules_operator": "OR",
        "delay": 10,
        "adjustment_count": 1,
        "rules": [],
    },
    "mba_scale_in": {
        "enable": False,
        "min_node_count": 1,
        "rules_operator": "OR",
        "delay": 10,
        "adjustment_count": 1,
        "rules": [],
    },
}
MBA_KEYS = tuple(MBA_DEFAULTS)
FIP_KEYS = ("fip_auto_bind_enable", "fip_bind_subnet", "fip_selector")
# "Autoscaler cannot be enabled multiple times" (UG), read as: not both autoscalers on one
# group (the project's reading).
NOT_BOTH_AUTOSCALERS = (
    "The cluster autoscaler and the metric-based autoscaler cannot both be enabled on a node group."
)


def json_label(value: object, name: str) -> Any:
    """A create label holding JSON text."""
    if not isinstance(value, str):
        raise BadRequest(f"Label {name} must be a string (JSON text).")
    try:
        return json.loads(value)
    except ValueError:
        raise BadRequest(f"Label {name} is not valid JSON text.") from None


def check_node_labels(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise BadRequest("k8s_node_labels must be an object of strings.")
    problems = node_label_problems(value)
    if problems:
        raise BadRequest("Invalid k8s_node_labels: " + "; ".join(problems))
    return dict(value)


def _check_rule(rule: object, where: str) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise BadRequest(f"Every rule of {where} must be an object.")
    check_known_fields(rule, {"metric", "threshold", "duration"}, f"{where}.rules")
    if rule.get("metric") not in METRICS:
        raise BadRequest(f"{where}: metric must be one of {', '.join(METRICS)}.")
    return {
        "metric": rule["metric"],
        "threshold": as_int(rule.get("threshold"), f"{where}.threshold", 0),
        "duration": as_int(rule.get("duration"), f"{where}.duration", *DURATION),
    }


def check_mba_policy(
    value: object, key: str, current: Mapping[str, Any] | None, max_nodes: int
) -> dict[str, Any]:
    """One policy (`mba_scale_out` / `mba_scale_in`) merged over the current one: omitted
    fields keep their value (unknown at NKS: clients send whole policies)."""
    if not isinstance(value, dict):
        raise BadRequest(f"{key} must be an object.")
    count = "max_node_count" if key == "mba_scale_out" else "min_node_count"
    allowed = {"enable", count, "rules_operator", "delay", "adjustment_count", "rules"}
    check_known_fields(value, allowed, key)
    policy = dict(current or MBA_DEFAULTS[key])
    if "enable" not in value:
        raise BadRequest(f"Mandatory field missing: {key}.enable")
    # The table types it Boolean, its example sends "True": both are taken.
    policy["enable"] = as_bool(value["enable"], f"{key}.enable", allow_native=True)
    if count in value:
        policy[count] = as_int(value[count], f"{key}.{count}", 1, max_nodes)
    if "rules_operator" in value:
        operator = value["rules_operator"]
        if not isinstance(operator, str) or operator.upper() not in ("AND", "OR"):
            raise BadRequest(f'{key}.rules_operator must be "AND" or "OR".')
        policy["rules_operator"] = operator.upper()  # the example's "or": case is unknown
    if "delay" in value:
        policy["delay"] = as_int(value["delay"], f"{key}.delay", *DELAY)
    if "adjustment_count" in value:
        policy["adjustment_count"] = as_int(
            value["adjustment_count"], f"{key}.adjustment_count", *ADJUSTMENT
        )
    if "rules" in value:
        if not isinstance(value["rules"], list):
            raise BadRequest(f"{key}.rules must be a list.")
        policy["rules"] = [_check_rule(rule, key) for rule in value["rules"]]
    if policy["enable"] and not policy["rules"]:
        raise BadRequest(f"{key} needs at least one rule when enabled.")
    return policy


def check_fip(
    enable: object, subnet: object, selector: object, subnets: Iterable[str], native: bool
) -> dict[str, str]:
    """Floating IP auto-bind settings as labels; the subnet must be the cluster's or one of
    the group's additional subnets."""
    enabled = as_bool(enable, "fip_auto_bind_enable", allow_native=native)
    labels = {"fip_auto_bind_enable": "True" if enabled else "False"}
    if subnet is not None:
        if not isinstance(subnet, str) or not looks_like_uuid(subnet):
            raise BadRequest("fip_bind_subnet must be a subnet UUID.")
        if subnet not in subnets:
            raise BadRequest(
                "fip_bind_subnet must be the cluster's subnet or an additional subnet of the "
                "node group."
            )
        labels["fip_bind_subnet"] = subnet
    elif enabled:
        raise BadRequest("fip_bind_subnet is required when fip_auto_bind_enable is true.")
    if selector is not None:
        if not isinstance(selector, str):
            raise BadRequest("fip_selector must be a string.")
        labels["fip_selector"] = selector
    return labels


def check_control_plane_log(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest("control_plane_log must be an object.")
    allowed = {
        "enable",
        "type",
        "sgw",
        "upload_interval",
        "lncs_appkey",
        "obs_api_url",
        "obs_store_as",
    }
    check_known_fields(value, allowed, "control_plane_log")
    if "enable" not in value:
        raise BadRequest("Mandatory field missing: control_plane_log.enable")
    if not as_bool(value["enable"], "control_plane_log.enable", allow_native=True):
        return {"enable": False}
    kind = value.get("type")
    if kind not in ("lncs", "obs"):
        raise BadRequest('control_plane_log.type must be "lncs" or "obs".')
    sgw = value.get("sgw")
    if not isinstance(sgw, str) or not looks_like_uuid(sgw):
        raise BadRequest("control_plane_log.sgw must be a service gateway UUID.")
    result: dict[str, Any] = {
        "enable": True,
        "type": kind,
        "sgw": sgw,
        "upload_interval": as_int(
            value.get("upload_interval", DEFAULT_UPLOAD_INTERVAL),
            "control_plane_log.upload_interval",
            *UPLOAD_INTERVAL,
        ),
    }
    if kind == "lncs":
        appkey = value.get("lncs_appkey")
        if not isinstance(appkey, str) or not appkey.strip():
            raise BadRequest("control_plane_log.lncs_appkey is required for lncs.")
        result["lncs_appkey"] = appkey
    else:
        url = value.get("obs_api_url")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise BadRequest("control_plane_log.obs_api_url must be the container's https URL.")
        result["obs_api_url"] = url
        store_as = value.get("obs_store_as")
        if store_as is not None:
            if store_as not in ("gzip", "text"):
                raise BadRequest('control_plane_log.obs_store_as must be "gzip" or "text".')
            result["obs_store_as"] = store_as
    return result


def check_skm(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != {"key_id"}:
        raise BadRequest('Label skm must be {"key_id": "<SKM key id>"}.')
    key_id = value["key_id"]
    if not isinstance(key_id, str) or not key_id.strip():
        raise BadRequest("skm.key_id must be a non-empty string.")
    return {"key_id": key_id}


def check_create_settings(
    labels: Mapping[str, Any], subnets: Iterable[str], max_nodes: int, *, cluster: bool
) -> dict[str, Any]:
    """The current edition's labels of a create, as stored (objects parsed from JSON text).
    `cluster`: a cluster create, which also takes `control_plane_log` and `skm`."""
    result: dict[str, Any] = {}
    if "k8s_node_labels" in labels:
        result["k8s_node_labels"] = check_node_labels(
            json_label(labels["k8s_node_labels"], "k8s_node_labels")
        )
    for key in MBA_KEYS:
        if key in labels:
            result[key] = check_mba_policy(json_label(labels[key], key), key, None, max_nodes)
    enabled = [k for k in MBA_KEYS if k in result and result[k]["enable"]]
    if enabled and str(labels.get("ca_enable", "false")).lower() == "true":
        raise BadRequest(NOT_BOTH_AUTOSCALERS)
    if any(key in labels for key in FIP_KEYS):
        result.update(
            check_fip(
                labels.get("fip_auto_bind_enable", "False"),
                labels.get("fip_bind_subnet"),
                labels.get("fip_selector"),
                subnets,
                native=False,
            )
        )
    if "ca_pod_replicas" in labels:
        result["ca_pod_replicas"] = str(as_int(labels["ca_pod_replicas"], "ca_pod_replicas", 1))
    if cluster and "control_plane_log" in labels:
        result["control_plane_log"] = check_control_plane_log(
            json_label(labels["control_plane_log"], "control_plane_log")
        )
    if cluster and "skm" in labels:
        result["skm"] = check_skm(json_label(labels["skm"], "skm"))
    return result
