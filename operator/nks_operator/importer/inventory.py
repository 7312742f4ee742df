"""What the import reads from NKS: clusters, their node groups, IP ACLs and the supported
versions - read calls only, as the same wire dicts the operator's poller hands to
`reconcile/` (so the mapping and the checks see exactly what the operator will see)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nks_operator.importer.errors import ImportFailed
from nks_operator.nks import errors
from nks_operator.polling.accounts import Gateway
from nks_operator.reconcile.day2 import CONTROL_PLANE, DEFAULT_WORKER

# Clusters read at a time (each is four or more GETs).
CONCURRENCY = 8


def is_control_plane(group: dict[str, Any]) -> bool:
    """`default-master` is in the real node group list; neither a worker nor readable."""
    return group.get("name") == CONTROL_PLANE or str(group.get("role") or "") == "master"


@dataclass
class ClusterRecord:
    """One NKS cluster as read: details, node groups by name, IP ACL."""

    details: dict[str, Any]
    nodegroups: dict[str, dict[str, Any]]  # name -> GET body (list entry if unreadable)
    ip_acl: dict[str, Any] | None = None  # GET api_ep_ipacl; None when it could not be read
    ip_acl_error: str | None = None

    @property
    def uuid(self) -> str:
        return str(self.details["uuid"])

    @property
    def name(self) -> str:
        return str(self.details.get("name") or "")

    @property
    def status(self) -> str | None:
        return self.details.get("status")

    @property
    def default_worker(self) -> dict[str, Any] | None:
        return self.nodegroups.get(DEFAULT_WORKER)

    @property
    def extra_groups(self) -> list[dict[str, Any]]:
        """Node groups other than the defaults, by name."""
        return sorted(
            (
                g
                for name, g in self.nodegroups.items()
                if name != DEFAULT_WORKER and not is_control_plane(g)
            ),
            key=lambda g: (str(g.get("name") or ""), str(g.get("uuid") or "")),
        )


@dataclass
class Inventory:
    clusters: list[ClusterRecord]
    supported: dict[str, bool]
    skipped: list[str] = field(default_factory=list)  # clusters gone while being read


def select(summaries: Sequence[dict[str, Any]], wanted: Sequence[str]) -> list[str]:
    """UUIDs of the clusters to import: all, or the ones named (by UUID or NKS name)."""
    if not wanted:
        return [str(s["uuid"]) for s in summaries]
    chosen: list[str] = []
    for ident in wanted:
        matches = [s for s in summaries if s.get("uuid") == ident]
        if not matches:
            matches = [s for s in summaries if s.get("name") == ident]
        if not matches:
            raise ImportFailed(f"no NKS cluster {ident!r} in this project and region")
        if len(matches) > 1:
            ids = ", ".join(str(s["uuid"]) for s in matches)
            raise ImportFailed(f"several NKS clusters are named {ident!r} ({ids}): give the UUID")
        uuid = str(matches[0]["uuid"])
        if uuid not in chosen:
            chosen.append(uuid)
    return chosen


async def _read_nodegroups(gateway: Gateway, cluster_id: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for item in await gateway.list_nodegroups(cluster_id):
        name = str(item.get("name") or "")
        if is_control_plane(item):
            groups[name] = item  # a GET answers 403; the list entry is all there is
            continue
        try:
            groups[name] = await gateway.get_nodegroup(cluster_id, str(item["uuid"]))
        except errors.NotFoundError:
            continue  # deleted between the list and the GET
        except errors.ForbiddenError:
            groups[name] = item
    return groups


async def _read_ip_acl(
    gateway: Gateway, cluster_id: str
) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return await gateway.get_ip_acl(cluster_id), None
    except (errors.InvalidRequestError, errors.ForbiddenError, errors.NotFoundError) as error:
        # Refused for this cluster (e.g. one still being created): the ACL is left unmanaged.
        return None, str(error)


async def _read_cluster(gateway: Gateway, cluster_id: str) -> ClusterRecord:
    details = await gateway.get_cluster(cluster_id)
    nodegroups = await _read_nodegroups(gateway, cluster_id)
    ip_acl, ip_acl_error = await _read_ip_acl(gateway, cluster_id)
    return ClusterRecord(details, nodegroups, ip_acl, ip_acl_error)


async def read(gateway: Gateway, wanted: Sequence[str] = ()) -> Inventory:
    """Everything the import needs, for all clusters of the project (or the named ones)."""
    summaries = await gateway.list_clusters()
    ids = select(summaries, wanted)
    supported = await gateway.get_supports()
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(cluster_id: str) -> ClusterRecord | str:
        async with limit:
            try:
                return await _read_cluster(gateway, cluster_id)
            except errors.NotFoundError:
                if wanted:
                    raise ImportFailed(f"NKS cluster {cluster_id} disappeared while read") from None
                return f"NKS cluster {cluster_id} disappeared while being read; not imported"

    results = await asyncio.gather(*(one(c) for c in ids), return_exceptions=True)
    for result in results:  # every read has ended: the first failure is the answer
        if isinstance(result, BaseException):
            raise result
    return Inventory(
        clusters=[r for r in results if isinstance(r, ClusterRecord)],
        supported=supported,
        skipped=[r for r in results if isinstance(r, str)],
    )
