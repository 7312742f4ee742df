"""One managing resource per NKS cluster or node group, in the whole management cluster.

A resource acts on an NKS id (reads its kubeconfig, sends operations, deletes it) only
while it holds the id's NKSOwnership record (api/ownership.py). The record is claimed by
creating it, which the apiserver lets exactly one writer do; so a second NKSCluster naming
the same `clusterID` - in any namespace, shard or replica, or through a hand-written
status - is refused. A record whose owner no longer exists (its finalizer was forced off)
is taken over, again only by one writer (a replace conditional on the version read).

Verdicts are remembered per record for the life of the process: one apiserver call per
resource after a restart, none per pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from nks_operator.api.annotations import OWNER_UID_LABEL
from nks_operator.api.resources import CLUSTER, GROUP, NODEGROUP, OWNERSHIP, VERSION
from nks_operator.kube.api import KubeAPI
from nks_operator.kube.client import KubeAPIError, KubeConflict

logger = logging.getLogger(__name__)

NKSResource = Literal["cluster", "nodegroup"]
_KINDS = {CLUSTER.kind: CLUSTER, NODEGROUP.kind: NODEGROUP}


@dataclass(frozen=True)
class Owner:
    kind: str  # NKSCluster | NKSNodeGroup
    namespace: str
    name: str
    uid: str

    @classmethod
    def of(cls, kind: str, metadata: dict[str, Any]) -> Owner:
        return cls(kind, metadata["namespace"], metadata["name"], metadata["uid"])

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "uid": self.uid,
        }


def record_name(resource: NKSResource, nks_id: str) -> str:
    return f"{resource}.{nks_id.lower()}"


def _record(resource: NKSResource, nks_id: str, owner: Owner) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": OWNERSHIP.kind,
        "metadata": {
            "name": record_name(resource, nks_id),
            "labels": {
                "app.kubernetes.io/managed-by": "nks-operator",
                OWNER_UID_LABEL: owner.uid,
            },
        },
        "spec": {"resource": resource, "nksID": nks_id.lower(), "owner": owner.as_dict()},
    }


def _owner_uid(record: dict[str, Any] | None) -> str | None:
    if record is None:
        return None
    owner = (record.get("spec") or {}).get("owner") or {}
    uid = owner.get("uid")
    return str(uid) if uid else None


class Ownerships:
    """Claims, checks and releases NKSOwnership records."""

    def __init__(self, kube: KubeAPI) -> None:
        self.kube = kube
        # Record name -> owner UID, as last written or read by this process.
        self._known: dict[str, str] = {}
        # Record name -> the resourceVersion this process created it with: its release
        # deletes on that version alone, with no read (anything changed since: 409, read).
        self._created: dict[str, str] = {}

    async def claim(self, resource: NKSResource, nks_id: str, owner: Owner) -> bool:
        """Make `owner` the one manager of `nks_id`; False when another resource is."""
        name = record_name(resource, nks_id)
        if self._known.get(name) == owner.uid:
            return True
        body = _record(resource, nks_id, owner)
        for _ in range(3):  # a record deleted or taken over between our calls: look again
            try:
                created = await self.kube.create_ownership(body)
            except KubeConflict:
                existing = await self.kube.read_ownership(name)
                if existing is None:
                    continue
                holder = _owner_uid(existing)
                if holder == owner.uid:
                    break
                if holder is not None and not await self._gone(existing):
                    self._known[name] = holder
                    return False
                try:
                    await self.kube.replace_ownership(existing, body)
                except KubeConflict:
                    continue
                logger.info("%s: took over the record of a resource that no longer exists", name)
                self._created.pop(name, None)
                break
            version = (created.get("metadata") or {}).get("resourceVersion")
            if isinstance(version, str) and version:
                self._created[name] = version
            break
        else:
            raise KubeConflict(409, "Conflict", f"NKSOwnership {name} kept changing")
        self._known[name] = owner.uid
        return True

    async def owned_by(self, resource: NKSResource, nks_id: str, uid: str) -> bool | None:
        """Whether the record of `nks_id` names `uid`; None when there is no record yet."""
        name = record_name(resource, nks_id)
        known = self._known.get(name)
        if known == uid:
            return True
        record = await self.kube.read_ownership(name)
        holder = _owner_uid(record)
        if holder is None:
            return None
        self._known[name] = holder
        return holder == uid

    async def held_by(self, resource: NKSResource, owner: Owner) -> list[str]:
        """The NKS ids whose records name `owner`: what it manages, whatever its status
        says (status is no proof: anyone with access to it may have written it)."""
        records = await self.kube.list_ownerships(f"{OWNER_UID_LABEL}={owner.uid}")
        return sorted(
            str(spec["nksID"])
            for spec in ((r.get("spec") or {}) for r in records)
            if spec.get("resource") == resource
            and (spec.get("owner") or {}).get("uid") == owner.uid
            and spec.get("nksID")
        )

    async def release(self, resource: NKSResource, nks_id: str, owner: Owner) -> None:
        """Delete the record if `owner` holds it (never someone else's)."""
        name = record_name(resource, nks_id)
        version = self._created.pop(name, None)
        if version is not None and self._known.get(name) == owner.uid:
            try:
                await self.kube.delete_ownership(name, version)
            except KubeConflict:
                pass  # changed since this process wrote it: judged as read, below
            else:
                del self._known[name]
                return
        record = await self.kube.read_ownership(name)
        if record is not None and _owner_uid(record) == owner.uid:
            meta = record["metadata"]
            await self.kube.delete_ownership(name, meta["resourceVersion"], meta["uid"])
        if self._known.get(name) == owner.uid:
            del self._known[name]

    async def _gone(self, record: dict[str, Any]) -> bool:
        """Whether the record's owner no longer exists (or is another object now)."""
        owner = (record.get("spec") or {}).get("owner") or {}
        kind = _KINDS.get(str(owner.get("kind")))
        if kind is None or not owner.get("namespace") or not owner.get("name"):
            return True
        try:
            current = await self.kube.get_object(kind, owner["namespace"], owner["name"])
        except KubeAPIError as error:
            if error.status in (401, 403):
                return False  # outside what this operator may read: not known to be gone
            raise
        if current is None:
            return True
        return (current.get("metadata") or {}).get("uid") != owner.get("uid")
