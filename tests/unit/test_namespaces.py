"""A watched namespace whose deletion waits on the operator's finalizers stays served, also
when the operator first sees it in that state (kopf alone never adds it then)."""

from __future__ import annotations

from typing import Any

from kopf._cogs.structs import references
from kopf._core.reactor import observation

from nks_operator.handlers import namespaces

PENDING = [{"type": "NamespaceFinalizersRemaining", "status": "True", "reason": "Some"}]


def namespace(name: str, *, deleting: bool, conditions: list[Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-06T00:00:00Z"
    return {"metadata": meta, "status": {"conditions": conditions or []}}


def served(bodies: list[dict[str, Any]], revise: Any) -> set[str]:
    insights = references.Insights()
    revise(insights=insights, namespaces=["team-*"], raw_bodies=bodies)
    return {str(n) for n in insights.namespaces}


def test_kopf_alone_leaves_out_a_namespace_whose_deletion_is_pending() -> None:
    # The behaviour the module exists for: if kopf changes it, this says so.
    bodies = [namespace("team-a", deleting=True, conditions=PENDING)]
    assert served(bodies, observation.revise_namespaces) == set()


def test_a_pending_deletion_of_a_watched_namespace_is_served() -> None:
    bodies = [
        namespace("team-a", deleting=True, conditions=PENDING),
        namespace("team-b", deleting=False),
        namespace("other", deleting=True, conditions=PENDING),  # not watched
        namespace("team-c", deleting=True),  # deletion just begun: kopf serves it itself
    ]
    assert served(bodies, namespaces.revise_namespaces) == {"team-a", "team-b", "team-c"}


def test_a_deleted_namespace_is_dropped() -> None:
    insights = references.Insights()
    insights.namespaces.add(references.NamespaceName("team-a"))
    done = [{"type": "NamespaceFinalizersRemaining", "status": "False"}]
    gone = {"type": "DELETED", "object": namespace("team-a", deleting=True, conditions=done)}
    namespaces.revise_namespaces(insights=insights, namespaces=["team-*"], raw_events=[gone])
    assert not insights.namespaces
