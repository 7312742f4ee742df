"""NKS task history (/events) -> Kubernetes Events, each task state posted once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class KubeEvent:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


def _task_key(task: dict[str, Any]) -> int:
    try:
        return int(task.get("id") or 0)
    except (TypeError, ValueError):
        return 0


def new_task_events(
    tasks: list[dict[str, Any]],
    *,
    last_task_id: int | None,
    resource_uuid: str | None,
    resource_type: str,
    announced: set[tuple[int, str]],
) -> tuple[list[KubeEvent], int | None]:
    """Events for tasks finished since `last_task_id`, and the new watermark.

    Only finished tasks (SUCCESS/FAIL) move the watermark, so a task first seen IN_PROGRESS
    is posted when it starts and again when it ends. `announced` holds the (id, state) pairs
    posted above the watermark (updated in place), so nothing is posted twice while an
    older task is still running. Tasks of other resources are skipped.
    """
    events: list[KubeEvent] = []
    watermark = last_task_id
    first_unfinished: int | None = None
    for task in sorted(tasks, key=_task_key):
        key = _task_key(task)
        if last_task_id is not None and key <= last_task_id:
            continue
        mine = task.get("resource_type") == resource_type and (
            resource_uuid is None or task.get("resource_uuid") == resource_uuid
        )
        state = str(task.get("state") or "")
        if state == "IN_PROGRESS" and first_unfinished is None:
            first_unfinished = key
        if mine and (key, state) not in announced:
            announced.add((key, state))
            kind = str(task.get("type") or "TASK")
            contents = task.get("contents")
            detail = f": {contents}" if contents else ""
            if state == "FAIL":
                events.append(KubeEvent("Warning", "NKSTaskFailed", f"{kind} failed{detail}"))
            elif state == "SUCCESS":
                events.append(KubeEvent("Normal", "NKSTaskSucceeded", f"{kind} succeeded{detail}"))
            elif state == "IN_PROGRESS":
                events.append(KubeEvent("Normal", "NKSTaskStarted", f"{kind} in progress{detail}"))
        if state != "IN_PROGRESS" and first_unfinished is None:
            watermark = key
    return events, watermark
