"""Driving day-2 operations: follow the one in flight, else send the next one planned.

Shared by NKSCluster (control plane, default worker, cluster settings) and NKSNodeGroup
(its own group). At most one operation per NKS cluster is in flight across all resources,
sent only while the cluster and all its node groups are stable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from nks_operator.api.status import LastOperation
from nks_operator.control.base import ResourcePass, age_seconds
from nks_operator.control.common import clear_warning, is_paused, now_iso, post_event
from nks_operator.nks import errors
from nks_operator.polling.accounts import Account
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile import conditions, operation_state, phase
from nks_operator.reconcile.day2 import CONTROL_PLANE, Action, Plan

# Clusters with an operation sent but not yet seen starting: cluster id -> (uid, deadline).
_pending: dict[str, tuple[str, float]] = {}


def target_status(snapshot: ClusterSnapshot, target: str | None) -> str | None:
    if target is None or target == CONTROL_PLANE:
        return snapshot.status
    group = snapshot.nodegroup(target)
    return None if group is None else group.get("status")


def cluster_busy(snapshot: ClusterSnapshot) -> bool:
    return phase.is_in_progress(snapshot.status) or any(
        phase.is_in_progress(g.get("status"))
        for name, g in snapshot.nodegroups.items()
        if name != CONTROL_PLANE
    )


def _max_task_id(snapshot: ClusterSnapshot) -> int:
    ids = [int(t.get("id") or 0) for t in snapshot.events if str(t.get("id") or "").isdigit()]
    return max(ids, default=0)


def claimed_by_other(cluster_id: str, uid: str) -> bool:
    """Another resource of this process sent an operation to the cluster that NKS has
    not shown yet: NKS runs one at a time, so a second would be refused."""
    holder = _pending.get(cluster_id)
    return holder is not None and holder[0] != uid and holder[1] > time.monotonic()


def claim(cluster_id: str, uid: str, seconds: float) -> None:
    _pending[cluster_id] = (uid, time.monotonic() + seconds)


def release(cluster_id: str, uid: str) -> None:
    holder = _pending.get(cluster_id)
    if holder is not None and holder[0] == uid:
        del _pending[cluster_id]


def is_busy_refusal(error: errors.NKSError) -> bool:
    """NKS's 400 for "another operation is in progress": nothing happened, try later."""
    message = error.message.lower()
    return isinstance(error, errors.InvalidRequestError) and (
        "in progress" in message or "in_progress" in message
    )


