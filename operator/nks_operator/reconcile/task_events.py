"""NKS task history (/events) -> Kubernetes Events, each task state posted once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from nks_operator.nks.models import TaskEvent
from nks_operator.nks.tasks import same_task
from nks_operator.reconcile.reasons import Reason


@dataclass(frozen=True)
class KubeEvent:
    type: Literal["Normal", "Warning"]
    reason: Reason
    message: str


def new_task_events(
    tasks: Sequence[TaskEvent],
    *,
    last_task_id: int | None,
    resource_uuid: str | None,
    resource_type: str,
    announced: set[tuple[int, str]],
    requested: str | None = None,
) -> tuple[list[KubeEvent], int | None]:
    """Events for tasks finished since `last_task_id`, and the new watermark.

    Only finished tasks (SUCCESS/FAIL) move the watermark, so a task first seen IN_PROGRESS
    is posted when it starts and again when it ends. `announced` holds the (id, state) pairs
    posted above the watermark (updated in place), so nothing is posted twice while an
    older task is still running. Tasks of other resources are skipped. `requested`: the
    operation the operator asked for and announced itself (CreateRequested,
    OperationRequested) - its task's start adds nothing to that Event and is not posted;
    how it ends is.
    """
    events: list[KubeEvent] = []
    watermark = last_task_id
    first_unfinished: int | None = None
    any_mine = False
    for task in sorted(tasks, key=lambda t: t.id or 0):
        key = task.id or 0
        if last_task_id is not None and key <= last_task_id:
            continue
        mine = task.resource_type == resource_type and (
            resource_uuid is None or task.resource_uuid == resource_uuid
        )
        any_mine = any_mine or mine
        state = (task.state or "").upper()
        if state == "IN_PROGRESS" and first_unfinished is None:
            first_unfinished = key
        if mine and (key, state) not in announced:
            announced.add((key, state))
            event = _event_for(task, state, requested)
            if event is not None:
                events.append(event)
        if state != "IN_PROGRESS" and first_unfinished is None:
            watermark = key
    if last_task_id is not None and not any_mine:
        # Only other resources' tasks passed: the stored watermark stays (a status write
        # per task of every node group of the cluster otherwise); they are skipped again.
        return events, last_task_id
    # Announced pairs at or below the watermark can never come up again.
    if watermark is not None:
        announced.difference_update({pair for pair in announced if pair[0] <= watermark})
    return events, watermark


def _event_for(task: TaskEvent, state: str, requested: str | None) -> KubeEvent | None:
    kind = task.type or "TASK"
    detail = f": {task.contents}" if task.contents else ""
    if state == "FAIL":
        return KubeEvent("Warning", Reason.NKS_TASK_FAILED, f"{kind} failed{detail}")
    if state == "SUCCESS":
        return KubeEvent("Normal", Reason.NKS_TASK_SUCCEEDED, f"{kind} succeeded{detail}")
    if state == "IN_PROGRESS" and not (requested and same_task(kind, requested)):
        return KubeEvent("Normal", Reason.NKS_TASK_STARTED, f"{kind} in progress{detail}")
    return None
