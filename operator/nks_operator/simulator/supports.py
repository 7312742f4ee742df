"""`GET /v1/supports`: the Kubernetes versions and the task types of the task history.

Exactly the guide's `supported_event_type`: it lists no task type for certificate
renewal, service gateway or IP ACL changes, so by default none is recorded for them.
With the `record_unlisted_tasks` knob they are, under the names of NHN's newer guide
(docs/nks-api-notes.md, "Task history").
"""

from __future__ import annotations

from typing import Any

CLUSTER_EVENTS = {
    "CLUSTER_CREATE": "Create a cluster",
    "CLUSTER_DELETE": "Delete a cluster",
    "CLUSTER_HANDOVER": "Cluster OWNER change",
    "CLUSTER_CNI_UPDATE": "Change CNI",
}
# Newer than the guide, recorded only with `record_unlisted_tasks`.
IPACL_TASK = "CLUSTER_API_EP_IPACL_UPDATE"
SGW_TASK = "CLUSTER_UPDATE_SGW"
CERTIFICATE_TASK = "CLUSTER_ROTATE_CERTIFICATE"
UNLISTED_EVENTS = {
    IPACL_TASK: "Cluster API endpoint IP access control change",
    SGW_TASK: "Update Cluster Service Gateway",
    CERTIFICATE_TASK: "Rotate cluster certificate",
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


def document(supported_k8s: dict[str, bool], unlisted: bool = False) -> dict[str, Any]:
    return {
        "supported_k8s": dict(supported_k8s),
        "supported_event_type": {
            "cluster_events": {**CLUSTER_EVENTS, **(UNLISTED_EVENTS if unlisted else {})},
            "nodegroup_events": dict(NODEGROUP_EVENTS),
        },
    }


def task_types(unlisted: bool = False) -> set[str]:
    """Every task type the simulator records."""
    return {*CLUSTER_EVENTS, *NODEGROUP_EVENTS, *(UNLISTED_EVENTS if unlisted else ())}
