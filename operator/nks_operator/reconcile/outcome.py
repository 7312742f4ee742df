"""The one place where a pass's findings become phase, conditions and the next pass.

The generic reconciler (control/reconciler.py) gathers what it found into an `Assessment`
- the stage of the lifecycle, the problem that stopped it if any, what NKS reports and
what the day-2 plan concluded - and `outcome()` decides everything a user sees from that.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from nks_operator.api.status import Phase
from nks_operator.reconcile import phase as nks_phase
from nks_operator.reconcile.conditions import PROGRESSING, READY, SYNCED, ConditionUpdate
from nks_operator.reconcile.day2 import PlanState
from nks_operator.reconcile.reasons import (
    CANNOT_PROCEED,
    CREDENTIALS_PROBLEMS,
    NEEDS_ATTENTION,
    Reason,
)

ConditionStatus = Literal["True", "False", "Unknown"]


class Stage(StrEnum):
    """Where the resource stands in its lifecycle."""

    WAITING_FOR_PARENT = "WaitingForParent"  # node group: its NKSCluster is not there yet
    PAUSED_BEFORE_CREATE = "PausedBeforeCreate"
    CREATE_WAITING = "CreateWaiting"  # node group: the cluster is busy; create later
    CREATE_PENDING = "CreatePending"  # a create may be in flight; looking it up by name
    CREATE_REQUESTED = "CreateRequested"  # NKS accepted the create this pass
    ADOPTED = "Adopted"  # found what a lost create response made
    OBSERVING = "Observing"  # the NKS id is known, NKS's state not read yet
    RUNNING = "Running"  # NKS's state is known
    DELETING = "Deleting"
    PAUSED_DELETION = "PausedDeletion"


class Sending(StrEnum):
    """What happened to the day-2 action a stable resource's plan asked for."""

    NONE = "None"  # nothing to send (see PlanState)
    SENT = "Sent"  # `Assessment.operation` describes it
    REFUSED = "Refused"  # NKS refused it (4xx), now or before: not sent until the spec changes
    FAILED_BEFORE = "FailedBefore"  # the same operation failed for this generation
    PAUSED = "Paused"  # would be sent, but the resource is paused
    CLUSTER_BUSY = "ClusterBusy"  # another operation of the cluster goes first
    NEXT = "Next"  # the previous operation just ended; this one goes in the next pass


@dataclass(frozen=True)
class Problem:
    reason: Reason
    message: str

    @property
    def transient(self) -> bool:
        """NKS or Kubernetes could not be used: retried with backoff, nothing to fix."""
        return self.reason in (
            Reason.NKS_UNAVAILABLE,
            Reason.KUBERNETES_UNAVAILABLE,
        )


@dataclass(frozen=True)
class OperationView:
    """The operation being followed."""

    operation: str
    summary: str
    verdict: Literal["waiting", "in_progress"]
    upgrade: bool = False
    timed_out: bool = False


@dataclass(frozen=True)
class Assessment:
    ready_reason: Reason  # Ready's reason when the resource is up (the kind's own)
    stage: Stage
    has_nks_id: bool = False
    paused: bool = False
    problem: Problem | None = None  # stopped the pass
    transient: Problem | None = None  # NKS/Kubernetes unavailable: reported next to the stage
    answer_problem: str | None = None  # parts of NKS's answer were unreadable
    side_problem: Problem | None = None  # a Kubernetes-side task failed (Argo CD Secret)
    message: str = ""  # the stage's own detail (what was created, what is awaited, ...)
    nks_status: str | None = None
    usable: bool = False  # created: stays Ready=True while NKS changes it
    operation: OperationView | None = None
    plan: PlanState = "in_sync"
    plan_message: str = ""
    plan_reason: Reason | None = None  # the first blocked reason
    sending: Sending = Sending.NONE
    previous_ready_reason: str | None = None
    timers: tuple[float, ...] = ()  # seconds until something time-based falls due


@dataclass(frozen=True)
class Timing:
    slow_seconds: float
    error_backoff_seconds: float
    fast_seconds: float


