"""What the import reads from NKS: clusters, their node groups, IP ACLs, installed
add-ons, the supported versions and the compute servers (the nodes' power states) - read
calls only, as the typed answers the operator's poller hands to `reconcile/` (so the
mapping and the checks see exactly what the operator will see)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from nks_operator.importer.errors import ImportFailed
from nks_operator.importer.nodes import Nodes, Servers, node_states, read_servers
from nks_operator.nks import NKSClient, errors
from nks_operator.nks.listing import Listing
from nks_operator.nks.models import IPACL, Cluster, InstalledAddon, NodeGroup
from nks_operator.nks.models.nodegroup import DEFAULT_MASTER, DEFAULT_WORKER

# Clusters read at a time (each is four or more GETs).
CONCURRENCY = 8


def is_control_plane(group: NodeGroup) -> bool:
    """`default-master` is in the real node group list; neither a worker nor readable."""
    return group.name == DEFAULT_MASTER or (group.role or "worker") == "master"


@dataclass
class ClusterRecord:
    """One NKS cluster as read: details, node groups by name, IP ACL, installed add-ons."""

    cluster: Cluster
    nodegroups: dict[str, NodeGroup]  # name -> GET answer (list entry if the GET is refused)
    ip_acl: IPACL | None = None  # GET api_ep_ipacl; None when it could not be read
    ip_acl_error: str | None = None
    unreadable_groups: list[str] = field(default_factory=list)  # list entries, described
    # GET .../addons; None when it could not be read (or NKS described an entry unreadably)
    addons: list[InstalledAddon] | None = None
    addons_error: str | None = None

    @property
    def uuid(self) -> str:
        return self.cluster.uuid

    @property
    def name(self) -> str:
        return self.cluster.name or ""

    @property
    def status(self) -> str | None:
        return self.cluster.status

    @property
    def default_worker(self) -> NodeGroup | None:
        return self.nodegroups.get(DEFAULT_WORKER)

    @property
    def extra_groups(self) -> list[NodeGroup]:
        """Node groups other than the defaults, by name."""
        return sorted(
            (
                group
                for name, group in self.nodegroups.items()
                if name != DEFAULT_WORKER and not is_control_plane(group)
            ),
            key=lambda group: (group.name or "", group.uuid),
        )


@dataclass
class Inventory:
    clusters: list[ClusterRecord]
    supported: dict[str, bool]
    skipped: list[str] = field(default_factory=list)  # clusters not read, and why
    servers: Servers = field(default_factory=lambda: Servers(Listing()))

    def nodes(self, group: NodeGroup) -> Nodes:
        """The group's nodes with their power states, or why they are unknown."""
        return node_states(group, self.servers)


def _unreadable_clusters(clusters: Sequence[Cluster]) -> list[str]:
    return [
        f"NKS listed a cluster the import could not read ({entry.describe()}); not imported"
        for entry in getattr(clusters, "unreadable", ())
    ]


def select(clusters: Sequence[Cluster], wanted: Sequence[str]) -> list[str]:
    """UUIDs of the clusters to import: all, or the ones named (by UUID or NKS name)."""
    if not wanted:
        return [cluster.uuid for cluster in clusters]
    chosen: list[str] = []
    for ident in wanted:
        matches = [c for c in clusters if c.uuid == ident] or [
            c for c in clusters if c.name == ident
        ]
        unreadable = [
            entry
            for entry in getattr(clusters, "unreadable", ())
            if ident in (entry.uuid, entry.name)
        ]
        if not matches and unreadable:
            raise ImportFailed(
                f"NKS lists cluster {ident!r} in a shape the import cannot read "
                f"({unreadable[0].describe()})"
            )
        if not matches:
            raise ImportFailed(f"no NKS cluster {ident!r} in this project and region")
        if len(matches) > 1:
            ids = ", ".join(c.uuid for c in matches)
            raise ImportFailed(f"several NKS clusters are named {ident!r} ({ids}): give the UUID")
        if matches[0].uuid not in chosen:
            chosen.append(matches[0].uuid)
    return chosen


