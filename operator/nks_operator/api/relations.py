"""How the two kinds relate, as the object cache needs to know it: an NKSNodeGroup names
its NKSCluster (`spec.clusterRef.name`, same namespace) and reads part of it."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from nks_operator.api.annotations import OWN_ANNOTATIONS
from nks_operator.api.resources import CLUSTER, NODEGROUP

Body = dict[str, Any]


def cluster_of(body: Body) -> str | None:
    """The NKSCluster an NKSNodeGroup names."""
    return ((body.get("spec") or {}).get("clusterRef") or {}).get("name") or None


def seen_by_node_groups(body: Body) -> Hashable:
    """What of an NKSCluster its node groups read: a change wakes them."""
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    ready = next(
        (c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"),
        None,
    )
    return (
        status.get("clusterID"),
        status.get("region"),
        ready,
        spec.get("region"),
        spec.get("kubernetesVersion"),
        str(spec.get("credentialsRef")),
        (body.get("metadata") or {}).get("deletionTimestamp"),
    )


PARENT_OF: Mapping[str, Callable[[Body], str | None]] = {NODEGROUP.kind: cluster_of}
"""By kind: the name of the object (same namespace) a resource of that kind depends on."""
SEEN_BY_CHILDREN: Mapping[str, Callable[[Body], Hashable]] = {CLUSTER.kind: seen_by_node_groups}
"""By kind: what the resources that depend on one read of it."""
__all__ = ["OWN_ANNOTATIONS", "PARENT_OF", "SEEN_BY_CHILDREN", "cluster_of", "seen_by_node_groups"]
