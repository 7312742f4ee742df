"""The NKS API operations of the guide: one name, HTTP method and path template each.

Plus the one compute (Nova-compatible) read the operator needs to see node instances,
`list_servers`; its path is relative to the compute host (the catalog's compute URL
already ends with `/v2/{tenant}`).

Several operations of the current edition share one method and path and differ by the
body's `type` (`PATCH .../nodegroups/{nodegroup}` with `flavor_id`, `k8s_node_labels`,
`metric_base_autoscale` or `fip_auto_bind`): their `Route.body_type` names it, and the
simulator dispatches on it.

The client, the simulator (routing and call counting) and metrics all use these names,
so a call log line, a metric label and a client method always agree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # `{cluster}`, `{nodegroup}`, `{event}`, `{addon}`, ... are URL parameters
    body_type: str | None = None  # the body's `type` when several operations share a path


class Operation(enum.StrEnum):
    ISSUE_TOKEN = "issue_token"
    GET_SUPPORTS = "get_supports"
    LIST_CLUSTERS = "list_clusters"
    GET_CLUSTER = "get_cluster"
    CREATE_CLUSTER = "create_cluster"
    DELETE_CLUSTER = "delete_cluster"
    RESIZE_CLUSTER = "resize_cluster"
    GET_KUBECONFIG = "get_kubeconfig"
    UPDATE_CNI = "update_cni"
    SET_IP_ACL = "set_ip_acl"
    GET_IP_ACL = "get_ip_acl"
    RENEW_CERTIFICATE = "renew_certificate"
    UPDATE_SERVICE_GATEWAY = "update_service_gateway"
    LIST_EVENTS = "list_events"
    GET_EVENT = "get_event"
    LIST_NODEGROUPS = "list_nodegroups"
    GET_NODEGROUP = "get_nodegroup"
    CREATE_NODEGROUP = "create_nodegroup"
    DELETE_NODEGROUP = "delete_nodegroup"
    STOP_NODES = "stop_nodes"
    START_NODES = "start_nodes"
    GET_AUTOSCALER = "get_autoscaler"
    SET_AUTOSCALER = "set_autoscaler"
    UPGRADE_NODEGROUP = "upgrade_nodegroup"
    UPDATE_USER_SCRIPT = "update_user_script"
    CHANGE_FLAVOR = "change_flavor"
    # The current edition (docs/nks-api-notes.md, "The current edition").
    SET_NODE_LABELS = "set_node_labels"
    SET_METRIC_AUTOSCALER = "set_metric_autoscaler"
    SET_FIP_AUTO_BIND = "set_fip_auto_bind"
    SET_CONTROL_PLANE_LOG = "set_control_plane_log"
    LIST_ADDON_TYPES = "list_addon_types"
    GET_ADDON_TYPE = "get_addon_type"
    LIST_ADDON_CATALOGUE = "list_addon_catalogue"
    GET_ADDON_CATALOGUE_ENTRY = "get_addon_catalogue_entry"
    LIST_CLUSTER_ADDONS = "list_cluster_addons"
    GET_CLUSTER_ADDON = "get_cluster_addon"
    INSTALL_ADDON = "install_addon"
    UPDATE_ADDON = "update_addon"
    UNINSTALL_ADDON = "uninstall_addon"
    LIST_SERVERS = "list_servers"  # compute, not NKS

    @property
    def route(self) -> Route:
        return ROUTES[self]

    @property
    def is_write(self) -> bool:
        """True for calls that change NKS state (never blindly retried)."""
        return self.route.method != "GET" and self is not Operation.ISSUE_TOKEN

    @property
    def is_compute(self) -> bool:
        """A compute (Nova) API call: no `container-infra` microversion header."""
        return self in COMPUTE_OPERATIONS


_C = "/v1/clusters/{cluster}"
_NG = _C + "/nodegroups/{nodegroup}"

ROUTES: dict[Operation, Route] = {
    Operation.ISSUE_TOKEN: Route("POST", "/v2.0/tokens"),
    Operation.GET_SUPPORTS: Route("GET", "/v1/supports"),
    Operation.LIST_CLUSTERS: Route("GET", "/v1/clusters"),
    Operation.GET_CLUSTER: Route("GET", _C),
    Operation.CREATE_CLUSTER: Route("POST", "/v1/clusters"),
    Operation.DELETE_CLUSTER: Route("DELETE", _C),
    Operation.RESIZE_CLUSTER: Route("POST", _C + "/actions/resize"),
    Operation.GET_KUBECONFIG: Route("GET", _C + "/config"),
    Operation.UPDATE_CNI: Route("POST", _C + "/actions/cni_update"),
    Operation.SET_IP_ACL: Route("POST", _C + "/api_ep_ipacl"),
    Operation.GET_IP_ACL: Route("GET", _C + "/api_ep_ipacl"),
    Operation.RENEW_CERTIFICATE: Route("PATCH", "/v1/certificates/{cluster}"),
    Operation.UPDATE_SERVICE_GATEWAY: Route("POST", _C + "/actions/update_sgw"),
    Operation.LIST_EVENTS: Route("GET", _C + "/events"),
    Operation.GET_EVENT: Route("GET", _C + "/events/{event}"),
    Operation.LIST_NODEGROUPS: Route("GET", _C + "/nodegroups"),
    Operation.GET_NODEGROUP: Route("GET", _NG),
    Operation.CREATE_NODEGROUP: Route("POST", _C + "/nodegroups"),
    Operation.DELETE_NODEGROUP: Route("DELETE", _NG),
    Operation.STOP_NODES: Route("POST", _NG + "/stop_node"),
    Operation.START_NODES: Route("POST", _NG + "/start_node"),
    Operation.GET_AUTOSCALER: Route("GET", _NG + "/autoscale"),
    Operation.SET_AUTOSCALER: Route("POST", _NG + "/autoscale"),
    Operation.UPGRADE_NODEGROUP: Route("POST", _NG + "/upgrade"),
    Operation.UPDATE_USER_SCRIPT: Route("POST", _NG + "/userscript"),
    Operation.CHANGE_FLAVOR: Route("PATCH", _NG, "flavor_id"),
    Operation.SET_NODE_LABELS: Route("PATCH", _NG, "k8s_node_labels"),
    Operation.SET_METRIC_AUTOSCALER: Route("PATCH", _NG, "metric_base_autoscale"),
    Operation.SET_FIP_AUTO_BIND: Route("PATCH", _NG, "fip_auto_bind"),
    Operation.SET_CONTROL_PLANE_LOG: Route("PATCH", _C, "control_plane_log"),
    # The current edition writes the list and install paths with a trailing slash; whether
    # it matters is unknown (the simulator serves both forms, see its `addon_paths` knob).
    Operation.LIST_ADDON_TYPES: Route("GET", "/v1/addon_types/"),
    Operation.GET_ADDON_TYPE: Route("GET", "/v1/addon_types/{addon_type}"),
    Operation.LIST_ADDON_CATALOGUE: Route("GET", "/v1/addons/"),
    Operation.GET_ADDON_CATALOGUE_ENTRY: Route("GET", "/v1/addons/{addon}"),
    Operation.LIST_CLUSTER_ADDONS: Route("GET", _C + "/addons/"),
    Operation.GET_CLUSTER_ADDON: Route("GET", _C + "/addons/{addon}"),
    Operation.INSTALL_ADDON: Route("POST", _C + "/addons/"),
    Operation.UPDATE_ADDON: Route("PATCH", _C + "/addons/{addon}"),
    Operation.UNINSTALL_ADDON: Route("DELETE", _C + "/addons/{addon}"),
    Operation.LIST_SERVERS: Route("GET", "/v2/{tenant}/servers/detail"),
}
COMPUTE_OPERATIONS = frozenset({Operation.LIST_SERVERS})
SERVERS_DETAIL_PATH = "/servers/detail"  # below the catalog's compute URL

API_VERSION_HEADER = {"OpenStack-API-Version": "container-infra latest"}
