"""Following one sent operation: did NKS start it, and how did it end?

NKS may accept a request (202) and silently drop it while something else runs, so an
operation counts as started only when a newer task of its type appears in the task
history, or its target moves to `*_IN_PROGRESS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from nks_operator.api.status import LastOperation
from nks_operator.reconcile import phase

Verdict = Literal["idle", "waiting", "in_progress", "succeeded", "failed", "dropped"]


def _task_id(task: Mapping[str, Any]) -> int:
    try:
        return int(task.get("id") or 0)
    except (TypeError, ValueError):
        return 0


def _same_resource(last: LastOperation, task: Mapping[str, Any]) -> bool:
    """Several node groups may run the same kind of task: match the target too."""
    name = task.get("resource_name")
    if last.target is None:
        return task.get("resource_type") in (None, "cluster")
    return name is None or name == last.target


def matching_task(
    last: LastOperation, tasks: Sequence[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The newest task of this operation's type started after the call was sent."""
    since = last.since_task_id or 0
    found = [
        t
        for t in tasks
        if t.get("type") == last.type and _task_id(t) > since and _same_resource(last, t)
    ]
    return max(found, key=_task_id) if found else None


def follow(
    last: LastOperation | None,
    tasks: Sequence[Mapping[str, Any]],
    target_status: str | None,
    *,
    age_seconds: float,
    confirm_seconds: float,
) -> tuple[Verdict, Mapping[str, Any] | None]:
    """Where a sent operation stands, from task history and the target's status."""
    if last is None or last.state in ("Succeeded", "Failed"):
        return "idle", None
    task = matching_task(last, tasks)
    if task is not None:
        state = str(task.get("state") or "")
        if state == "FAIL":
            return "failed", task
        if state == "SUCCESS":
            return "succeeded", task
        return "in_progress", task
    if last.state == "InProgress":
        if phase.is_failed(target_status):
            return "failed", None
        if phase.is_stable(target_status):
            return "succeeded", None
        return "in_progress", None
    if phase.is_in_progress(target_status):
        return "in_progress", None
    if age_seconds > confirm_seconds:
        return "dropped", None
    return "waiting", None
