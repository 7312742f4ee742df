"""`GET /v1/supports`: the Kubernetes versions and the task types of the task history.

The guide lists no task type for certificate renewal, service gateway or IP ACL changes;
the simulator names them (marked below) so that every operation leaves a task entry.
"""

from __future__ import annotations

from typing import Any

CLUSTER_EVENTS = {
    "CLUSTER_CREATE": "Create a cluster",
    "CLUSTER_DELETE": "Delete a cluster",
    "CLUSTER_HANDOVER": "Cluster OWNER change",
    "CLUSTER_CNI_UPDATE": "Change CNI",
    # Not in the guide: simulator names for the remaining cluster operations.
    "CLUSTER_RENEW_CERTIFICATE": "Renew the cluster certificate",
    "CLUSTER_UPDATE_SGW": "Change service gateway",
    "CLUSTER_UPDATE_API_EP_IPACL": "Change API endpoint IP access control",
}
NODEGROUP_EVENTS = {
    "NODEGROUP_CREATE": "Node group creation",
    "NODEGROUP_DELETE": "Delete a node group",
    "CLUSTER_RESIZE": "Resize the cluster",
    "NODEGROUP_UPDATE_FLAVOR": "Change instance type",
    "NODEGROUP_UPGRADE": "Upgrade a node group",
    "NODEGROUP_USERSCRIPT_UPDATE": "Change userscript",
    "NODEGROUP_SET_CLUSTER_AUTOSCALER": "Change Auto Scaler settings",
    "NODEGROUP_NODE_ACTION_NODE_START": "Start worker node",
    "NODEGROUP_NODE_ACTION_NODE_STOP": "Stop worker node",
}


def document(supported_k8s: dict[str, bool]) -> dict[str, Any]:
    return {
        "supported_k8s": dict(supported_k8s),
        "supported_event_type": {
            "cluster_events": dict(CLUSTER_EVENTS),
            "nodegroup_events": dict(NODEGROUP_EVENTS),
        },
    }