@dataclass(frozen=True)
class Outcome:
    phase: Phase | None  # None: keep the phase
    conditions: tuple[ConditionUpdate, ...]
    requeue_after: float
    error: Literal["transient", "terminal"] | None = None
    warnings: tuple[tuple[Reason, str], ...] = field(default_factory=tuple)


def _cond(
    type_: str, status: ConditionStatus, reason: Reason | str, message: str
) -> ConditionUpdate:
    return ConditionUpdate(type_, status, str(reason), message)


def _problem_outcome(a: Assessment, problem: Problem, timing: Timing) -> Outcome:
    reason = problem.reason
    phase: Phase | None = None
    if reason == Reason.INVALID_SPEC:
        if not a.has_nks_id:
            phase = "Failed"
        elif a.nks_status is not None:
            phase = nks_phase.phase_for(a.nks_status)
    elif reason in CREDENTIALS_PROBLEMS or reason == Reason.SECRET_KEY_MISSING:
        phase = None if a.has_nks_id else "Pending"
    elif reason in NEEDS_ATTENTION:
        phase = "Failed"
    conditions = [_cond(READY, "False", reason, problem.message)]
    if reason == Reason.NKS_FAILED:
        conditions.append(_cond(SYNCED, "True", Reason.OBSERVED, "NKS state observed"))
    else:
        conditions.append(_cond(SYNCED, "False", reason, problem.message))
    event = Reason.CREDENTIALS_ERROR if reason in CREDENTIALS_PROBLEMS else reason
    slow = reason in (Reason.NKS_FAILED, Reason.CLUSTER_NOT_FOUND, Reason.NODE_GROUP_NOT_FOUND)
    return Outcome(
        phase=phase,
        conditions=tuple(conditions),
        requeue_after=timing.slow_seconds if slow else timing.error_backoff_seconds,
        error="terminal",
        warnings=((event, problem.message),),
    )


@dataclass
class _Shown:
    """What one stage shows, before the problems reported next to it."""

    phase: Phase | None = None  # None: keep the phase
    conditions: list[ConditionUpdate] = field(default_factory=list)
    warnings: list[tuple[Reason, str]] = field(default_factory=list)
    requeue: float | None = None


def _in_progress(a: Assessment) -> _Shown:
    """An operation runs (followed, or one NKS shows)."""
    op = a.operation
    status_text = f"NKS reports {a.nks_status}" if a.nks_status else "NKS state observed"
    if op is not None:
        phase: Phase = "Upgrading" if op.upgrade else "Updating"
    else:
        phase = nks_phase.phase_for(a.nks_status)
    if a.paused:
        phase = "Paused"
    shown = _Shown(phase)
    shown.conditions.append(_cond(READY, "True" if a.usable else "False", phase, status_text))
    if a.sending == Sending.SENT and op is not None:
        shown.conditions.append(_cond(SYNCED, "True", Reason.OPERATION_REQUESTED, op.summary))
    else:
        shown.conditions.append(_cond(SYNCED, "True", Reason.OBSERVED, "waiting for NKS to finish"))
    if op is not None and op.timed_out:
        message = f"{op.summary}: NKS has not finished it within its deadline; still following"
        shown.conditions.append(_cond(PROGRESSING, "False", Reason.OPERATION_TIMED_OUT, message))
        shown.warnings.append((Reason.OPERATION_TIMED_OUT, message))
    elif op is not None:
        detail = "sent" if a.sending == Sending.SENT else op.verdict.replace("_", " ")
        message = f"{op.summary} ({detail})"
        shown.conditions.append(_cond(PROGRESSING, "True", Reason.OPERATION_IN_PROGRESS, message))
    else:
        shown.conditions.append(
            _cond(PROGRESSING, "True", Reason.OPERATION_IN_PROGRESS, status_text)
        )
    return shown


