"""Following one sent operation: did NKS start it, and how did it end?

NKS may accept a request (202) and silently drop it while something else runs, so an
operation counts as started only when NKS shows it. How NKS shows it depends on the
operation (docs/nks-api-notes.md, "Task history" and "Task names"):

- operations with a task type in the guide's `supported_event_type` list: a newer task of
  that type in the cluster's task history, or the target moving to `*_IN_PROGRESS`;
- IP access control, service gateway and certificate changes, which the copy lists no task
  for: the state read back - the change no longer needs sending (`still_wanted` False); a
  task of the current edition's name, when one appears, too.

A `ROLLBACK_*` status after an operation means it failed. An operation running longer than
its deadline is reported as timed out, and still followed: it may finish later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from nks_operator.api.status import LastOperation
from nks_operator.nks import tasks as task_vocabulary
from nks_operator.nks.models import TaskEvent
from nks_operator.nks.operations import Operation
from nks_operator.reconcile import phase

Verdict = Literal["idle", "waiting", "in_progress", "succeeded", "failed", "dropped"]
Confirmation = Literal["task", "state"]


def task_types(operation: str) -> frozenset[str]:
    """Every task type name that confirms `operation`, a `lastOperation.type`: a task name of
    either edition of the guide (`NODEGROUP_NODE_ACTION_NODE_STOP` also matches the current
    `NODEGROUP_NODE_ACTION_STOP_NODE`), or, for the changes the copy lists no task for, the
    API operation's name in upper case (`SET_IP_ACL`: `CLUSTER_API_EP_IPACL_UPDATE`). The
    vocabulary is `nks.tasks` (docs/nks-api-notes.md, "Task names")."""
    try:
        api_operation = Operation(operation.lower())
    except ValueError:
        return task_vocabulary.aliases(operation)
    return task_vocabulary.task_names(api_operation) or frozenset({operation})


@dataclass(frozen=True)
class Following:
    verdict: Verdict
    task: TaskEvent | None = None
    detail: str = ""  # why it failed, when NKS says
    timed_out: bool = False


def _same_resource(last: LastOperation, task: TaskEvent) -> bool:
    """Several node groups may run the same kind of task: match the target too. A target
    naming a part of the cluster (`addon/<name>`; node group names hold no `/`) is
    recorded as a cluster task."""
    if last.target is None or "/" in last.target:
        return task.resource_type in (None, "cluster")
    return task.resource_name is None or task.resource_name == last.target


def matching_task(last: LastOperation, tasks: Sequence[TaskEvent]) -> TaskEvent | None:
    """The newest task of this operation's type (under any of its names) started after the
    call was sent."""
    since = last.since_task_id or 0
    names = task_types(last.type)
    found = [
        t for t in tasks if t.type in names and (t.id or 0) > since and _same_resource(last, t)
    ]
    return max(found, key=lambda t: t.id or 0) if found else None


def follow(
    last: LastOperation | None,
    tasks: Sequence[TaskEvent],
    target_status: str | None,
    *,
    confirmation: Confirmation,
    still_wanted: bool,
    age_seconds: float,
    confirm_seconds: float,
    deadline_seconds: float,
    status_reason: str | None = None,
    read_after_seconds: float | None = None,
) -> Following:
    """Where a sent operation stands.

    `still_wanted`: a fresh plan would send this operation again (the change is not
    visible in NKS's state). `age_seconds`: since it was sent. `read_after_seconds`: how
    long after the send `tasks` and `target_status` were read (default `age_seconds`):
    only a read made `confirm_seconds` after the send tells that NKS dropped it, not an
    old view kept while reads failed.
    """
    if last is None or last.state in ("Succeeded", "Failed"):
        return Following("idle")
    timed_out = age_seconds > deadline_seconds
    task = matching_task(last, tasks)
    if task is not None:
        by_task = _by_task(task, confirmation, target_status, status_reason, timed_out)
        if by_task is not None:
            return by_task
    by_state = _by_state(
        last,
        confirmation,
        target_status,
        status_reason,
        still_wanted=still_wanted,
        timed_out=timed_out,
    )
    if by_state is not None:
        return by_state
    read_after = age_seconds if read_after_seconds is None else read_after_seconds
    if read_after > confirm_seconds:
        return Following("dropped")
    return Following("waiting")


def _by_task(
    task: TaskEvent,
    confirmation: Confirmation,
    target_status: str | None,
    status_reason: str | None,
    timed_out: bool,
) -> Following | None:
    """What the operation's own task tells; None: the state read back decides."""
    if task.failed:
        return Following("failed", task, task.contents or status_reason or "")
    if not task.succeeded:
        return Following("in_progress", task, timed_out=timed_out)
    if confirmation == "task":
        if phase.is_rolled_back(target_status):
            return Following("failed", task, status_reason or "rolled back")
        return Following("succeeded", task)
    # A state-confirmed change's task finished: the state read back decides.
    return None


def _by_state(
    last: LastOperation,
    confirmation: Confirmation,
    target_status: str | None,
    status_reason: str | None,
    *,
    still_wanted: bool,
    timed_out: bool,
) -> Following | None:
    """What the target's status (and whether the change still shows) tells; None: not
    yet known, the time since the send decides."""
    if phase.is_failed(target_status) and last.state == "InProgress":
        return Following("failed", detail=status_reason or str(target_status))
    if phase.is_rolled_back(target_status) and (
        last.state == "InProgress" or phase.is_stable(target_status)
    ):
        # NKS undid it: the operation did not happen.
        return Following("failed", detail=status_reason or str(target_status))
    if phase.is_in_progress(target_status):
        return Following("in_progress", timed_out=timed_out)
    if confirmation == "state":
        if not still_wanted:
            return Following("succeeded")
    elif last.state == "InProgress":
        # Seen running, now stable, no task recorded: its end is the target's status.
        if phase.is_failed(target_status):
            return Following("failed", detail=status_reason or str(target_status))
        return Following("succeeded")
    return None
