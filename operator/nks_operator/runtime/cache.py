"""The operator's one copy of every object it manages, of any kind.

kopf's watch delivers each object; the cache keeps a trimmed copy of it
(`metadata.managedFields` and kubectl's last-applied annotation dropped, its short strings
shared with every other object: json_answers.shared) and the index dependent objects
need: which objects name a parent. What the cache knows of the kinds (who names a
parent, what of a parent its children read, which annotations only the operator writes)
is given by the caller (api/relations.py).

Status written by the operator reaches the watch a moment later. Until the watch shows an
object with that status (or that resourceVersion, or a later one), the cache serves the
status the operator wrote, so a pass never acts on the status before its own last write:
that could send an operation twice. The echo may also arrive before the write's answer:
then the watch is current already and nothing is overlaid (else someone else's later
status change would stay hidden behind it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from nks_operator import json_answers

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

Body = dict[str, Any]
ParentOf = Callable[[Body], str | None]
"""The name of the object (same namespace) an object depends on; None: none."""
ChildrenView = Callable[[Body], Hashable]
"""What of an object the objects depending on it read."""


class ObjectKey(NamedTuple):
    kind: str
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


def _trigger(body: dict[str, Any], own_annotations: frozenset[str]) -> tuple[Any, ...]:
    """What of an object a user (or Kubernetes) changes: a change needs a pass."""
    meta = body["metadata"]
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k not in own_annotations
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


@dataclass(frozen=True)
class Stored:
    """What a watch event changed."""

    needs_pass: bool  # new, or changed by someone else than the operator's status writes
    parent_changed: bool  # the objects depending on it should look again


class ObjectCache:
    def __init__(
        self,
        *,
        parent_of: Mapping[str, ParentOf] | None = None,
        children_view: Mapping[str, ChildrenView] | None = None,
        own_annotations: frozenset[str] = frozenset(),
    ) -> None:
        """`parent_of` / `children_view`: by kind (kinds without one have no parent or no
        children); `own_annotations`: annotations only the operator writes, whose changes
        wake nothing."""
        self._parent_of_kind = dict(parent_of or {})
        self._children_view = dict(children_view or {})
        self._own_annotations = own_annotations
        self._objects: dict[ObjectKey, dict[str, Any]] = {}
        # Status the operator wrote, until the watch echoes it: key -> (resourceVersion, status).
        self._written: dict[ObjectKey, tuple[str | None, dict[str, Any]]] = {}
        # Objects by the parent they name: (namespace, name) -> keys.
        self._children: dict[tuple[str, str], set[ObjectKey]] = defaultdict(set)
        self._parent_of: dict[ObjectKey, tuple[str, str]] = {}

    # -- fed by the watch ----------------------------------------------------------------

    def store(self, key: ObjectKey, body: dict[str, Any]) -> Stored:
        """The watch saw `body`: keep it, and say what changed."""
        previous = self._objects.get(key)
        # A copy, with the strings every object repeats (keys, kinds, condition types)
        # shared: kopf's decoded event is dropped once handled.
        trimmed = json_answers.shared(trim(body))
        written = self._written.get(key)
        if written is not None:
            version, status = written
            seen = trimmed["metadata"].get("resourceVersion")
            if seen == version or trimmed.get("status") == status or _newer(seen, version):
                del self._written[key]
            else:
                trimmed["status"] = status
        self._objects[key] = trimmed
        parent_of = self._parent_of_kind.get(key.kind)
        if parent_of is not None:
            parent = parent_of(trimmed)
            self._set_parent(key, (key.namespace, parent) if parent else None)
        if previous is None:
            return Stored(True, True)
        own = self._own_annotations
        return Stored(
            _trigger(previous, own) != _trigger(trimmed, own),
            self._view(key, previous) != self._view(key, trimmed),
        )

    def _view(self, key: ObjectKey, body: dict[str, Any]) -> Hashable:
        """What the objects depending on `key` read of it (None: nothing depends on it)."""
        view = self._children_view.get(key.kind)
        return None if view is None else view(body)

    def forget(self, key: ObjectKey) -> None:
        self._objects.pop(key, None)
        self._written.pop(key, None)
        self._set_parent(key, None)

    # -- fed by the operator's own writes ------------------------------------------------

    def wrote_status(
        self, key: ObjectKey, status: dict[str, Any], result: dict[str, Any] | None
    ) -> bool:
        """The operator patched status: serve it until the watch shows it. True when the
        objects depending on it should look again (the watch's echo will not say so: by
        then the cache already holds this status)."""
        current = self._objects.get(key)
        if current is None:
            return False
        before = self._view(key, current)
        version = None
        if result is not None:
            version = (result.get("metadata") or {}).get("resourceVersion")
            seen = current["metadata"].get("resourceVersion")
            if seen == version or _newer(seen, version):
                return False  # the watch delivered this write (or a later one) already
            current["metadata"]["resourceVersion"] = version
        current["status"] = status
        self._written[key] = (version, status)
        return before is not None and before != self._view(key, current)

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
