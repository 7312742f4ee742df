"""Asynchronous operations: `*_IN_PROGRESS` now, `*_COMPLETE` (or another outcome) later.

Time-based and lazy: a started operation is a Task with a due time in a heap, and every
request first calls `advance(now)`, which finishes the tasks that are due - in due order,
stamped with their due time. No background tasks, so the same code runs at 0.05 s in
tests and 600 s in the demo, in any event loop or thread.

An operation ends `*_COMPLETE` (its effect applied), `*_FAILED`, `ROLLBACK_COMPLETE` or
`ROLLBACK_FAILED` (effect not applied, `status_reason` and a FAIL task say why). A held
operation stays `*_IN_PROGRESS` until `finish_now` (admin `/_sim/finish-operations`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

from nks_devtools.simulator.config import SimulatorConfig
from nks_devtools.simulator.state import Cluster, Event, NodeGroup, Store, Tenant

Phase = Literal["CREATE", "UPDATE", "DELETE"]
Outcome = Literal["complete", "failed", "rollback_complete", "rollback_failed"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
Effect = Callable[[Cluster, float], None]
"""Applied to the live cluster when the task succeeds (looked up again by UUID)."""
FailureEffect = Callable[[Cluster, float, str, str], None]
"""Applied when the task fails or rolls back: (cluster, time, status, reason) - for what
carries a status of its own besides the cluster and its groups (an add-on)."""


@dataclass
class FailureInjection:
    """How the next matching asynchronous operation ends (admin `POST /_sim/fail-next`,
    `POST /_sim/hold-next`): its outcome, and whether it is held in progress until
    finished by hand."""

    reason: str = "Injected failure"
    tenant_id: str | None = None
    cluster: str | None = None  # UUID or name; None: any cluster (also one not created yet)
    operation: str | None = None  # an Operation name; None: any
    outcome: Outcome = "failed"
    hold: bool = False

    def matches(self, tenant_id: str, cluster: Cluster, operation: str) -> bool:
        return (
            self.tenant_id in (None, tenant_id)
            and self.cluster in (None, cluster.uuid, cluster.name)
            and self.operation in (None, operation)
        )


@dataclass(order=True)
class Task:
    due: float
    id: int
    tenant_id: str = field(compare=False)
    cluster_uuid: str = field(compare=False)
    operation: str = field(compare=False)
    phase: Phase = field(compare=False)
    sets_cluster_status: bool = field(compare=False)
    nodegroup_uuids: tuple[str, ...] = field(compare=False)
    event_uuid: str | None = field(compare=False)
    effect: Effect | None = field(compare=False, repr=False)
    outcome: Outcome = field(compare=False)
    reason: str | None = field(compare=False)  # why it failed or rolled back
    removes: Literal["cluster", "nodegroup"] | None = field(compare=False)
    held: bool = field(compare=False, default=False)
    on_failure: FailureEffect | None = field(compare=False, repr=False, default=None)


@dataclass
class Lifecycle:
    store: Store
    config: SimulatorConfig
    new_uuid: Callable[[], str]
    _heap: list[Task] = field(default_factory=list)
    _next_task: int = 1
    failures: list[FailureInjection] = field(default_factory=list)

    def start(
        self,
        tenant: Tenant,
        cluster: Cluster,
        *,
        now: float,
        operation: str,
        phase: Phase,
        event_type: str | None,
        resource: NodeGroup | None,
        sets_cluster_status: bool,
        nodegroups: list[NodeGroup],
        effect: Effect | None = None,
        fail_reason: str | None = None,
        removes: Literal["cluster", "nodegroup"] | None = None,
        on_failure: FailureEffect | None = None,
    ) -> Task:
        """Put the targets `*_IN_PROGRESS`, open a task-history entry (unless `event_type`
        is None: the guide lists no task type for it) and schedule the end."""
        event = None
        if event_type is not None:
            event = self.record_event(
                cluster, event_type, resource, now, state="IN_PROGRESS", contents="In progress"
            )
        in_progress = f"{phase}_IN_PROGRESS"
        if sets_cluster_status:
            cluster.status, cluster.status_reason, cluster.updated_at = in_progress, None, now
        for ng in nodegroups:
            ng.status, ng.status_reason, ng.updated_at = in_progress, None, now
        injection = None
        outcome: Outcome = "complete"
        reason = None
        if fail_reason is not None:  # a `fail_async` fault
            outcome, reason = "failed", fail_reason
        elif (injection := self._take_injection(tenant.id, cluster, operation)) is not None:
            outcome, reason = injection.outcome, injection.reason
        held = injection is not None and injection.hold
        task = Task(
            due=math.inf if held else now + self.config.delay_for(operation),
            id=self._next_task,
            tenant_id=tenant.id,
            cluster_uuid=cluster.uuid,
            operation=operation,
            phase=phase,
            sets_cluster_status=sets_cluster_status,
            nodegroup_uuids=tuple(ng.uuid for ng in nodegroups),
            event_uuid=event.uuid if event is not None else None,
            effect=effect,
            outcome=outcome,
            reason=reason if outcome != "complete" else None,
            removes=removes,
            held=held,
            on_failure=on_failure,
        )
        self._next_task += 1
        cluster.task_id = task.id
        heapq.heappush(self._heap, task)
        return task

    def record_event(
        self,
        cluster: Cluster,
        event_type: str,
        resource: NodeGroup | None,
        now: float,
        state: str = "SUCCESS",
        contents: str | None = None,
    ) -> Event:
        event = Event(
            id=self.store.next_event_id(),
            uuid=self.new_uuid(),
            project_id=cluster.project_id,
            cluster_uuid=cluster.uuid,
            cluster_name=cluster.name,
            resource_uuid=resource.uuid if resource else cluster.uuid,
            resource_name=resource.name if resource else cluster.name,
            resource_type="nodegroup" if resource else "cluster",
            type=event_type,
            state=state,
            contents=contents,
            created_at=now,
            updated_at=now,
        )
        cluster.events.append(event)
        return event

    def advance(self, now: float) -> int:
        """Finish every task due by `now`; returns how many finished."""
        finished = 0
        while self._heap and self._heap[0].due <= now:
            self._finish(heapq.heappop(self._heap))
            finished += 1
        return finished

    def finish_now(
        self,
        now: float,
        tenant_id: str | None = None,
        cluster_uuid: str | None = None,
        operation: str | None = None,
    ) -> int:
        """Fast-forward: make matching tasks (held ones too) due now and finish them."""
        for task in self._heap:
            if (
                tenant_id in (None, task.tenant_id)
                and cluster_uuid in (None, task.cluster_uuid)
                and operation in (None, task.operation)
            ):
                task.due = min(task.due, now)
        heapq.heapify(self._heap)
        return self.advance(now)

    def pending(self) -> list[Task]:
        return sorted(self._heap)

    def clear(self) -> None:
        self._heap.clear()
        self.failures.clear()

    def _take_injection(
        self, tenant_id: str, cluster: Cluster, operation: str
    ) -> FailureInjection | None:
        for injection in self.failures:
            if injection.matches(tenant_id, cluster, operation):
                self.failures.remove(injection)
                return injection
        return None

    def _finish(self, task: Task) -> None:
        tenant = self.store.tenants.get(task.tenant_id)
        cluster = tenant.clusters.get(task.cluster_uuid) if tenant else None
        if tenant is None or cluster is None or cluster.task_id != task.id:
            return  # orphaned: its cluster is gone or the call was silently dropped
        cluster.task_id = None
        now = task.due
        nodegroups = [ng for u in task.nodegroup_uuids if (ng := cluster.nodegroup_by_uuid(u))]
        event = cluster.event(task.event_uuid) if task.event_uuid else None
        if task.outcome != "complete":
            reason = task.reason or "Injected failure"
            status = {
                "failed": f"{task.phase}_FAILED",
                "rollback_complete": "ROLLBACK_COMPLETE",
                "rollback_failed": "ROLLBACK_FAILED",
            }[task.outcome]
            self._set(cluster, nodegroups, task, status, reason, now)
            if task.on_failure is not None:
                task.on_failure(cluster, now, status, reason)
            if event:
                event.state, event.contents, event.updated_at = "FAIL", reason, now
            return
        if task.effect is not None:
            task.effect(cluster, now)
        if event:
            event.state, event.contents, event.updated_at = "SUCCESS", None, now
        if task.removes == "cluster":
            del tenant.clusters[cluster.uuid]
            tenant.deleted.append({"uuid": cluster.uuid, "name": cluster.name, "deleted_at": now})
            return
        if task.removes == "nodegroup":
            cluster.nodegroups = [ng for ng in cluster.nodegroups if ng not in nodegroups]
            return
        reason = f"Stack {task.phase} completed successfully"
        self._set(cluster, nodegroups, task, f"{task.phase}_COMPLETE", reason, now)

    @staticmethod
    def _set(
        cluster: Cluster,
        nodegroups: list[NodeGroup],
        task: Task,
        status: str,
        reason: str,
        now: float,
    ) -> None:
        if task.sets_cluster_status:
            cluster.status, cluster.status_reason, cluster.updated_at = status, reason, now
        for ng in nodegroups:
            ng.status, ng.status_reason, ng.updated_at = status, reason, now
