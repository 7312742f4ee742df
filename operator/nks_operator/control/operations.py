"""Day-2 operations: following the one in flight, and sending the next one the plan asks
for - one at a time per NKS cluster, recorded before it is sent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from nks_operator.api.operations import OperationType
from nks_operator.api.status import LastOperation, ResourceStatus
from nks_operator.control import events
from nks_operator.control.adapter import Location, Observed
from nks_operator.control.passes import (
    AnyPass,
    age_seconds,
)
from nks_operator.control.status_writer import now_iso
from nks_operator.control.steps import SharedSteps, is_busy_refusal
from nks_operator.nks import errors
from nks_operator.polling.accounts import Account
from nks_operator.reconcile import operation_state
from nks_operator.reconcile.day2 import CONTROL_PLANE, STATE_CONFIRMED, Action, Plan
from nks_operator.reconcile.outcome import Assessment, OperationView, Sending, Stage
from nks_operator.reconcile.reasons import Reason

logger = logging.getLogger(__name__)

# Resends after lost answers that do not count as attempts NKS accepted: every one waits
# for the confirmation time, so a call that always fails is still sent rarely.
UNCOUNTED_RESENDS = 3

# Warnings of a plan that could not go on, cleared once it can.
PLAN_WARNINGS = (
    Reason.UPGRADE_BLOCKED,
    Reason.STOP_NODES_BLOCKED,
    Reason.AUTOSCALER_BLOCKED,
    Reason.NO_UPGRADE_PATH,
    Reason.UNKNOWN_NODES,
    Reason.NODE_STATE_UNKNOWN,
    Reason.SERVICE_GATEWAY_BLOCKED,
    Reason.USER_SCRIPT_NOT_APPLIED,
    Reason.SETTING_NOT_APPLIED,
    Reason.ADDON_BLOCKED,
    Reason.ADDON_FAILED,
    Reason.OPERATION_FAILED,
)


@dataclass(frozen=True)
class FollowResult:
    """What following the day-2 operation in flight concluded."""

    view: OperationView | None = None  # one runs: nothing else may happen now
    timers: tuple[float, ...] = ()
    # It ended in this pass: the next pass, at once, plans from reads made after its end
    # (this pass's plan may predate it) and sends what comes next.
    just_ended: bool = False


def _not_sent_again(last: LastOperation) -> str:
    """What Synced says of an operation that ended badly for this generation (the same
    words on every pass, so its Warning is posted once)."""
    return f"{last.message}; change the spec to try again"


def _warn_failed(p: AnyPass, last: LastOperation) -> None:
    """One Warning for a failed operation: in the words every later pass shows while it is
    held back for this generation (`_held_back`), so that those passes post none."""
    held_back = last.generation is not None and last.generation == p.generation
    p.warn_once(Reason.OPERATION_FAILED, _not_sent_again(last) if held_back else last.message)


def _forget_send(p: AnyPass, unsent: ResourceStatus) -> None:
    """NKS took nothing: status as it was before the send was recorded, with no operation
    to follow - what the adapter noted of the send goes too (a renewal request marked as
    acted on, a setting marked as sent), so the plan asks for it again."""
    for name in type(p.status).model_fields:
        setattr(p.status, name, getattr(unsent, name))
    p.status.last_operation = None


class Operations:
    def __init__(self, steps: SharedSteps) -> None:
        self.steps = steps

    def follow(
        self, p: AnyPass, account: Account, observed: Observed, plan: Plan, location: Location
    ) -> FollowResult:
        """Follow the day-2 operation in flight, if one is."""
        last = p.status.last_operation
        created_running = (
            last is not None
            and last.type == p.adapter.facts.create_operation
            and last.state in ("Requested", "InProgress")
        )
        if created_running:
            assert last is not None
            age = age_seconds(last.started_at)
            deadline = self.steps.deadline(last.type)
            return FollowResult(timers=((deadline - age),) if age < deadline else ())
        if last is None or last.state in ("Succeeded", "Failed"):
            return FollowResult()
        if last.operation is not None and last.operation.is_create:
            return FollowResult()
        age = age_seconds(last.started_at)
        read_after = age - account.poller.seconds_since_read(observed.snapshot)
        deadline = self.steps.deadline(last.type)
        following = operation_state.follow(
            last,
            observed.snapshot.tasks,
            p.adapter.converging.operation_status(p, observed, last.target),
            confirmation="state" if last.type in STATE_CONFIRMED else "task",
            still_wanted=p.adapter.converging.still_wanted(p, observed, plan, last),
            age_seconds=age,
            confirm_seconds=self.steps.confirm_seconds,
            deadline_seconds=deadline,
            status_reason=observed.status_reason,
            read_after_seconds=read_after,
        )
        cluster_id = location.cluster_id or observed.snapshot.uuid
        if following.task is not None:
            last.task_id = following.task.uuid
        if following.verdict in ("waiting", "in_progress"):
            return self._in_flight(p, account, observed, following, cluster_id, age, deadline)
        self.steps.ctx.claims.release(cluster_id, p.key)
        if following.verdict != "dropped":
            p.memory.uncounted_resends = 0
        if following.verdict == "succeeded":
            last.state = "Succeeded"
            p.event("Normal", Reason.OPERATION_SUCCEEDED, f"{last.message or last.type}: done")
            events.clear_warnings(p.memory, Reason.OPERATION_TIMED_OUT)
            p.adapter.converging.after_success(p, account, last.type)
        elif following.verdict == "failed":
            last.state = "Failed"
            last.message = (
                f"{last.message or last.type} failed: {following.detail or 'see NKS task history'}"
            )
            _warn_failed(p, last)
        elif following.verdict == "dropped":
            self._dropped(p, last)
        return FollowResult(just_ended=True)

    def _in_flight(
        self,
        p: AnyPass,
        account: Account,
        observed: Observed,
        following: operation_state.Following,
        cluster_id: str,
        age: float,
        deadline: float,
    ) -> FollowResult:
        """It runs (or is not confirmed yet): what the outcome shows, and when to look."""
        last = p.status.last_operation
        assert last is not None
        confirm = self.steps.confirm_seconds
        verdict: Literal["waiting", "in_progress"] = (
            "in_progress" if following.verdict == "in_progress" else "waiting"
        )
        timers: tuple[float, ...] = ()
        if verdict == "in_progress":
            last.state = "InProgress"
            if observed.snapshot.busy:
                self.steps.ctx.claims.release(cluster_id, p.key)
            else:
                # NKS runs it without showing the cluster or a group busy (an add-on
                # change): the claim, renewed until it ends, keeps siblings waiting.
                self.steps.ctx.claims.claim(cluster_id, p.key, confirm)
                timers += (confirm / 2,)
        if verdict == "waiting" and age > confirm:
            # Only a read made after the confirmation time can tell it was dropped.
            account.poller.request_refresh(cluster_id)
            timers += (self.steps.timing.fast_seconds,)
        elif verdict == "waiting":
            timers += (max(confirm - age, 1.0),)
        if not following.timed_out:
            timers += (max(deadline - age, 1.0),)
        view = OperationView(
            last.type,
            last.message or last.type,
            verdict,
            upgrade=last.type == OperationType.NODEGROUP_UPGRADE,
            timed_out=following.timed_out,
        )
        return FollowResult(view, timers)

    @staticmethod
    def _dropped(p: AnyPass, last: LastOperation) -> None:
        """NKS accepted it (or never answered) but does not show it: send it once more,
        or, the second time, stop until the spec changes."""
        last.state = "Failed"
        what = last.message or last.type
        if p.memory.answer_lost and p.memory.uncounted_resends < UNCOUNTED_RESENDS:
            # NKS never answered that one: it does not count as accepted and dropped.
            p.memory.uncounted_resends += 1
            p.memory.resend_uncounted = True
            last.generation = None
            message = f"NKS's answer to {what} was lost and NKS does not show it; sending it again"
            p.event("Warning", Reason.OPERATION_DROPPED, message)
        elif last.attempt >= 2:
            # Sent twice and never applied: a person has to look (not sent again until
            # the spec changes).
            last.message = f"NKS accepted {what} {last.attempt} times but never applied it"
            last.generation = p.generation
            _warn_failed(p, last)
        else:
            last.generation = None  # the next plan sends it once more
            message = f"NKS accepted {what} but never applied it; sending it again"
            p.event("Warning", Reason.OPERATION_DROPPED, message)

    @staticmethod
    def plan_fields(plan: Plan) -> dict[str, Any]:
        """What the outcome needs to know of a plan."""
        fields: dict[str, Any] = {"plan": plan.state}
        if plan.action is not None:
            fields["plan_message"] = plan.action.summary
        elif plan.blocked:
            fields["plan_reason"] = plan.blocked[0].reason
            fields["plan_message"] = "; ".join(b.message for b in plan.blocked)
        elif plan.waiting is not None:
            fields["plan_message"] = plan.waiting.message
        return fields

    async def send(
        self,
        p: AnyPass,
        account: Account,
        location: Location,
        observed: Observed,
        plan: Plan,
        base: dict[str, Any],
    ) -> Assessment:
        """Send the action the plan asks for, unless something holds it back."""
        fields: dict[str, Any] = {**base, **self.plan_fields(plan)}
        action = plan.action
        cluster_id = location.cluster_id or observed.snapshot.uuid
        held = None
        if action is not None:
            held = self._held_back(p, account, cluster_id, observed, action, fields)
        # The plan goes on: its earlier Warnings may be posted again. An operation held
        # back after it failed does not: its Warning stays posted once.
        failed_before = held is not None and held.sending in (
            Sending.REFUSED,
            Sending.FAILED_BEFORE,
        )
        if not plan.blocked and plan.waiting is None and not failed_before:
            events.clear_warnings(p.memory, *PLAN_WARNINGS)
        if action is None:
            return p.assess(Stage.RUNNING, **fields)
        if held is not None:
            return held
        return await self._send_action(p, account, cluster_id, observed, action, fields)

    def _held_back(
        self,
        p: AnyPass,
        account: Account,
        cluster_id: str,
        observed: Observed,
        action: Action,
        fields: dict[str, Any],
    ) -> Assessment | None:
        """Why the action is not sent now (it failed for this generation, the resource is
        paused, the cluster is busy); None: send it."""
        last = p.status.last_operation
        if (
            last is not None
            and last.state == "Failed"
            and last.generation is not None
            and last.generation == p.generation
            and last.type == action.operation
            and last.target == action.target
        ):
            fields["plan_message"] = _not_sent_again(last)
            before = Sending.REFUSED if last.refused else Sending.FAILED_BEFORE
            return p.assess(Stage.RUNNING, sending=before, **fields)
        if p.paused:
            return p.assess(Stage.RUNNING, sending=Sending.PAUSED, **fields)
        snapshot = observed.snapshot
        claimed = self.steps.ctx.claims.held_by_other(
            cluster_id, p.key, read_at=snapshot.refreshed_at
        )
        if claimed:
            account.poller.request_refresh(cluster_id)  # a claim ends with a later read
        if snapshot.busy or claimed:
            return p.assess(
                Stage.RUNNING,
                sending=Sending.CLUSTER_BUSY,
                timers=(self.steps.timing.fast_seconds,),
                **fields,
            )
        return None

    async def _send_action(
        self,
        p: AnyPass,
        account: Account,
        cluster_id: str,
        observed: Observed,
        action: Action,
        fields: dict[str, Any],
    ) -> Assessment:
        """Record the operation (durable before the call), then send it."""
        last = p.status.last_operation
        attempt = 1
        if (
            last is not None
            and last.state == "Failed"
            and last.generation is None
            and last.type == action.operation
            and last.target == action.target
        ):
            # NKS dropped it before (or never answered, which does not count).
            attempt = last.attempt + (0 if p.memory.resend_uncounted else 1)
        p.memory.resend_uncounted = p.memory.answer_lost = False
        # Claimed before the first await: a sibling's pass may run at any await below.
        self.steps.ctx.claims.claim(cluster_id, p.key, self.steps.confirm_seconds)
        unsent = p.status.model_copy(deep=True)  # what status was if NKS takes nothing
        p.status.last_operation = LastOperation(
            type=action.operation,
            state="Requested",
            target=action.target,
            started_at=now_iso(),
            since_task_id=max((t.id or 0 for t in observed.snapshot.tasks), default=0),
            message=action.summary,
            generation=p.generation,
            attempt=attempt,
        )
        p.adapter.converging.after_send(p, action.operation, action.args)
        # Durable before the call: after a crash, the next pass follows instead of resending.
        try:
            await p.writer.flush()
        except BaseException:
            self.steps.ctx.claims.release(cluster_id, p.key)
            raise
        try:
            await action.send(account.client, cluster_id)
        except errors.NKSError as error:
            return self._send_failed(p, account, cluster_id, action.summary, error, fields, unsent)
        p.event("Normal", Reason.OPERATION_REQUESTED, action.summary)
        # A change to one worker group: that group is GET every cycle until it shows.
        target = action.target
        groups = None if target is None or target == CONTROL_PLANE else [target]
        account.poller.expect_change(cluster_id, nodegroups=groups)
        view = OperationView(action.operation, action.summary, "waiting", upgrade=action.is_upgrade)
        return p.assess(
            Stage.RUNNING,
            sending=Sending.SENT,
            operation=view,
            timers=(self.steps.confirm_seconds,),
            **fields,
        )

    def _send_failed(
        self,
        p: AnyPass,
        account: Account,
        cluster_id: str,
        summary: str,
        error: errors.NKSError,
        fields: dict[str, Any],
        unsent: ResourceStatus,
    ) -> Assessment:
        last = p.status.last_operation
        assert last is not None
        if is_busy_refusal(error):
            _forget_send(p, unsent)  # NKS is busy: nothing happened, try again soon
            self.steps.ctx.claims.release(cluster_id, p.key)
            account.poller.expect_change(cluster_id)
            return p.assess(
                Stage.RUNNING,
                sending=Sending.CLUSTER_BUSY,
                timers=(self.steps.timing.fast_seconds,),
                **fields,
            )
        if isinstance(error, errors.APIError) and not isinstance(
            error, errors.ServerError | errors.RateLimitedError | errors.UnauthorizedError
        ):
            self.steps.ctx.claims.release(cluster_id, p.key)
            last.state, last.refused = "Failed", True
            last.message = f"NKS refused to {summary}: {error}"
            if isinstance(error, errors.NotFoundError):
                # The cluster is there (it was just read): the call itself is unknown to
                # this NKS, as the CNI change is to the guide's current edition.
                last.message += " (this NKS does not offer that call)"
            fields["plan_message"] = _not_sent_again(last)
            return p.assess(Stage.RUNNING, sending=Sending.REFUSED, **fields)
        if isinstance(error, errors.RateLimitedError):
            _forget_send(p, unsent)  # refused unread: nothing happened, try later
            self.steps.ctx.claims.release(cluster_id, p.key)
            raise self.steps.nks_error(p, error, **fields)
        # 5xx, timeout, lost answer: it may have happened; following confirms or drops it.
        p.memory.answer_lost = True
        account.poller.expect_change(cluster_id)
        raise self.steps.nks_error(p, error, **fields)
