"""The operations the operator sends to NKS, as `status.lastOperation.type` records them.

The value is the NKS task type (`/events`, the older guide's name where it has one) for
the operations NKS records a task for, else the API operation: those are confirmed by
reading the state back (docs/nks-api-notes.md, "Task history"). A `StrEnum`: the strings
written to status are the values.
"""

from __future__ import annotations

from enum import StrEnum


class OperationType(StrEnum):
    CLUSTER_CREATE = "CLUSTER_CREATE"
    CLUSTER_DELETE = "CLUSTER_DELETE"
    NODEGROUP_CREATE = "NODEGROUP_CREATE"
    NODEGROUP_DELETE = "NODEGROUP_DELETE"
    CLUSTER_CNI_UPDATE = "CLUSTER_CNI_UPDATE"
    CLUSTER_RESIZE = "CLUSTER_RESIZE"
    NODEGROUP_UPGRADE = "NODEGROUP_UPGRADE"
    NODEGROUP_UPDATE_FLAVOR = "NODEGROUP_UPDATE_FLAVOR"
    NODEGROUP_SET_CLUSTER_AUTOSCALER = "NODEGROUP_SET_CLUSTER_AUTOSCALER"
    NODEGROUP_SET_METRIC_BASE_AUTOSCALER = "NODEGROUP_SET_METRIC_BASE_AUTOSCALER"
    NODEGROUP_UPDATE_K8S_NODE_LABELS = "NODEGROUP_UPDATE_K8S_NODE_LABELS"
    NODEGROUP_UPDATE_FIP_AUTO_BIND = "NODEGROUP_UPDATE_FIP_AUTO_BIND"
    NODEGROUP_USERSCRIPT_UPDATE = "NODEGROUP_USERSCRIPT_UPDATE"
    NODEGROUP_NODE_ACTION_NODE_STOP = "NODEGROUP_NODE_ACTION_NODE_STOP"
    NODEGROUP_NODE_ACTION_NODE_START = "NODEGROUP_NODE_ACTION_NODE_START"
    CLUSTER_INSTALL_ADDON = "CLUSTER_INSTALL_ADDON"
    CLUSTER_UPDATE_ADDON = "CLUSTER_UPDATE_ADDON"
    CLUSTER_UNINSTALL_ADDON = "CLUSTER_UNINSTALL_ADDON"
    CLUSTER_UPDATE_CONTROL_PLANE_LOG = "CLUSTER_UPDATE_CONTROL_PLANE_LOG"
    # NKS records no task for these (the older guide lists none): read back.
    UPDATE_SERVICE_GATEWAY = "UPDATE_SERVICE_GATEWAY"
    SET_IP_ACL = "SET_IP_ACL"
    RENEW_CERTIFICATE = "RENEW_CERTIFICATE"

    @property
    def is_create(self) -> bool:
        return self in _CREATES

    @property
    def is_delete(self) -> bool:
        return self in _DELETES

    @property
    def is_upgrade(self) -> bool:
        return self is OperationType.NODEGROUP_UPGRADE

    @property
    def is_node_action(self) -> bool:
        """Stopping or starting nodes."""
        return self in _NODE_ACTIONS

    @property
    def is_addon(self) -> bool:
        return self in _ADDONS

    @property
    def confirmed_by_state(self) -> bool:
        """NKS records no task for it: confirmed by reading the state back."""
        return self in _STATE_CONFIRMED


_O = OperationType
_CREATES = frozenset({_O.CLUSTER_CREATE, _O.NODEGROUP_CREATE})
_DELETES = frozenset({_O.CLUSTER_DELETE, _O.NODEGROUP_DELETE})
_NODE_ACTIONS = frozenset({_O.NODEGROUP_NODE_ACTION_NODE_STOP, _O.NODEGROUP_NODE_ACTION_NODE_START})
_ADDONS = frozenset({_O.CLUSTER_INSTALL_ADDON, _O.CLUSTER_UPDATE_ADDON, _O.CLUSTER_UNINSTALL_ADDON})
_STATE_CONFIRMED = frozenset({_O.UPDATE_SERVICE_GATEWAY, _O.SET_IP_ACL, _O.RENEW_CERTIFICATE})


def operation_type(value: str | None) -> OperationType | None:
    """The operation a recorded type names; None: none, or one this version does not
    send (an older release's status)."""
    try:
        return OperationType(value) if value else None
    except ValueError:
        return None
