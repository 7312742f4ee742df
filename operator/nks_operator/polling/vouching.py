"""What a list entry or the task history vouches for: when the poller may keep an earlier
read instead of reading again (the list entries lack much of what a GET shows)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple

from nks_operator.nks.models import Cluster, NodeGroup, TaskEvent, is_in_progress
from nks_operator.polling.snapshot import ClusterSnapshot


def digest(entry: Cluster | NodeGroup, exclude: set[str] | None = None) -> bytes:
    """A list entry's fingerprint (16 bytes instead of the whole entry), without `exclude`."""
    text = entry.model_dump_json(exclude=exclude).encode()
    return hashlib.blake2b(text, digest_size=16).digest()


class EntryDigests:
    """Each cluster's list entry digest, computed once per answer: the client hands out the
    last list's model for an entry NKS answers as before (nks/listing.py), and answers
    are read-only, so the same object has the same digest."""

    def __init__(self) -> None:
        self._by_cluster: dict[str, tuple[Cluster, bytes]] = {}

    def of(self, cluster_id: str, entry: Cluster) -> bytes:
        known = self._by_cluster.get(cluster_id)
        if known is not None and known[0] is entry:
            return known[1]
        found = digest(entry)
        self._by_cluster[cluster_id] = (entry, found)
        return found

    def forget(self, cluster_id: str) -> None:
        self._by_cluster.pop(cluster_id, None)


class EntryKey(NamedTuple):
    """What a node group's list entry is compared by: its state and a fingerprint of the
    rest (kept per group instead of the entry itself)."""

    status: str | None
    rest: bytes


def entry_key(entry: NodeGroup) -> EntryKey:
    return EntryKey(entry.status, digest(entry, exclude={"status"}))


class GroupRead(NamedTuple):
    """A worker group's last GET answer and the list entry it was read beside."""

    entry: EntryKey
    answer: NodeGroup
    at: float


def listed_digest(summary: Cluster, snapshot: ClusterSnapshot, fingerprint: bytes) -> bytes:
    """The fingerprint the next list entry is compared with after a refresh: the entry's,
    unless the GET read after it shows another state (a write landed in between; the
    next entry would show it and call for the same reads again): then the GET's own
    values of the entry's fields. Should these not match the next entry, that one refresh
    runs and the state then agrees."""
    details = snapshot.cluster
    if (
        details is None
        or snapshot.gone
        or "cluster" in snapshot.problems  # the GET was unreadable: its values are old
        or details.status == summary.status
    ):
        return fingerprint
    listed = details.model_dump(mode="json", by_alias=True, include=summary.model_fields_set)
    return digest(Cluster.model_validate(listed))


def unmoved(summary: Cluster, details: Cluster, ignore: frozenset[str]) -> bool:
    """The cluster's list entry shows what its last GET showed, `ignore` aside."""
    fields = summary.model_fields_set - ignore
    return summary.model_dump(include=fields) == details.model_dump(include=fields)


def groups_settled(before: dict[str, NodeGroup], after: dict[str, NodeGroup]) -> bool:
    """A node group left, or ended an operation (or appeared idle), between two reads:
    what the cluster's GET shows of its nodes (addresses, health) may have moved."""
    if before.keys() - after.keys():
        return True
    for name, group in after.items():
        old = before.get(name)
        if (old is None or old.status != group.status) and not is_in_progress(group.status):
            return True
    return False


def deleting(status: str | None) -> bool:
    """A state of a deletion under way."""
    return (status or "").upper() == "DELETE_IN_PROGRESS"


def deleting_now(read: GroupRead, entry: EntryKey) -> bool:
    """The group's list entry moved to DELETE_IN_PROGRESS and nothing else of it did."""
    return deleting(entry.status) and read.entry.rest == entry.rest


def task_groups(before: Sequence[TaskEvent], after: Sequence[TaskEvent]) -> set[str] | None:
    """Names and uuids of the node groups that tasks new (or changed) since `before` are
    about; None when such a task names none (every group is then read)."""
    seen = {(task.uuid, task.state) for task in before}
    named: set[str] = set()
    for task in after:
        if (task.uuid, task.state) in seen or (task.resource_type or "").lower() == "cluster":
            continue
        names = {name for name in (task.resource_uuid, task.resource_name) if name}
        if not names:
            return None
        named |= names
    return named