def _not_sent(a: Assessment, timing: Timing) -> _Shown | None:
    """Synced and Progressing when the plan's action was not sent or cannot be; None: the
    plan is in sync (or only paused)."""
    message = a.plan_message
    if a.sending in (Sending.REFUSED, Sending.FAILED_BEFORE):
        # Shown the same way on every pass until the spec changes.
        refused = a.sending == Sending.REFUSED
        reason = Reason.OPERATION_REFUSED if refused else Reason.OPERATION_FAILED
        return _Shown(
            conditions=[
                _cond(SYNCED, "False", reason, message),
                _cond(PROGRESSING, "False", reason, message),
            ],
            warnings=[(reason, message)],
        )
    if a.sending in (Sending.NEXT, Sending.CLUSTER_BUSY) or a.plan == "waiting":
        progressing = Reason.WAITING
        if a.sending == Sending.NEXT:
            message, progressing = f"next: {message}", Reason.OPERATION_IN_PROGRESS
        elif a.sending == Sending.CLUSTER_BUSY:
            message = f"waiting for the cluster to be idle to {message}"
        return _Shown(
            conditions=[
                _cond(SYNCED, "False", Reason.WAITING, message),
                _cond(PROGRESSING, "True", progressing, message),
            ]
        )
    if a.plan == "blocked":
        reason = a.plan_reason or Reason.UPGRADE_BLOCKED
        return _Shown(
            conditions=[
                _cond(SYNCED, "False", reason, message),
                _cond(PROGRESSING, "False", Reason.IDLE, "nothing can be sent"),
            ],
            warnings=[(reason, message)],
            requeue=timing.error_backoff_seconds,
        )
    return None


def _stable(a: Assessment, timing: Timing) -> _Shown:
    """Nothing runs: the resource is up; what the plan concluded shows on Synced."""
    status_text = f"NKS reports {a.nks_status}" if a.nks_status else "NKS state observed"
    if a.paused:
        message = "the resource is up; paused: nothing is sent to NKS"
        ready = _cond(READY, "True", Reason.PAUSED, message)
    else:
        ready = _cond(READY, "True", a.ready_reason, status_text)
    shown = None if a.sending == Sending.PAUSED else _not_sent(a, timing)
    if shown is None:
        shown = _Shown()
        if a.sending == Sending.PAUSED:
            message = f"paused: would {a.plan_message}"
            shown.conditions.append(_cond(SYNCED, "True", Reason.PAUSED, message))
        elif a.paused:
            message = "the paused annotation is set"
            shown.conditions.append(_cond(SYNCED, "True", Reason.PAUSED, message))
        else:
            shown.conditions.append(_cond(SYNCED, "True", Reason.SYNCED, "spec and NKS agree"))
            shown.conditions.append(_cond(PROGRESSING, "False", Reason.IDLE, "nothing to change"))
    shown.phase = "Paused" if a.paused else "Ready"
    shown.conditions.insert(0, ready)
    return shown


def _running(a: Assessment, timing: Timing) -> _Shown:
    """An observed resource."""
    if a.operation is not None or nks_phase.is_in_progress(a.nks_status):
        return _in_progress(a)
    return _stable(a, timing)


def _waiting_for_parent(a: Assessment, timing: Timing) -> _Shown:
    return _Shown(
        None if a.has_nks_id else "Pending",
        [
            _cond(READY, "False", Reason.WAITING_FOR_CLUSTER, a.message),
            _cond(SYNCED, "True", Reason.WAITING_FOR_CLUSTER, a.message),
        ],
    )


def _paused_before_create(a: Assessment, timing: Timing) -> _Shown:
    return _Shown(
        "Paused",
        [
            _cond(READY, "False", Reason.PAUSED, "paused before creation: nothing is sent"),
            _cond(SYNCED, "True", Reason.PAUSED, "the paused annotation is set"),
        ],
    )


def _create_waiting(a: Assessment, timing: Timing) -> _Shown:
    return _Shown("Pending", [_cond(READY, "False", Reason.WAITING_FOR_CLUSTER, a.message)])


def _create_pending(a: Assessment, timing: Timing) -> _Shown:
    return _Shown("Provisioning", [_cond(READY, "False", Reason.CREATING, a.message)])


def _create_requested(a: Assessment, timing: Timing) -> _Shown:
    return _Shown(
        "Provisioning",
        [
            _cond(READY, "False", Reason.CREATING, "creating in NKS"),
            _cond(SYNCED, "True", Reason.CREATE_REQUESTED, a.message),
        ],
    )


def _adopted(a: Assessment, timing: Timing) -> _Shown:
    return _Shown(None, [_cond(SYNCED, "True", Reason.ADOPTED, a.message)])


