"""Kubernetes names for imported clusters and node groups: derived from the NKS names,
valid, unique, and stable from one run to the next."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from nks_operator.importer.inventory import ClusterRecord

# A DNS label: the cluster's name also becomes a label value on its kubeconfig Secret
# (`cluster.x-k8s.io/cluster-name`), which allows at most 63 characters.
MAX_LENGTH = 63
_SUFFIX_LENGTHS = (8, 12, 32)


def kube_name(nks_name: str, fallback: str) -> str:
    """`nks_name` as a DNS label: lower case, [a-z0-9-], alphanumeric at both ends."""
    name = re.sub(r"[^a-z0-9-]+", "-", nks_name.lower())
    name = re.sub(r"-{2,}", "-", name)[:MAX_LENGTH].strip("-")
    return name or fallback


def _with_suffix(base: str, uuid: str, length: int) -> str:
    suffix = re.sub(r"[^a-z0-9]", "", uuid.lower())[:length] or "x"
    return f"{base[: MAX_LENGTH - len(suffix) - 1].rstrip('-')}-{suffix}"


def unique_names(
    candidates: Iterable[tuple[str, str]],
    *,
    taken: Iterable[str] = (),
    reuse: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """uuid -> name for (uuid, wanted name) pairs. A name wanted more than once, or already
    taken by another object, becomes `name-<uuid prefix>` for every holder, so the result
    does not depend on the order; `reuse` (uuid -> name) keeps existing names as they are."""
    wanted = list(candidates)
    reuse = {uuid: name for uuid, name in (reuse or {}).items() if uuid in dict(wanted)}
    pairs = [(uuid, name) for uuid, name in wanted if uuid not in reuse]
    used = set(taken) | set(reuse.values())
    counts = Counter(name for _, name in pairs)
    result = {uuid: name for uuid, name in reuse.items()}
    clashing = []
    for uuid, name in pairs:
        if counts[name] == 1 and name not in used:
            result[uuid] = name
            used.add(name)
        else:
            clashing.append((uuid, name))
    for uuid, name in clashing:
        for length in _SUFFIX_LENGTHS:
            candidate = _with_suffix(name, uuid, length)
            if candidate not in used:
                break
        result[uuid] = candidate
        used.add(candidate)
    return result


@dataclass
class Names:
    """Metadata names of what is imported, by NKS UUID."""

    clusters: dict[str, str] = field(default_factory=dict)
    nodegroups: dict[str, str] = field(default_factory=dict)


def nodegroup_base(cluster_name: str, group_name: str) -> str:
    """`<cluster's metadata name>-<node group>`: groups of all clusters share a namespace."""
    return kube_name(f"{cluster_name}-{group_name}", "nodegroup")


@dataclass
class Existing:
    """Resources already there: in the target namespace, name -> the NKS UUID it manages
    (None when it manages none yet); elsewhere, NKS UUID -> "Kind namespace/name"."""

    clusters: dict[str, str | None] = field(default_factory=dict)
    nodegroups: dict[str, str | None] = field(default_factory=dict)
    elsewhere: dict[str, str] = field(default_factory=dict)

    def managed_here(self) -> set[str]:
        """NKS UUIDs a resource in the target namespace already manages."""
        return {u for u in (*self.clusters.values(), *self.nodegroups.values()) if u}


def _split(existing: Mapping[str, str | None]) -> tuple[set[str], dict[str, str]]:
    """Every name is taken; the ones managing a UUID are reused for it."""
    reuse: dict[str, str] = {}
    for name, uuid in sorted(existing.items()):
        if uuid is not None:
            reuse.setdefault(uuid, name)
    return set(existing), reuse


def assign(
    clusters: Sequence[ClusterRecord],
    existing: Existing | None = None,
    skip: frozenset[str] = frozenset(),
) -> Names:
    """Names for every cluster and extra node group (but the UUIDs in `skip`); a resource
    that already manages one of them keeps its name (so new node groups point at it)."""
    existing = existing or Existing()
    taken, reuse = _split(existing.clusters)
    cluster_names = unique_names(
        ((c.uuid, kube_name(c.name, "cluster")) for c in clusters), taken=taken, reuse=reuse
    )
    taken, reuse = _split(existing.nodegroups)
    candidates = [
        (group.uuid, nodegroup_base(cluster_names[c.uuid], group.name or ""))
        for c in clusters
        for group in c.extra_groups
        if group.uuid not in skip
    ]
    return Names(cluster_names, unique_names(candidates, taken=taken, reuse=reuse))