class Day2:
    """One pass of day-2 work for one resource."""

    def __init__(self, p: ResourcePass[Any], account: Account, snapshot: ClusterSnapshot) -> None:
        self.p = p
        self.account = account
        self.snapshot = snapshot
        self.uid: str = p.meta["uid"]
        self.generation: int | None = p.meta.get("generation")
        self.confirm_seconds = max(30.0, p.settings.fast_poll_seconds * 10)
        self.sent: Action | None = None  # what this pass sent, if anything

    def _progressing(self, status: str, reason: str, message: str) -> None:
        self.p.writer.conditions(
            conditions.ConditionUpdate(conditions.PROGRESSING, status, reason, message)  # type: ignore[arg-type]
        )

    def _release(self) -> None:
        release(self.snapshot.uuid, self.uid)

    def follow(self) -> float | None:
        """Follow the operation in flight; a delay means: nothing else may happen now."""
        last = self.p.status.last_operation
        if last is None or last.state in ("Succeeded", "Failed") or last.type.endswith("_CREATE"):
            return None
        verdict, task = operation_state.follow(
            last,
            self.snapshot.events,
            target_status(self.snapshot, last.target),
            age_seconds=age_seconds(last.started_at),
            confirm_seconds=self.confirm_seconds,
        )
        if task is not None and task.get("uuid"):
            last.task_id = str(task["uuid"])
        upgrading = last.type == "NODEGROUP_UPGRADE"
        if verdict in ("waiting", "in_progress"):
            if verdict == "in_progress":
                last.state = "InProgress"
                self._release()
            self.p.status.phase = "Upgrading" if upgrading else "Updating"
            self._progressing("True", last.type, f"{last.message or last.type} ({verdict})")
            return self.p.settings.fast_poll_seconds
        self._release()
        if verdict == "succeeded":
            last.state = "Succeeded"
            post_event(
                self.p.body, self.p.slot, "Normal", "OperationSucceeded", f"{last.type}: done"
            )
            self._progressing("False", "Idle", f"{last.type} succeeded")
            return None
        if verdict == "failed":
            detail = (
                (task or {}).get("contents") or self.snapshot.details.get("status_reason")
                if self.snapshot.details
                else ""
            )
            last.state = "Failed"
            last.message = f"{last.type} failed: {detail or 'see NKS task history'}"
            post_event(self.p.body, self.p.slot, "Warning", "OperationFailed", last.message)
            self._progressing("False", "OperationFailed", last.message)
            return None
        # dropped: NKS accepted it but never started it; the next plan sends it again.
        last.state = "Failed"
        last.generation = None
        last.message = f"NKS accepted {last.type} but never started it; sending it again"
        post_event(self.p.body, self.p.slot, "Warning", "OperationDropped", last.message)
        return None

    def blocked_by_failure(self, action: Action) -> str | None:
        last = self.p.status.last_operation
        if (
            last is not None
            and last.state == "Failed"
            and last.generation is not None
            and last.generation == self.generation
            and last.type == action.task
            and last.target == action.target
        ):
            return f"{last.message}; change the spec to try again"
        return None

    async def send(self, plan: Plan, cluster_id: str) -> float | None:
        """Report blocked changes and send the planned action; None when in sync."""
        p = self.p
        for item in plan.blocked:
            p.writer.synced("False", item.reason, item.message)
            post_event(p.body, p.slot, "Warning", item.reason, item.message, once=True)
        if not plan.blocked:
            for reason in (
                "UpgradeBlocked",
                "StopNodesBlocked",
                "AutoscalerBlocked",
                "NoUpgradePath",
                "UnknownNodes",
                "OperationFailed",
            ):
                clear_warning(p.slot, reason)
        action = plan.action
        if action is None:
            if plan.waiting:
                self._progressing("True", "Waiting", plan.waiting)
                return p.settings.fast_poll_seconds if "running" in plan.waiting else None
            self._progressing("False", "Idle", "nothing to change")
            return None if not plan.blocked else p.settings.error_backoff_seconds
        failure = self.blocked_by_failure(action)
        if failure is not None:
            p.writer.synced("False", "OperationFailed", failure)
            post_event(p.body, p.slot, "Warning", "OperationFailed", failure, once=True)
            return p.settings.error_backoff_seconds
        if is_paused(p.body):
            p.writer.synced("True", "Paused", f"paused: would {action.summary}")
            return p.settings.slow_poll_seconds
        if cluster_busy(self.snapshot) or claimed_by_other(cluster_id, self.uid):
            self._progressing(
                "True", "Waiting", f"waiting for the cluster to be idle to {action.summary}"
            )
            return p.settings.fast_poll_seconds
        p.status.last_operation = LastOperation(
            type=action.task,
            state="Requested",
            target=action.target,
            started_at=now_iso(),
            since_task_id=_max_task_id(self.snapshot),
            message=action.summary,
            generation=self.generation,
        )
        p.status.phase = "Upgrading" if action.is_upgrade else "Updating"
        self._progressing("True", action.task, action.summary)
        await p.writer.flush()  # after a crash, the next pass follows instead of re-sending
        claim(cluster_id, self.uid, self.confirm_seconds)
        method: Callable[..., Any] = getattr(self.account.gateway, action.method)
        try:
            await method(cluster_id, **action.args)
        except errors.NKSError as error:
            return self._send_failed(action, error)
        self.sent = action
        post_event(p.body, p.slot, "Normal", "OperationRequested", action.summary)
        p.writer.synced("True", "OperationRequested", action.summary)
        self.account.poller.expect_change(cluster_id)
        return p.settings.fast_poll_seconds

    def _send_failed(self, action: Action, error: errors.NKSError) -> float:
        p = self.p
        last = p.status.last_operation
        assert last is not None
        if is_busy_refusal(error):
            p.status.last_operation = None  # NKS is busy: nothing happened, try again soon
            self._release()
            return p.settings.fast_poll_seconds
        if isinstance(error, errors.APIError) and not isinstance(
            error, errors.ServerError | errors.RateLimitedError | errors.UnauthorizedError
        ):
            self._release()
            last.state = "Failed"
            last.message = f"NKS refused to {action.summary}: {error}"
            p.writer.synced("False", "OperationRefused", last.message)
            self._progressing("False", "OperationRefused", last.message)
            post_event(p.body, p.slot, "Warning", "OperationRefused", last.message, once=True)
            return p.settings.error_backoff_seconds
        # 5xx, timeout, lost answer: it may have happened; follow() confirms or drops it.
        p._nks_unavailable(error)
        self.account.poller.expect_change(self.snapshot.uuid)
        return p._backoff_for(error)
