"""`GET /v1/supports` and the task type each operation records.

Names come from the one vocabulary of both editions (`nks.tasks`): with the `task_names`
knob at `current` (the default) tasks carry the current edition's names, with `copy` the
older guide's (an operation only one edition names records that name either way). The
copy lists no task type for certificate renewal, service gateway or IP ACL changes: they
record one only with the `record_unlisted_tasks` knob, under the current edition's names
(docs/nks-api-notes.md, "Task history", "Task names").
"""

from __future__ import annotations

from typing import Any

from nks_devtools.simulator.config import SimulatorConfig
from nks_operator.nks import tasks
from nks_operator.nks.operations import Operation

# What each name of /v1/supports means, in the simulator's own words.
DESCRIPTIONS: dict[str, str] = {
    "CLUSTER_CREATE": "Create a cluster",
    "CLUSTER_DELETE": "Delete a cluster",
    "CLUSTER_HANDOVER": "Cluster OWNER change",
    "CLUSTER_CNI_UPDATE": "Change CNI",
    "CLUSTER_UPDATE_VM_AUTH_KEY": "Change the nodes' key pair",
    "CLUSTER_API_EP_IPACL_UPDATE": "Cluster API endpoint IP access control change",
    "CLUSTER_UPDATE_SGW": "Update Cluster Service Gateway",
    "CLUSTER_ROTATE_CERTIFICATE": "Rotate cluster certificate",
    "CLUSTER_UPDATE_NKS_REGISTRY": "Enable the NKS registry",
    "CLUSTER_UPDATE_K8S_ARGS": "Change Kubernetes component options",
    "CLUSTER_UPDATE_OIDC_ARGS": "Change OIDC settings",
    "CLUSTER_INSTALL_ADDON": "Install an add-on",
    "CLUSTER_UPDATE_ADDON": "Update an add-on",
    "CLUSTER_UNINSTALL_ADDON": "Remove an add-on",
    "CLUSTER_UPDATE_CONTROL_PLANE_LOG": "Change control plane log storage",
    "K8S_API_NOT_WORKING": "Kubernetes API not working",
    "ALL_NODES_NOT_READY": "No node is ready",
    "AUTO_HEALING": "Auto healing",
    "NODEGROUP_CREATE": "Node group creation",
    "NODEGROUP_DELETE": "Delete a node group",
    "CLUSTER_RESIZE": "Resize the cluster",
    "NODEGROUP_SCALE_OUT": "Add nodes",
    "NODEGROUP_SCALE_IN": "Remove nodes",
    "NODEGROUP_UPDATE_FLAVOR": "Change instance type",
    "NODEGROUP_UPGRADE": "Upgrade a node group",
    "NODEGROUP_USERSCRIPT_UPDATE": "Change userscript",
    "NODEGROUP_SET_CLUSTER_AUTOSCALER": "Change Auto Scaler settings",
    "NODEGROUP_SET_METRIC_BASE_AUTOSCALER": "Change metric-based autoscaler settings",
    "NODEGROUP_METRIC_BASE_AUTOSCALER_SCALE_OUT": "Metric-based autoscaler added nodes",
    "NODEGROUP_METRIC_BASE_AUTOSCALER_SCALE_IN": "Metric-based autoscaler removed nodes",
    "NODEGROUP_NODE_ACTION_NODE_START": "Start worker node",
    "NODEGROUP_NODE_ACTION_NODE_STOP": "Stop worker node",
    "NODEGROUP_NODE_ACTION_START_NODE": "Start worker node",
    "NODEGROUP_NODE_ACTION_STOP_NODE": "Stop worker node",
    "NODEGROUP_UPDATE_EXTRA_VOLUME": "Change additional block storage",
    "NODEGROUP_UPDATE_EXTRA_SECURITY_GROUP": "Change additional security groups",
    "NODEGROUP_UPDATE_K8S_NODE_LABELS": "Change Kubernetes node labels",
    "NODEGROUP_UPDATE_FIP_AUTO_BIND": "Change floating IP auto-assignment",
}
# The changes the copy lists no task for: recorded only with `record_unlisted_tasks`.
UNLISTED = frozenset(
    {Operation.SET_IP_ACL, Operation.UPDATE_SERVICE_GATEWAY, Operation.RENEW_CERTIFICATE}
)


def task_name(config: SimulatorConfig, operation: Operation) -> str | None:
    """The task type `operation` records (None: none)."""
    kind = tasks.kind_of(operation)
    if kind is None or (operation in UNLISTED and not config.record_unlisted_tasks):
        return None
    return kind.name(config.task_names)


def _listed(config: SimulatorConfig) -> list[str]:
    """The names /v1/supports lists: one edition's, plus the unlisted ones when recorded."""
    names: list[str] = []
    for kind in tasks.TASK_KINDS:
        own = kind.copy if config.task_names == "copy" else kind.current
        if own is None and config.record_unlisted_tasks and kind.operations & UNLISTED:
            own = kind.current
        if own is not None and own not in names:
            names.append(own)
        if config.task_names == "current":
            names += sorted(kind.also - set(names))
    return names


def document(config: SimulatorConfig) -> dict[str, Any]:
    names = _listed(config)
    described = {name: DESCRIPTIONS.get(name, name) for name in names}
    if config.supported_event_type_shape == "flat":
        event_types: dict[str, Any] = described
    else:
        event_types = {
            "cluster_events": {k: v for k, v in described.items() if not _nodegroup(k)},
            "nodegroup_events": {k: v for k, v in described.items() if _nodegroup(k)},
        }
    return {"supported_k8s": dict(config.supported_k8s), "supported_event_type": event_types}


def _nodegroup(name: str) -> bool:
    # CLUSTER_RESIZE is a node group event in both editions' grouping.
    return name.startswith("NODEGROUP_") or name == "CLUSTER_RESIZE"


def task_types(config: SimulatorConfig) -> set[str]:
    """Every task type the simulator may record under `config`."""
    return set(_listed(config))
