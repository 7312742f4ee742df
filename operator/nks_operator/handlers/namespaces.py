"""Serve a watched namespace that is being deleted, also when the operator starts then.

kopf (1.45) learns which namespaces match `--namespace` from a namespace watch. A namespace
whose deletion waits for finalizers ("termination pending") is kept if kopf served it
already, but never added when kopf first sees it so - after a restart, say. The finalizers
it waits for are this operator's: its NKSClusters' (deleted in NKS first) and the
credentials Secret's. Unserved, they would never be removed: the namespace would stay
Terminating and its NKS clusters billed. So such a namespace is served too, until kopf
sees it gone. (Cluster-wide operation, without `--namespace`, never had the problem.)
tests/e2e/test_two_tenants.py deletes a namespace while the operator is stopped.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from kopf._cogs.structs import references
from kopf._core.reactor import observation

_revise = observation.revise_namespaces


def terminating_match(event: Mapping[str, Any], patterns: Collection[Any]) -> str | None:
    """The namespace of `event` if it matches and its deletion waits on finalizers."""
    if event.get("type") == "DELETED":
        return None
    meta = (event.get("object") or {}).get("metadata") or {}
    name = meta.get("name")
    if not name or not meta.get("deletionTimestamp"):
        return None
    if not observation.get_blockers(event):  # type: ignore[arg-type]
        return None  # kopf itself stops serving it: nothing is left there
    if not any(references.match_namespace(name, p) for p in patterns):
        return None
    return str(name)


def revise_namespaces(
    *,
    insights: references.Insights,
    namespaces: Collection[references.NamespacePattern],
    raw_events: Collection[Any] = (),
    raw_bodies: Collection[Any] = (),
) -> None:
    _revise(insights=insights, namespaces=namespaces, raw_events=raw_events, raw_bodies=raw_bodies)
    events = [*raw_events, *({"type": None, "object": body} for body in raw_bodies)]
    for event in events:
        name = terminating_match(event, namespaces)
        if name is not None:
            insights.namespaces.add(references.NamespaceName(name))


def install() -> None:
    """Replace kopf's namespace revision with the one above (idempotent)."""
    observation.revise_namespaces = revise_namespaces