def _observing(a: Assessment, timing: Timing) -> _Shown:
    if a.previous_ready_reason in {str(r) for r in CREDENTIALS_PROBLEMS}:
        return _Shown(None, [_cond(READY, "Unknown", Reason.CREDENTIALS_RESOLVED, a.message)])
    return _Shown()


def _deleting(a: Assessment, timing: Timing) -> _Shown:
    shown = _Shown("Deleting", [_cond(READY, "False", Reason.DELETING, a.message)])
    if a.operation is not None and a.operation.timed_out:
        message = f"{a.message}: NKS has not finished within the deletion deadline"
        shown.conditions.append(_cond(PROGRESSING, "False", Reason.OPERATION_TIMED_OUT, message))
        shown.warnings.append((Reason.OPERATION_TIMED_OUT, message))
    return shown


def _paused_deletion(a: Assessment, timing: Timing) -> _Shown:
    message = "deletion waits: the paused annotation is set"
    return _Shown("Paused", [_cond(READY, "False", Reason.PAUSED, message)])


_STAGES: dict[Stage, Callable[[Assessment, Timing], _Shown]] = {
    Stage.WAITING_FOR_PARENT: _waiting_for_parent,
    Stage.PAUSED_BEFORE_CREATE: _paused_before_create,
    Stage.CREATE_WAITING: _create_waiting,
    Stage.CREATE_PENDING: _create_pending,
    Stage.CREATE_REQUESTED: _create_requested,
    Stage.ADOPTED: _adopted,
    Stage.OBSERVING: _observing,
    Stage.RUNNING: _running,
    Stage.DELETING: _deleting,
    Stage.PAUSED_DELETION: _paused_deletion,
}


def _reported_beside(a: Assessment, transient: Problem | None, shown: _Shown) -> None:
    """What is reported next to the stage: a Kubernetes-side problem, an unreadable
    answer, NKS or Kubernetes unavailable (each replaces what the stage put on Synced)."""
    if a.side_problem is not None:
        side = a.side_problem
        # One a person must fix (the kubeconfig Secret's name is taken) leaves the
        # resource unusable as declared: not Ready. Others (Argo CD) show on Synced only.
        replaced = {SYNCED, READY} if side.reason in NEEDS_ATTENTION else {SYNCED}
        shown.conditions = [c for c in shown.conditions if c.type not in replaced]
        if READY in replaced:
            shown.conditions.append(_cond(READY, "False", side.reason, side.message))
        shown.conditions.append(_cond(SYNCED, "False", side.reason, side.message))
        shown.warnings.append((side.reason, side.message))
    if a.answer_problem is not None and transient is None:
        shown.conditions = [c for c in shown.conditions if c.type != SYNCED]
        shown.conditions.append(_cond(SYNCED, "False", Reason.NKS_ANSWER_INVALID, a.answer_problem))
    if transient is not None:
        shown.conditions = [c for c in shown.conditions if c.type != SYNCED]
        shown.conditions.append(_cond(SYNCED, "False", transient.reason, transient.message))


def outcome(a: Assessment, timing: Timing) -> Outcome:
    """Phase, conditions, Warnings and the next pass for one pass's findings."""
    if a.problem is not None and not a.problem.transient:
        return _problem_outcome(a, a.problem, timing)
    transient = a.problem if a.problem is not None else a.transient
    shown = _STAGES[a.stage](a, timing)
    _reported_beside(a, transient, shown)
    due = [t for t in (*a.timers, shown.requeue) if t is not None and t >= 0]
    next_pass = min([timing.slow_seconds, *due])
    if a.stage == Stage.DELETING:
        next_pass = min(next_pass, timing.fast_seconds)
    error: Literal["transient", "terminal"] | None = None
    if transient is not None:
        error = "transient"
    elif any(c.status == "False" and c.reason in CANNOT_PROCEED for c in shown.conditions):
        error = "terminal"  # it runs, but a change cannot go on without a person
    return Outcome(
        phase=shown.phase,
        conditions=tuple(shown.conditions),
        requeue_after=next_pass,
        error=error,
        warnings=tuple(shown.warnings),
    )
