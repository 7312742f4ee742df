"""What the poller knows about one NKS cluster, handed to the controllers read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ClusterSnapshot:
    """The latest view of one cluster: details, node groups and task history."""

    uuid: str
    summary: dict[str, Any] | None = None  # the list entry (wire JSON)
    details: dict[str, Any] | None = None  # GET /v1/clusters/{id} (wire JSON)
    nodegroups: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> GET body
    events: list[dict[str, Any]] = field(default_factory=list)  # /events, oldest first
    gone: bool = False  # NKS answered 404: the cluster no longer exists
    refreshed_at: float = 0.0  # monotonic time of the last detail refresh
    version: int = 0  # bumped on every change a controller should react to

    @property
    def status(self) -> str | None:
        source = self.details or self.summary or {}
        return source.get("status")

    def nodegroup(self, name: str) -> dict[str, Any] | None:
        return self.nodegroups.get(name)
