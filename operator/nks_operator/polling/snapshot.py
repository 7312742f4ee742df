"""What the poller knows about one NKS cluster, handed to the reconcilers read-only."""

from __future__ import annotations

from dataclasses import dataclass, field

from nks_operator.nks.models import Cluster, NodeGroup, TaskEvent, is_in_progress

# Task history kept per cluster: enough to follow operations and post each task once.
KEPT_TASKS = 30


@dataclass
class ClusterSnapshot:
    """The latest view of one cluster: details, node groups and recent task history."""

    uuid: str
    cluster: Cluster | None = None  # GET /v1/clusters/{id} (the list entry until read)
    detailed: bool = False  # `cluster` is a GET answer, not just the list entry
    nodegroups: dict[str, NodeGroup] = field(default_factory=dict)  # name -> GET answer
    tasks: list[TaskEvent] = field(default_factory=list)  # oldest first, the newest only
    gone: bool = False  # NKS answered 404: the cluster no longer exists
    # Answers NKS gave that could not be read, by what they describe ("cluster", or a node
    # group's name or uuid): the resources they belong to say so instead of guessing.
    problems: dict[str, str] = field(default_factory=dict)
    # Why the last detail read failed (5xx, timeout, 429...): the view is old until a read
    # succeeds, so nothing is planned on it.
    read_error: str | None = None
    refreshed_at: float = 0.0  # monotonic time of the last detail refresh
    # Monotonic time of the last cluster GET: a refresh while only node groups move keeps
    # the GET it has (`AccountPoller._kept_cluster`), for at most `slow_seconds`.
    cluster_read_at: float = 0.0
    # Monotonic time of the last look that found its states as the snapshot shows them
    # while an awaited operation runs (the list entries only, not a refresh).
    checked_at: float = 0.0
    version: int = 0  # bumped on every change a reconciler should react to

    @property
    def status(self) -> str | None:
        return None if self.cluster is None else self.cluster.status

    @property
    def ready_to_use(self) -> bool:
        """Details have been read (a reconciler may act on them)."""
        return self.detailed and self.cluster is not None

    @property
    def busy(self) -> bool:
        """An operation runs on the cluster or one of its worker node groups: NKS refuses
        (or silently drops) another one until it ends."""
        return is_in_progress(self.status) or any(
            is_in_progress(group.status) for group in self.workers().values()
        )

    def nodegroup(self, name: str) -> NodeGroup | None:
        return self.nodegroups.get(name)

    def nodegroup_by_uuid(self, uuid: str) -> NodeGroup | None:
        return next((g for g in self.nodegroups.values() if g.uuid == uuid), None)

    def workers(self) -> dict[str, NodeGroup]:
        """Node groups other than the control plane (`default-master`)."""
        groups = self.nodegroups.items()
        return {name: group for name, group in groups if not group.is_control_plane}

    def problem_of(self, *names: str | None) -> str | None:
        """The unreadable-answer problem recorded under any of `names`."""
        for name in names:
            if name is not None and name in self.problems:
                return self.problems[name]
        return None
