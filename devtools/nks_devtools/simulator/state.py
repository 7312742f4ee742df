"""The simulator's in-memory world: tenants own clusters, clusters own node groups, nodes
and task-history events.

Plain dataclasses with no HTTP knowledge; statuses are the NKS strings. Objects are
looked up by UUID at every use (never held across calls), so a tenant can be snapshotted
and restored wholesale (the "accept but silently drop" fault).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from nks_devtools.simulator.errors import Conflict, Forbidden, NotFound

DEFAULT_WORKER = "default-worker"
DEFAULT_MASTER = "default-master"

NODE_ACTIVE = "ACTIVE"
NODE_STOPPED = "SHUTOFF"


@dataclass
class Node:
    """One worker instance (a Nova server in real NKS)."""

    uuid: str
    name: str
    address: str
    status: str = NODE_ACTIVE
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def stopped(self) -> bool:
        return self.status == NODE_STOPPED


@dataclass
class NodeGroup:
    id: int
    uuid: str
    name: str
    cluster_uuid: str
    role: str  # "worker" | "master"
    is_default: bool
    flavor_id: str
    image_id: str
    labels: dict[str, Any]
    node_count: int
    stack_id: str
    status: str
    created_at: float
    status_reason: str | None = None
    updated_at: float | None = None
    min_node_count: int = 1
    max_node_count: int | None = None
    nodes: list[Node] = field(default_factory=list)
    answer_labels: dict[str, Any] = field(default_factory=dict)  # admin: shown verbatim
    nodes_created: int = 0  # numbers node names, which are never reused

    @property
    def is_master(self) -> bool:
        return self.role == "master"

    @property
    def kube_tag(self) -> str:
        return str(self.labels.get("kube_tag", ""))

    @property
    def autoscaler_enabled(self) -> bool:
        return str(self.labels.get("ca_enable", "false")).lower() == "true"

    @property
    def metric_autoscaler_enabled(self) -> bool:
        """Either metric autoscaler policy (`mba_scale_out` / `mba_scale_in`) is on."""
        policies = (self.labels.get("mba_scale_out"), self.labels.get("mba_scale_in"))
        return any(isinstance(p, dict) and p.get("enable") is True for p in policies)

    @property
    def any_autoscaler_enabled(self) -> bool:
        """No manual resize or node stop while either autoscaler is on (UG)."""
        return self.autoscaler_enabled or self.metric_autoscaler_enabled

    def node(self, uuid: str) -> Node | None:
        return next((n for n in self.nodes if n.uuid == uuid), None)

    def stopped_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.stopped]


@dataclass
class Event:
    """A task-history entry (`/events`)."""

    id: int
    uuid: str
    project_id: str
    cluster_uuid: str
    cluster_name: str
    resource_uuid: str
    resource_name: str
    resource_type: str  # "cluster" | "nodegroup"
    type: str
    state: str  # IN_PROGRESS | SUCCESS | FAIL
    contents: str | None
    created_at: float
    updated_at: float


@dataclass
class Addon:
    """An add-on installed on a cluster (the current edition's add-on API)."""

    uuid: str
    type: str
    name: str
    version: str
    options: dict[str, str]
    status: str
    created_at: float
    status_reason: str | None = None
    updated_at: float | None = None


@dataclass
class IpAcl:
    enable: bool = False
    action: str | None = None
    targets: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Cluster:
    id: int
    uuid: str
    name: str
    project_id: str
    user_id: str
    keypair: str
    fixed_network: str
    fixed_subnet: str
    subnet_cidr: str
    cluster_template_id: str
    create_timeout: int
    labels: dict[str, Any]  # cluster-level labels; worker labels live on default-worker
    stack_id: str
    status: str
    created_at: float
    status_reason: str | None = None
    updated_at: float | None = None
    api_address: str | None = None
    nodegroups: list[NodeGroup] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    ipacl: IpAcl = field(default_factory=IpAcl)
    certificate_generation: int = 0
    task_id: int | None = None  # the running asynchronous operation, if any
    addresses_allocated: int = 0
    addons: list[Addon] = field(default_factory=list)  # installed, in install order
    answer_labels: dict[str, Any] = field(default_factory=dict)  # admin: shown verbatim

    @property
    def master(self) -> NodeGroup:
        return next(ng for ng in self.nodegroups if ng.is_master)

    @property
    def default_worker(self) -> NodeGroup | None:
        return next((ng for ng in self.nodegroups if ng.name == DEFAULT_WORKER), None)

    @property
    def workers(self) -> list[NodeGroup]:
        return [ng for ng in self.nodegroups if not ng.is_master]

    @property
    def kube_tag(self) -> str:
        return self.master.kube_tag

    @property
    def busy(self) -> bool:
        return self.task_id is not None

    def nodegroup_by_uuid(self, uuid: str) -> NodeGroup | None:
        return next((ng for ng in self.nodegroups if ng.uuid == uuid), None)

    def find_nodegroup(self, ident: str) -> NodeGroup:
        """A node group by UUID or name (names are unique within a cluster)."""
        for ng in self.nodegroups:
            if ident in (ng.uuid, ng.name):
                return ng
        raise NotFound(f"Nodegroup {ident} could not be found.")

    def find_worker(self, ident: str) -> NodeGroup:
        """A node group that may be read or changed: the control plane is off limits."""
        ng = self.find_nodegroup(ident)
        if ng.is_master:
            raise Forbidden(
                f"Nodegroup {DEFAULT_MASTER} can not be accessed; it is usable only as the "
                "target of an upgrade."
            )
        return ng

    def event(self, uuid: str) -> Event | None:
        return next((e for e in self.events if e.uuid == uuid), None)

    def addon_by_uuid(self, uuid: str) -> Addon | None:
        return next((a for a in self.addons if a.uuid == uuid), None)

    def find_addon(self, ident: str) -> Addon:
        """An installed add-on by UUID or name."""
        for addon in self.addons:
            if ident in (addon.uuid, addon.name):
                return addon
        raise NotFound(f"Addon {ident} is not installed on cluster {self.name}.")


@dataclass
class Tenant:
    """One project: its clusters (in creation order) and the UUIDs it has deleted."""

    id: str
    clusters: dict[str, Cluster] = field(default_factory=dict)
    deleted: list[dict[str, Any]] = field(default_factory=list)

    def find_cluster(self, ident: str) -> Cluster:
        """A cluster by UUID, else by name: 409 when the name is ambiguous (upstream)."""
        if ident in self.clusters:
            return self.clusters[ident]
        named = [c for c in self.clusters.values() if c.name == ident]
        if len(named) > 1:
            raise Conflict(
                f"Multiple clusters exist with same name. Please use the cluster uuid instead "
                f"of name ({ident})."
            )
        if not named:
            raise NotFound(f"Cluster {ident} could not be found.")
        return named[0]


@dataclass
class Store:
    """Every tenant's world plus the id sequences NKS numbers clusters, groups and tasks by."""

    tenants: dict[str, Tenant] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _event_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(3000))

    def tenant(self, tenant_id: str) -> Tenant:
        if tenant_id not in self.tenants:
            self.tenants[tenant_id] = Tenant(tenant_id)
        return self.tenants[tenant_id]

    def next_id(self) -> int:
        return next(self._ids)

    def next_event_id(self) -> int:
        return next(self._event_ids)

    def clear(self) -> None:
        self.tenants.clear()

    def cluster_count(self) -> int:
        return sum(len(t.clusters) for t in self.tenants.values())
