"""The operator's one copy of every NKSCluster and NKSNodeGroup it manages.

kopf's watch delivers each object; the cache keeps a trimmed reference to it (no copy:
`metadata.managedFields` and kubectl's last-applied annotation are dropped, nothing else
is duplicated) and the index that node groups need: which node groups name an NKSCluster.

Status written by the operator reaches the watch a moment later. Until the watch shows an
object with that status (or that resourceVersion, or a later one), the cache serves the
status the operator wrote, so a pass never acts on the status before its own last write:
that could send an operation twice. The echo may also arrive before the write's answer:
then the watch is current already and nothing is overlaid (else someone else's later
status change would stay hidden behind it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Annotations the operator writes itself: a change of these wakes nothing.
OWN_ANNOTATIONS = frozenset({"nks.nhncloud.com/create-requested"})


class ObjectKey(NamedTuple):
    kind: str  # "NKSCluster" | "NKSNodeGroup"
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def trim(body: dict[str, Any]) -> dict[str, Any]:
    """What a reconcile pass reads of an object; shares the sub-objects of `body`."""
    meta = body.get("metadata") or {}
    kept_meta = {
        key: meta[key]
        for key in (
            "name",
            "namespace",
            "uid",
            "generation",
            "resourceVersion",
            "labels",
            "finalizers",
            "deletionTimestamp",
            "creationTimestamp",
        )
        if key in meta
    }
    annotations = meta.get("annotations")
    if annotations:
        kept = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
        if kept:
            kept_meta["annotations"] = kept
    trimmed: dict[str, Any] = {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": kept_meta,
    }
    if "spec" in body:
        trimmed["spec"] = body["spec"]
    if "status" in body:
        trimmed["status"] = body["status"]
    return trimmed


def _trigger(body: dict[str, Any]) -> tuple[Any, ...]:
    """What of an object a user (or Kubernetes) changes: a change needs a pass."""
    meta = body["metadata"]
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k not in OWN_ANNOTATIONS
    }
    return (
        meta.get("generation"),
        meta.get("deletionTimestamp"),
        tuple(sorted(annotations.items())),
        tuple(sorted((meta.get("labels") or {}).items())),
    )


def _newer(seen: str | None, version: str | None) -> bool:
    """`seen` is known to come after `version`. resourceVersions are opaque; the decimal
    numbers etcd gives are compared, anything else is never known to be newer."""
    if seen is None or version is None or not (seen.isdigit() and version.isdigit()):
        return False
    return int(seen) > int(version)


def _parent_view(body: dict[str, Any]) -> tuple[Any, ...]:
    """What of an NKSCluster its node groups read."""
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
        body["metadata"].get("deletionTimestamp"),
    )


@dataclass(frozen=True)
class Stored:
    """What a watch event changed."""

    needs_pass: bool  # new, or changed by someone else than the operator's status writes
    parent_changed: bool  # (NKSCluster) its node groups should look again


class ObjectCache:
    def __init__(self) -> None:
        self._objects: dict[ObjectKey, dict[str, Any]] = {}
        # Status the operator wrote, until the watch echoes it: key -> (resourceVersion, status).
        self._written: dict[ObjectKey, tuple[str | None, dict[str, Any]]] = {}
        # Node groups by the NKSCluster their spec names: (namespace, name) -> keys.
        self._children: dict[tuple[str, str], set[ObjectKey]] = defaultdict(set)
        self._parent_of: dict[ObjectKey, tuple[str, str]] = {}

    # -- fed by the watch ----------------------------------------------------------------

    def store(self, key: ObjectKey, body: dict[str, Any]) -> Stored:
        """The watch saw `body`: keep it, and say what changed."""
        previous = self._objects.get(key)
        trimmed = trim(body)
        written = self._written.get(key)
        if written is not None:
            version, status = written
            seen = trimmed["metadata"].get("resourceVersion")
            if seen == version or trimmed.get("status") == status or _newer(seen, version):
                del self._written[key]
            else:
                trimmed["status"] = status
        self._objects[key] = trimmed
        if key.kind == "NKSNodeGroup":
            parent = ((trimmed.get("spec") or {}).get("clusterRef") or {}).get("name")
            self._set_parent(key, (key.namespace, parent) if parent else None)
        if previous is None:
            return Stored(True, True)
        return Stored(
            _trigger(previous) != _trigger(trimmed),
            key.kind == "NKSCluster" and _parent_view(previous) != _parent_view(trimmed),
        )

    def forget(self, key: ObjectKey) -> None:
        self._objects.pop(key, None)
        self._written.pop(key, None)
        self._set_parent(key, None)

    # -- fed by the operator's own writes ------------------------------------------------

    def wrote_status(
        self, key: ObjectKey, status: dict[str, Any], result: dict[str, Any] | None
    ) -> bool:
        """The operator patched status: serve it until the watch shows it. True when an
        NKSCluster's node groups should look again (the watch's echo will not say so:
        by then the cache already holds this status)."""
        current = self._objects.get(key)
        if current is None:
            return False
        before = _parent_view(current) if key.kind == "NKSCluster" else None
        version = None
        if result is not None:
            version = (result.get("metadata") or {}).get("resourceVersion")
            seen = current["metadata"].get("resourceVersion")
            if seen == version or _newer(seen, version):
                return False  # the watch delivered this write (or a later one) already
            current["metadata"]["resourceVersion"] = version
        current["status"] = status
        self._written[key] = (version, status)
        return before is not None and before != _parent_view(current)

    def wrote_metadata(self, key: ObjectKey, result: dict[str, Any]) -> None:
        """The operator patched metadata (finalizer, intent): serve the answer."""
        current = self._objects.get(key)
        if current is None:
            return
        current["metadata"] = trim(result)["metadata"]

    # -- read by passes ------------------------------------------------------------------

    def get(self, key: ObjectKey) -> dict[str, Any] | None:
        return self._objects.get(key)

    def children(self, namespace: str, cluster_name: str) -> list[ObjectKey]:
        return sorted(self._children.get((namespace, cluster_name), ()))

    def keys(self, kind: str | None = None) -> Iterator[ObjectKey]:
        return (k for k in list(self._objects) if kind is None or k.kind == kind)

    def __len__(self) -> int:
        return len(self._objects)

    def _set_parent(self, key: ObjectKey, parent: tuple[str, str] | None) -> None:
        old = self._parent_of.pop(key, None)
        if old is not None:
            self._children[old].discard(key)
            if not self._children[old]:
                del self._children[old]
        if parent is not None:
            self._parent_of[key] = parent
            self._children[parent].add(key)