async def _read_nodegroups(
    nks: NKSClient, cluster_id: str
) -> tuple[dict[str, NodeGroup], list[str]]:
    """Node groups by name, and the list entries that could not be read (described)."""
    groups: dict[str, NodeGroup] = {}
    listed = await nks.list_nodegroups(cluster_id)
    for item in listed:
        name = item.name or item.uuid
        if is_control_plane(item):
            groups[name] = item  # a GET answers 403; the list entry is all there is
            continue
        try:
            groups[name] = await nks.get_nodegroup(cluster_id, item.uuid)
        except errors.NotFoundError:
            continue  # deleted between the list and the GET
        except errors.ForbiddenError:
            groups[name] = item
    return groups, [entry.describe() for entry in getattr(listed, "unreadable", ())]


async def _read_ip_acl(nks: NKSClient, cluster_id: str) -> tuple[IPACL | None, str | None]:
    try:
        return await nks.get_ip_acl(cluster_id), None
    except (errors.InvalidRequestError, errors.ForbiddenError, errors.NotFoundError) as error:
        # Refused for this cluster (e.g. one still being created): the ACL is left unmanaged.
        return None, str(error)


async def _read_addons(
    nks: NKSClient, cluster_id: str
) -> tuple[list[InstalledAddon] | None, str | None]:
    try:
        listing = await nks.list_cluster_addons(cluster_id)
    except (errors.InvalidRequestError, errors.ForbiddenError, errors.NotFoundError) as error:
        # Refused (no add-on API, the NKS registry not enabled, ...): add-ons stay unmanaged.
        return None, str(error)
    if listing.unreadable:
        described = "; ".join(entry.describe() for entry in listing.unreadable)
        return None, f"NKS listed add-ons the import could not read ({described})"
    return list(listing), None


async def _read_cluster(nks: NKSClient, cluster_id: str) -> ClusterRecord:
    cluster = await nks.get_cluster(cluster_id)
    nodegroups, unreadable = await _read_nodegroups(nks, cluster_id)
    ip_acl, ip_acl_error = await _read_ip_acl(nks, cluster_id)
    addons, addons_error = await _read_addons(nks, cluster_id)
    return ClusterRecord(
        cluster, nodegroups, ip_acl, ip_acl_error, unreadable, addons, addons_error
    )


def _has_nodes(records: Sequence[ClusterRecord]) -> bool:
    return any(
        group.node_addresses != []
        for record in records
        for group in record.nodegroups.values()
        if not is_control_plane(group)
    )


async def read(nks: NKSClient, wanted: Sequence[str] = ()) -> Inventory:
    """Everything the import needs, for all clusters of the project (or the named ones)."""
    listed = await nks.list_clusters()
    ids = select(listed, wanted)
    supports = await nks.get_supports()
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(cluster_id: str) -> ClusterRecord | str:
        async with limit:
            try:
                return await _read_cluster(nks, cluster_id)
            except errors.NotFoundError:
                if wanted:
                    raise ImportFailed(f"NKS cluster {cluster_id} disappeared while read") from None
                return f"NKS cluster {cluster_id} disappeared while being read; not imported"

    results = await asyncio.gather(*(one(c) for c in ids), return_exceptions=True)
    for result in results:  # every read has ended: the first failure is the answer
        if isinstance(result, BaseException):
            raise result
    records = [r for r in results if isinstance(r, ClusterRecord)]
    # One listing of the project's servers serves every group, as in the operator.
    servers = await read_servers(nks) if _has_nodes(records) else Servers(Listing())
    return Inventory(
        clusters=records,
        supported={version: bool(ok) for version, ok in supports.supported_k8s.items()},
        skipped=[r for r in results if isinstance(r, str)]
        + ([] if wanted else _unreadable_clusters(listed)),
        servers=servers,
    )
