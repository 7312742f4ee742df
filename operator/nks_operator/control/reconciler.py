"""The one reconcile loop of both kinds: every lifecycle rule they share lives here.

A pass reads the object from the cache, then, in order: validates the spec, resolves the
credentials and the NKS account, reads what NKS reports (the poller's snapshot), creates
the resource exactly once (intent and finalizer recorded before the call, a lost answer
adopted by name), follows the operation in flight or sends the next one the plan asks
for, and deletes by its deletion policy. The kind-specific answers come from an
`Adapter`; what a user sees (phase, conditions, Events, the next pass) is decided by the
pure `reconcile.outcome.outcome()` from the pass's `Assessment`.

Kubernetes errors (conflicts, a restarting apiserver) never end the process: the pass
stops, its key is requeued with backoff, and the next pass writes what this one could
not. NKS errors are reported on the resource and retried with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from nks_operator.api.problems import format_validation_error
from nks_operator.control import events
from nks_operator.control.adapter import Adapter, Location, Observed
from nks_operator.control.context import OperatorContext
from nks_operator.control.creation import Creation
from nks_operator.control.deletion import Deletion
from nks_operator.control.operations import Operations
from nks_operator.control.passes import AnyPass, Ending, Pass, PassResult, Released, Stop
from nks_operator.control.steps import AccountBusy, SharedSteps
from nks_operator.kube.client import KubeAPIError, KubeConflict, LoginMissing
from nks_operator.nks import errors
from nks_operator.polling.accounts import Account
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile import phase, task_events
from nks_operator.reconcile.outcome import Assessment, Outcome, Problem, Sending, Stage, outcome
from nks_operator.reconcile.reasons import Reason
from nks_operator.runtime.cache import ObjectKey

logger = logging.getLogger(__name__)

AT_ONCE = 0.0  # a timer: the next pass runs as soon as a worker takes the key


class Reconciler:
    def __init__(
        self, ctx: OperatorContext, adapters: Mapping[str, Adapter[Any, Any, Any]]
    ) -> None:
        self.ctx = ctx
        self.adapters = dict(adapters)
        self.steps = SharedSteps(ctx)
        self.creation = Creation(self.steps)
        self.operations = Operations(self.steps)
        self.deletion = Deletion(self.steps)

    async def reconcile(self, key: ObjectKey) -> PassResult:
        body = self.ctx.cache.get(key)
        if body is None:
            self.forget(key)
            return PassResult(None)
        adapter = self.adapters[key.kind]
        memory = self.ctx.memories.of(key)
        p = Pass(self.ctx, adapter, key, body, memory)
        try:
            return await self._conclude(p, await self._run(p))
        except (KubeAPIError, LoginMissing) as error:
            level = logging.INFO if isinstance(error, KubeConflict) else logging.WARNING
            logger.log(level, "%s: Kubernetes API call failed, retrying: %s", key, error)
            again = AT_ONCE if isinstance(error, KubeConflict) else None
            return PassResult(again, "transient", True)
        except AccountBusy as busy:
            logger.debug("%s: every pass slot of account %s is taken; retrying", key, busy)
            return PassResult(None, "transient")
        finally:
            if p.slot is not None:
                p.slot.release_pass_slot()

    def forget(self, key: ObjectKey) -> None:
        self.ctx.forget(key)

    async def _run(self, p: AnyPass) -> Ending:
        """The pass's steps, ended by their return or by a `Stop` from anywhere in them."""
        try:
            if not p.meta.get("deletionTimestamp"):
                return await self._live_steps(p)
            if self.ctx.finalizer not in (p.meta.get("finalizers") or []):
                return Released()  # not ours to finish (or already released)
            return await self.deletion.delete(p)
        except Stop as stop:
            return stop.ending

    async def _conclude(self, p: AnyPass, ending: Ending) -> PassResult:
        """The one place a pass's ending becomes what the user sees and the next pass."""
        if isinstance(ending, Released):
            return PassResult(None)
        result = outcome(ending, self.steps.timing)
        self._apply(p, result)
        await p.writer.flush()
        if self.ctx.memories.record_phase(p.key, p.status.phase):
            self._publish_phases(p.key.kind)
        return PassResult(result.requeue_after, result.error)

    def _apply(self, p: AnyPass, result: Outcome) -> None:
        if result.phase is not None:
            p.status.phase = result.phase
        if result.conditions:
            p.writer.conditions(*result.conditions)
        for reason, message in result.warnings:
            p.warn_once(reason, message)

    def _publish_phases(self, kind: str) -> None:
        self.ctx.metrics.set_managed(kind, self.ctx.memories.phase_counts(kind))

    async def _live_steps(self, p: AnyPass) -> Assessment:
        adapter = p.adapter
        try:
            p.spec = adapter.facts.spec_model.model_validate(p.body.get("spec") or {})
        except ValidationError as error:
            raise p.stop(Reason.INVALID_SPEC, "; ".join(format_validation_error(error))) from None
        nks_id = await self._managed_id(p)
        located = await adapter.locate(p)
        if isinstance(located, Assessment):
            return located
        location = located
        account = await self.steps.account(p, location)
        supported = await self.steps.supported(p, account)
        seen = self._look(p, account, location, nks_id)
        if isinstance(seen, Assessment):
            return seen
        snapshot, observed = seen
        if observed is not None and adapter.identity.nks_id(p.status) is None:
            # Adopted through the spec's id: ours from now on.
            adapter.identity.set_nks_id(p.status, observed.nks_id, location)
            await self.steps.ensure_finalizer(p)
        unreadable = await self._check_spec(p, account, supported, observed)
        if nks_id is None:
            if p.paused:
                return p.assess(Stage.PAUSED_BEFORE_CREATE)
            return await self.creation.create(p, account, location, snapshot)
        assert observed is not None  # the id's cluster is known, and it was observed
        return await self._converge(p, account, location, observed, supported, unreadable)

    async def _managed_id(self, p: AnyPass) -> str | None:
        """The NKS id this resource manages (from its status or its spec), held."""
        identity = p.adapter.identity
        if identity.nks_id(p.status) is not None or await self.steps.intent(p) is not None:
            # Something exists (or may) in NKS: never let the object go without deleting it.
            await self.steps.ensure_finalizer(p)
        nks_id = identity.nks_id(p.status) or identity.adoption_id(p.spec)
        if nks_id is not None:
            # Before anything of it is read or sent: one managing resource per NKS id.
            await self.steps.own(p, nks_id)
            nks_id = identity.nks_id(p.status) or nks_id
        return nks_id

    def _look(
        self, p: AnyPass, account: Account, location: Location, nks_id: str | None
    ) -> Assessment | tuple[ClusterSnapshot | None, Observed | None]:
        """The cluster's snapshot and the resource in it (None: no cluster yet, or no
        id); or why the pass cannot go on from what NKS shows."""
        adapter = p.adapter
        cluster_id = location.cluster_id or (nks_id if adapter.facts.nks_id_is_cluster_id else None)
        if cluster_id is None:
            return None, None
        snapshot = self.steps.watch(p, account, cluster_id)
        if snapshot.gone:
            raise p.stop(
                Reason.CLUSTER_NOT_FOUND,
                f"NKS cluster {cluster_id} no longer exists (deleted outside the "
                "operator); it is not re-created",
                nks_status=None,
            )
        if not snapshot.ready_to_use:
            return self._observing(p, account, snapshot)
        if nks_id is None:
            return snapshot, None
        observed = adapter.observe(snapshot, nks_id)
        if observed is None:
            missing = self._missing(p, account, snapshot, nks_id)
            if missing is not None:
                return missing
        return snapshot, observed

    async def _check_spec(
        self,
        p: AnyPass,
        account: Account,
        supported: Mapping[str, bool],
        observed: Observed | None,
    ) -> Mapping[str, str]:
        """Stop on what NKS would refuse or an immutable field that differs; returns the
        parts of the inputs' answers that could not be read."""
        try:
            checked = await p.adapter.checking.check(p, account, supported, observed)
        except errors.NKSError as error:
            raise self.steps.nks_error(p, error) from None
        p.status.drift = [d.field for d in checked.drift] or None
        problems = checked.problems + [d.message for d in checked.drift]
        if problems:
            fields: dict[str, Any] = {}
            if observed is not None:
                p.adapter.report(p, observed)
                fields["nks_status"] = observed.status
            raise p.stop(Reason.INVALID_SPEC, "; ".join(problems), **fields)
        events.clear_warnings(p.memory, Reason.INVALID_SPEC)
        return checked.unreadable

    def _observing(self, p: AnyPass, account: Account, snapshot: ClusterSnapshot) -> Assessment:
        """NKS's state is not read yet: the poller wakes this resource when it is."""
        problem = snapshot.problem_of("cluster")
        if problem is not None:
            return p.assess(Stage.OBSERVING, answer_problem=problem)
        return p.assess(
            Stage.OBSERVING,
            transient=self._poll_problem(account, snapshot),
            message="reading NKS",
            timers=(self.steps.timing.slow_seconds,),
        )

    def _missing(
        self, p: AnyPass, account: Account, snapshot: ClusterSnapshot, nks_id: str
    ) -> Assessment | None:
        """The resource is not in the snapshot: gone only if a read after now says so."""
        # An unreadable entry may lack its uuid: it is recorded under its name.
        problem = snapshot.problem_of(nks_id, p.adapter.identity.nks_name(p.spec, p.name))
        if problem is not None:
            return p.assess(Stage.OBSERVING, answer_problem=problem)
        seen = p.memory.missing_since
        if seen is None or snapshot.refreshed_at <= seen:
            if seen is None:
                p.memory.missing_since = snapshot.refreshed_at
            # Not in full: the node group list (always read) and the cluster's GET tell
            # presence; a group the poller never read is GET anyway.
            account.poller.request_refresh(snapshot.uuid, full=False)
            return p.assess(Stage.OBSERVING, message="reading NKS")
        p.memory.missing_since = None
        raise p.stop(
            p.adapter.facts.not_found,
            f"NKS {p.adapter.facts.noun} {nks_id} no longer exists (deleted outside the "
            "operator); it is not re-created",
        )

    async def _converge(
        self,
        p: AnyPass,
        account: Account,
        location: Location,
        observed: Observed,
        supported: Mapping[str, bool],
        inputs_unreadable: Mapping[str, str],
    ) -> Assessment:
        adapter = p.adapter
        p.memory.missing_since = None
        adapter.report(p, observed)
        p.status.observed_generation = p.generation
        self._post_task_events(p, observed)
        self._follow_create(p, observed)
        nks_status = observed.status
        base: dict[str, Any] = {
            "nks_status": nks_status,
            "usable": _usable(p),
            "answer_problem": self._answer_problem(observed.unreadable),
        }
        poll_problem = self._poll_problem(account, observed.snapshot)
        if poll_problem is not None:
            # What NKS reports now is unknown: nothing is planned or sent on an old view.
            return p.assess(Stage.RUNNING, transient=poll_problem, **base)
        if phase.is_failed(nks_status):
            reason = observed.status_reason or nks_status
            raise p.stop(Reason.NKS_FAILED, f"NKS reports {nks_status}: {reason}", **base)
        try:
            more = await adapter.converging.prepare(p, account, observed)
        except errors.NKSError as error:
            raise self.steps.nks_error(p, error, **base) from None
        more = {**more, **inputs_unreadable}
        if more:
            base["answer_problem"] = self._answer_problem({**observed.unreadable, **more})
        plan = adapter.converging.plan(p, observed, supported, location)
        following = self.operations.follow(p, account, observed, plan, location)
        timers = (AT_ONCE,) if following.just_ended else following.timers
        if following.view is not None or phase.is_in_progress(nks_status):
            return p.assess(Stage.RUNNING, operation=following.view, timers=timers, **base)
        if following.just_ended:  # what comes next goes in the next pass
            sending = Sending.NEXT if plan.action is not None else Sending.NONE
            fields = {**base, **self.operations.plan_fields(plan)}
            return p.assess(Stage.RUNNING, timers=timers, sending=sending, **fields)
        try:
            base["side_problem"] = await adapter.converging.when_stable(p, account, observed)
        except errors.NKSError as error:
            raise self.steps.nks_error(p, error, **base) from None
        return await self.operations.send(p, account, location, observed, plan, base)

    @staticmethod
    def _poll_problem(account: Account, snapshot: ClusterSnapshot) -> Problem | None:
        """The account's last list, or the last read of this cluster, failed: the poller
        wakes the resources concerned when it fails and again when it recovers."""
        error = account.poller.last_error or snapshot.read_error
        if error is None:
            return None
        return Problem(Reason.NKS_UNAVAILABLE, f"NKS call failed: {error}")

    @staticmethod
    def _answer_problem(unreadable: Mapping[str, str]) -> str | None:
        if not unreadable:
            return None
        parts = "; ".join(f"{field}: {why}" for field, why in sorted(unreadable.items()))
        return f"parts of NKS's answer could not be read and are treated as unknown: {parts}"

    def _post_task_events(self, p: AnyPass, observed: Observed) -> None:
        facts = p.adapter.facts
        # A cluster's tasks are the whole cluster's; a node group's name its uuid.
        resource_uuid = None if facts.nks_id_is_cluster_id else observed.nks_id
        first_sight = p.status.last_task_id is None
        last = p.status.last_operation
        pending = last is not None and last.state in ("Requested", "InProgress")
        found, watermark = task_events.new_task_events(
            observed.snapshot.tasks,
            last_task_id=p.status.last_task_id,
            resource_uuid=resource_uuid,
            resource_type=facts.nks_resource,
            announced=p.memory.announced_tasks,
            requested=last.type if last is not None and pending else None,
        )
        # First sight of an adopted resource: do not replay its history.
        adopted = p.adapter.identity.adoption_id(p.spec) is not None
        if not (first_sight and adopted):
            for event in found:
                p.event(event.type, event.reason, event.message)
        p.status.last_task_id = watermark

    def _follow_create(self, p: AnyPass, observed: Observed) -> None:
        last = p.status.last_operation
        if (
            last is None
            or last.type != p.adapter.facts.create_operation
            or last.state not in ("Requested", "InProgress")
        ):
            return
        # NKS shows the new resource, so its siblings see the cluster busy from now on.
        self.ctx.claims.release(observed.snapshot.uuid, p.key)
        status = observed.status
        if phase.is_failed(status) or phase.is_rolled_back(status):
            last.state, last.message = "Failed", observed.status_reason or str(status)
        elif phase.is_stable(status):
            last.state = "Succeeded"
        else:
            last.state = "InProgress"


def _usable(p: AnyPass) -> bool:
    """Created and usable: Ready stays True while NKS changes it."""
    last = p.status.last_operation
    create = p.adapter.facts.create_operation
    return last is None or last.type != create or last.state == "Succeeded"
