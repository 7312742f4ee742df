"""A cluster's `health_status` and `health_status_reason`, read tolerantly.

The current edition documents `FRESH` / `STALE` / `ROTTEN` (how current NKS's view of the
API and the nodes is) and a structured reason; both editions' examples still show
`HEALTHY` with a per-node reason (contested: docs/nks-api-notes.md, "Cluster and node group
answers"). The three documented values map to `Freshness`; any other stays an opaque
string in `Cluster.health_status`.

The reason's keys are dotted names (`cluster.api_status`, `nodegroup.node_status.<group>`,
`nodegroup-stats.<group>` as `"<ready>:<not ready>"`), sent as flat keys (Live) or nested
objects (the names read either way): both are read. A value that cannot be read makes
that one item unknown (None), named in `unreadable`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nks_operator.nks.models.base import read_timestamp


class Freshness(enum.StrEnum):
    FRESH = "FRESH"  # the API and node states are current
    STALE = "STALE"  # not refreshed for a while
    ROTTEN = "ROTTEN"  # not refreshed for long: not to be trusted


def freshness(health_status: str | None) -> Freshness | None:
    """The documented value, or None (absent, or another value such as `HEALTHY`)."""
    try:
        return Freshness((health_status or "").strip().upper())
    except ValueError:
        return None


@dataclass(frozen=True)
class NodeCounts:
    """`nodegroup-stats.<group>`: how many of the group's nodes are Ready and not."""

    ready: int
    not_ready: int


@dataclass(frozen=True)
class HealthReason:
    """The parsed `health_status_reason` (every item None when absent or unreadable).

    `api`: `OK` / `NOT_OK`; `api_status`: `NORMAL`, `STALED_DATA`, `ROTTEN_DATA`,
    `K8S_API_NOT_WORKING`; `node_status` and the per-group `group_node_status`: `NORMAL`,
    `STALED_DATA`, `ROTTEN_DATA`, `NOT_READY_NODE_EXIST`, `ALL_NODES_NOT_READY` (kept as
    text: the set may grow). `other`: keys not documented (e.g. the copy's
    `<node>.Ready`), verbatim.
    """

    timestamp: datetime | None = None
    api: str | None = None
    api_status: str | None = None
    node_status: str | None = None
    group_node_status: Mapping[str, str] = field(default_factory=dict)
    group_nodes: Mapping[str, NodeCounts] = field(default_factory=dict)
    other: Mapping[str, Any] = field(default_factory=dict)
    unreadable: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Any) -> HealthReason | None:
        """None when there is no reason (absent, null, empty); never raises."""
        if not isinstance(raw, Mapping) or not raw:
            return None
        flat = _flatten(raw)
        unreadable: dict[str, str] = {}
        group_status: dict[str, str] = {}
        group_nodes: dict[str, NodeCounts] = {}
        other: dict[str, Any] = {}
        texts: dict[str, str | None] = {"api": None, "api_status": None, "node_status": None}
        timestamp: datetime | None = None
        for key, value in flat.items():
            if key == "timestamp":
                try:
                    timestamp = read_timestamp(value)
                except ValueError as exc:
                    unreadable[key] = str(exc)
            elif key in ("api", "cluster.api_status", "cluster.node_status"):
                name = {"api": "api", "cluster.api_status": "api_status"}.get(key, "node_status")
                texts[name] = _text(value, key, unreadable)
            elif key.startswith("nodegroup.node_status."):
                text = _text(value, key, unreadable)
                if text is not None:
                    group_status[key.removeprefix("nodegroup.node_status.")] = text
            elif key.startswith("nodegroup-stats."):
                counts = _counts(value)
                if counts is None:
                    unreadable[key] = 'expected "<ready>:<not ready>"'
                else:
                    group_nodes[key.removeprefix("nodegroup-stats.")] = counts
            else:
                other[key] = value
        return cls(
            timestamp=timestamp,
            group_node_status=group_status,
            group_nodes=group_nodes,
            other=other,
            unreadable=unreadable,
            **texts,
        )


# Group names never hold dots (`[a-z0-9-]`), so a nested group level joins back exactly.
def _flatten(raw: Mapping[Any, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _text(value: Any, key: str, unreadable: dict[str, str]) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if value not in (None, ""):
        unreadable[key] = "expected text"
    return None


def _counts(value: Any) -> NodeCounts | None:
    if not isinstance(value, str):
        return None
    ready, colon, not_ready = value.strip().partition(":")
    if not colon or not ready.isdigit() or not not_ready.isdigit():
        return None
    return NodeCounts(int(ready), int(not_ready))
