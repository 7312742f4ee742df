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

import datetime
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from nks_operator.api.problems import format_validation_error
from nks_operator.api.resources import GROUP
from nks_operator.api.status import CreationIntent, LastOperation, ResourceStatus
from nks_operator.control import events
from nks_operator.control.adapter import Adapter, Location, Observed
from nks_operator.control.context import OperatorContext
from nks_operator.control.memory import ResourceMemory
from nks_operator.control.status_writer import StatusWriter, now_iso
from nks_operator.kube import credentials as kube_credentials
from nks_operator.kube.client import KubeAPIError, KubeConflict, LoginMissing
from nks_operator.nks import errors
from nks_operator.polling.accounts import Account
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile import operation_state, phase, task_events
from nks_operator.reconcile.day2 import STATE_CONFIRMED, Plan
from nks_operator.reconcile.outcome import (
    Assessment,
    OperationView,
    Outcome,
    Problem,
    Sending,
    Stage,
    Timing,
    outcome,
)
from nks_operator.reconcile.reasons import Reason
from nks_operator.runtime.cache import ObjectKey

logger = logging.getLogger(__name__)

PAUSED_ANNOTATION = f"{GROUP}/paused"
RECONCILE_REQUESTED_ANNOTATION = f"{GROUP}/reconcile-requested-at"
RENEW_CERTIFICATE_ANNOTATION = f"{GROUP}/renew-certificate"
# The exactly-once record: written with the finalizer before a create call.
CREATE_REQUESTED_ANNOTATION = f"{GROUP}/create-requested"


class Stop(Exception):
    """End the pass early with this assessment."""

    def __init__(self, assessment: Assessment) -> None:
        super().__init__(assessment.stage)
        self.assessment = assessment


@dataclass(frozen=True)
class PassResult:
    """What the worker does next with the key."""

    requeue_after: float | None  # None: nothing more to do (released, or gone)
    error: Literal["transient", "terminal"] | None = None
    kubernetes_error: bool = False


def parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def age_seconds(value: str | None) -> float:
    parsed = parse_time(value)
    if parsed is None:
        return 1e9
    return (datetime.datetime.now(datetime.UTC) - parsed).total_seconds()


def is_paused(body: Mapping[str, Any]) -> bool:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    # Any capitalisation of "true", nothing else: Argo CD's health check (Lua without the
    # string library) can compare exactly these.
    return str(annotations.get(PAUSED_ANNOTATION, "")).lower() == "true"


def read_intent(body: Mapping[str, Any], status: ResourceStatus) -> CreationIntent | None:
    """The create intent: our annotation, or the status field older versions wrote."""
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(CREATE_REQUESTED_ANNOTATION)
    if raw:
        try:
            return CreationIntent.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            logger.warning("Unreadable %s annotation ignored", CREATE_REQUESTED_ANNOTATION)
    return status.creation


class Pass:
    """One pass over one resource: its object, parsed status and per-pass helpers."""

    def __init__(
        self,
        ctx: OperatorContext,
        adapter: Adapter[Any, Any],
        key: ObjectKey,
        body: dict[str, Any],
        memory: ResourceMemory,
    ) -> None:
        self.ctx = ctx
        self.adapter = adapter
        self.key = key
        self.body = body
        self.meta: dict[str, Any] = body["metadata"]
        self.name: str = key.name
        self.namespace: str = key.namespace
        self.generation: int | None = self.meta.get("generation")
        self.memory = memory
        self.spec: Any = None
        self.status: Any = adapter.status_model.model_validate(body.get("status") or {})
        self.writer = StatusWriter(
            ctx.kube, ctx.cache, adapter.resource, key, self.generation, self.status
        )
        self.paused = is_paused(body)
        self.settings = ctx.settings
        self.credentials: kube_credentials.ResolvedCredentials | None = None
        self.extra: dict[str, Any] = {}  # the adapter's own per-pass findings

    @property
    def annotations(self) -> dict[str, str]:
        return self.meta.get("annotations") or {}

    def assess(self, stage: Stage, **fields: Any) -> Assessment:
        ready = next((c for c in self.status.conditions if c.type == "Ready"), None)
        return Assessment(
            kind=self.key.kind,  # type: ignore[arg-type]
            stage=stage,
            has_nks_id=self.adapter.nks_id(self.status) is not None,
            paused=self.paused,
            previous_ready_reason=None if ready is None else ready.reason,
            **fields,
        )

    def stop(self, reason: Reason, message: str, **fields: Any) -> Stop:
        """End the pass with a problem (raise it)."""
        return Stop(self.assess(Stage.RUNNING, problem=Problem(reason, message), **fields))

    def event(self, type_: Literal["Normal", "Warning"], reason: Reason, message: str) -> None:
        self.ctx.events.post(self.body, type_, reason, message)

    def warn_once(self, reason: Reason, message: str) -> None:
        events.warn_once(self.ctx.events, self.body, self.memory, reason, message)


class Reconciler:
    def __init__(self, ctx: OperatorContext, adapters: Mapping[str, Adapter[Any, Any]]) -> None:
        self.ctx = ctx
        self.adapters = dict(adapters)
        settings = ctx.settings
        self.timing = Timing(
            slow_seconds=settings.slow_poll_seconds,
            error_backoff_seconds=settings.error_backoff_seconds,
            fast_seconds=settings.fast_poll_seconds,
        )
        self.confirm_seconds = max(30.0, settings.fast_poll_seconds * 10)

    # -- entry point ----------------------------------------------------------------------

    async def reconcile(self, key: ObjectKey) -> PassResult:
        body = self.ctx.cache.get(key)
        if body is None:
            self.forget(key)
            return PassResult(None)
        adapter = self.adapters[key.kind]
        memory = self.ctx.memories.of(key)
        p = Pass(self.ctx, adapter, key, body, memory)
        try:
            if self.ctx.finalizer not in (p.meta.get("finalizers") or []) and p.meta.get(
                "deletionTimestamp"
            ):
                return PassResult(None)  # not ours to finish (or already released)
            if p.meta.get("deletionTimestamp"):
                return await self._deletion(p)
            assessment = await self._live(p)
            return await self._conclude(p, assessment)
        except (KubeAPIError, LoginMissing) as error:
            level = logging.INFO if isinstance(error, KubeConflict) else logging.WARNING
            logger.log(level, "%s: Kubernetes API call failed, retrying: %s", key, error)
            return PassResult(0.0 if isinstance(error, KubeConflict) else None, "transient", True)

    def forget(self, key: ObjectKey) -> None:
        self.ctx.forget(key)

    async def _conclude(self, p: Pass, assessment: Assessment) -> PassResult:
        result = outcome(assessment, self.timing)
        self._apply(p, result)
        await p.writer.flush()
        if self.ctx.memories.record_phase(p.key, p.status.phase):
            self._publish_phases(p.key.kind)
        return PassResult(result.requeue_after, result.error)

    def _apply(self, p: Pass, result: Outcome) -> None:
        if result.phase is not None:
            p.status.phase = result.phase
        if result.conditions:
            p.writer.conditions(*result.conditions)
        for reason, message in result.warnings:
            p.warn_once(reason, message)

    def _publish_phases(self, kind: str) -> None:
        self.ctx.metrics.set_managed(kind, self.ctx.memories.phase_counts(kind))

    # -- a live resource ------------------------------------------------------------------

    async def _live(self, p: Pass) -> Assessment:
        try:
            return await self._live_steps(p)
        except Stop as stop:
            return stop.assessment

    async def _live_steps(self, p: Pass) -> Assessment:
        adapter = p.adapter
        try:
            p.spec = adapter.spec_model.model_validate(p.body.get("spec") or {})
        except ValidationError as error:
            raise p.stop(Reason.INVALID_SPEC, "; ".join(format_validation_error(error))) from None
        if (adapter.nks_id(p.status) or read_intent(p.body, p.status)) is not None:
            # Something exists (or may) in NKS: never let the object go without deleting it.
            await self._ensure_finalizer(p)
        located = await adapter.locate(p)
        if isinstance(located, Assessment):
            return located
        location = located
        account = await self._account(p, location)
        supported = await self._supported(p, account)
        nks_id = adapter.nks_id(p.status) or adapter.adoption_id(p.spec)
        observed: Observed | None = None
        snapshot: ClusterSnapshot | None = None
        cluster_id = location.cluster_id or (
            nks_id if adapter.resource.kind == "NKSCluster" else None
        )
        if cluster_id is not None:
            snapshot = self._watch(p, account, cluster_id)
            if snapshot.gone:
                raise p.stop(
                    Reason.CLUSTER_NOT_FOUND,
                    f"NKS cluster {cluster_id} no longer exists (deleted outside the "
                    "operator); it is not re-created",
                    nks_status=None,
                )
            if not snapshot.ready_to_use:
                return self._observing(p, account, snapshot)
            if nks_id is not None:
                observed = adapter.observe(snapshot, nks_id)
                if observed is None:
                    observed_or_missing = self._missing(p, account, snapshot, nks_id)
                    if observed_or_missing is not None:
                        return observed_or_missing
        if observed is not None and adapter.nks_id(p.status) is None:
            # Adopted through the spec's id: ours from now on.
            adapter.set_nks_id(p.status, observed.nks_id, location)
            await self._ensure_finalizer(p)
        problems, drift = adapter.problems(p, supported, observed)
        p.status.drift = [d.field for d in drift] or None
        problems += [d.message for d in drift]
        if problems:
            fields: dict[str, Any] = {}
            if observed is not None:
                adapter.report(p, observed)
                fields["nks_status"] = observed.status
            raise p.stop(Reason.INVALID_SPEC, "; ".join(problems), **fields)
        events.clear_warnings(p.memory, Reason.INVALID_SPEC)
        if nks_id is None:
            if p.paused:
                return p.assess(Stage.PAUSED_BEFORE_CREATE)
            return await self._create(p, account, location, snapshot)
        assert observed is not None
        return await self._converge(p, account, location, observed, supported)

    def _watch(self, p: Pass, account: Account, cluster_id: str) -> ClusterSnapshot:
        poller = account.poller
        watching = p.memory.watching
        if watching != (poller, cluster_id):
            if watching is not None:
                watching[0].unwatch(watching[1], p.key)
            p.memory.watching = (poller, cluster_id)
        return poller.watch(cluster_id, p.key)

    def _observing(self, p: Pass, account: Account, snapshot: ClusterSnapshot) -> Assessment:
        """NKS's state is not read yet: the poller wakes this resource when it is."""
        problem = snapshot.problem_of("cluster")
        if problem is not None:
            return p.assess(Stage.OBSERVING, answer_problem=problem)
        transient = None
        if account.poller.last_error is not None:
            transient = Problem(
                Reason.NKS_UNAVAILABLE, f"NKS call failed: {account.poller.last_error}"
            )
        return p.assess(
            Stage.OBSERVING,
            transient=transient,
            message="reading NKS",
            timers=(self.timing.slow_seconds,),
        )

    def _missing(
        self, p: Pass, account: Account, snapshot: ClusterSnapshot, nks_id: str
    ) -> Assessment | None:
        """The resource is not in the snapshot: gone only if a read after now says so."""
        problem = snapshot.problem_of(nks_id)
        if problem is not None:
            return p.assess(Stage.OBSERVING, answer_problem=problem)
        seen = p.memory.missing_since
        if seen is None or snapshot.refreshed_at <= seen:
            if seen is None:
                p.memory.missing_since = snapshot.refreshed_at
            account.poller.request_refresh(snapshot.uuid)
            return p.assess(Stage.OBSERVING, message="reading NKS")
        p.memory.missing_since = None
        raise p.stop(
            p.adapter.not_found,
            f"NKS {p.adapter.ready_noun} {nks_id} no longer exists (deleted outside the "
            "operator); it is not re-created",
        )

    # -- inputs ---------------------------------------------------------------------------

    async def _account(self, p: Pass, location: Location) -> Account:
        try:
            creds = await kube_credentials.resolve(
                self.ctx.kube,
                p.namespace,
                location.credentials_secret,
                self.ctx.settings.default_credentials,
            )
        except kube_credentials.CredentialsProblem as problem:
            raise p.stop(Reason(problem.reason), problem.message) from None
        try:
            account = self.ctx.accounts.get(creds, location.region)
        except errors.ConfigurationError as error:  # e.g. unusable endpoint overrides
            raise p.stop(Reason.CREDENTIALS_INVALID, f"{creds.source}: {error}") from None
        p.credentials = creds
        events.clear_warnings(p.memory, Reason.CREDENTIALS_ERROR)
        return account

    async def _supported(self, p: Pass, account: Account) -> Mapping[str, bool]:
        try:
            return await account.supported_versions()
        except errors.NKSError as error:
            raise self._nks_error(p, error) from None

    def _nks_error(self, p: Pass, error: errors.NKSError, **fields: Any) -> Stop:
        if isinstance(error, errors.UnauthorizedError):
            creds = p.credentials
            if creds is not None and creds.secret is not None:
                self.ctx.kube.forget_secret(*creds.secret)
            return p.stop(
                Reason.CREDENTIALS_REJECTED, f"NKS rejected the credentials: {error}", **fields
            )
        # Nothing new is known: only Synced says what failed (the rest stays as it was).
        return Stop(
            p.assess(
                fields.pop("stage", Stage.OBSERVING),
                transient=Problem(Reason.NKS_UNAVAILABLE, f"NKS call failed: {error}"),
                **fields,
            )
        )

    async def _secret_values(self, p: Pass) -> dict[tuple[str, str], str]:
        refs = [(ref.name, ref.key) for ref in p.adapter.secret_refs(p.spec)]
        try:
            return await kube_credentials.resolve_secret_keys(self.ctx.kube, p.namespace, refs)
        except kube_credentials.CredentialsProblem as problem:
            raise p.stop(Reason(problem.reason), problem.message) from None

    # -- metadata: finalizer and create intent --------------------------------------------

    async def _patch_metadata(self, p: Pass, metadata: dict[str, Any]) -> None:
        result = await self.ctx.kube.patch_metadata(
            p.adapter.resource,
            p.namespace,
            p.name,
            metadata,
            resource_version=p.meta.get("resourceVersion"),
        )
        if result is not None:
            self.ctx.cache.wrote_metadata(p.key, result)
            p.meta = (self.ctx.cache.get(p.key) or {"metadata": p.meta})["metadata"]
            p.body["metadata"] = p.meta

    def _finalizers_with_ours(self, p: Pass) -> list[str] | None:
        current = list(p.meta.get("finalizers") or [])
        if self.ctx.finalizer in current:
            return None
        return [*current, self.ctx.finalizer]

    async def _ensure_finalizer(self, p: Pass) -> None:
        finalizers = self._finalizers_with_ours(p)
        if finalizers is not None:
            await self._patch_metadata(p, {"finalizers": finalizers})

    async def _record_intent(self, p: Pass, intent: CreationIntent) -> None:
        """Finalizer and intent in one write: both must be durable before the call."""
        metadata: dict[str, Any] = {
            "annotations": {
                CREATE_REQUESTED_ANNOTATION: json.dumps(
                    intent.model_dump(mode="json", by_alias=True), sort_keys=True
                )
            }
        }
        finalizers = self._finalizers_with_ours(p)
        if finalizers is not None:
            metadata["finalizers"] = finalizers
        await self._patch_metadata(p, metadata)

    async def _clear_intent(self, p: Pass) -> None:
        if CREATE_REQUESTED_ANNOTATION in p.annotations:
            await self._patch_metadata(p, {"annotations": {CREATE_REQUESTED_ANNOTATION: None}})
        p.status.creation = None

    async def _release(self, p: Pass) -> PassResult:
        """Remove our finalizer: Kubernetes may delete the object now."""
        await p.adapter.released(p)
        finalizers = [f for f in (p.meta.get("finalizers") or []) if f != self.ctx.finalizer]
        await self._patch_metadata(p, {"finalizers": finalizers})
        self.forget(p.key)
        return PassResult(None)

    # -- create ---------------------------------------------------------------------------

    async def _create(
        self, p: Pass, account: Account, location: Location, snapshot: ClusterSnapshot | None
    ) -> Assessment:
        adapter = p.adapter
        name = adapter.nks_name(p.spec, p.name)
        intent = read_intent(p.body, p.status)
        if intent is not None:
            try:
                found = await adapter.find_created(p, account, location, intent)
            except errors.NKSError as error:
                raise self._nks_error(p, error, stage=Stage.CREATE_PENDING) from None
            if found is not None:
                return await self._adopted(
                    p,
                    account,
                    location,
                    found,
                    f"found the {adapter.ready_noun} a lost create response made",
                )
            age = age_seconds(intent.requested_at)
            grace = self.ctx.settings.adoption_grace_seconds
            if age < grace:
                account.poller.request_refresh(location.cluster_id)
                return p.assess(
                    Stage.CREATE_PENDING,
                    message=f"looking for the {adapter.ready_noun} an earlier create call may "
                    "have made",
                    timers=(max(1.0, grace - age),),
                )
        else:
            try:
                existing = await adapter.existing(p, account, location, name)
            except errors.NKSError as error:
                raise self._nks_error(p, error, stage=Stage.CREATE_PENDING) from None
            if existing:
                raise p.stop(adapter.name_in_use, self._in_use_message(p, name, existing))
        blocker = adapter.create_blocker(p, location, snapshot)
        if blocker is not None:
            return p.assess(Stage.CREATE_WAITING, message=blocker)
        secrets = await self._secret_values(p)
        # Exactly once: after a crash or a lost answer, the next pass finds this record
        # and looks the resource up by name instead of creating another.
        intent = CreationIntent(name=name, requested_at=now_iso())
        await self._record_intent(p, intent)
        claim = location.cluster_id
        if claim is not None:
            self.ctx.claims.claim(claim, p.key, self.confirm_seconds)
        try:
            nks_id = await adapter.create(account, location, p.spec, name, secrets)
        except errors.ConflictError:
            # It exists already (our own create, answered late): the next pass adopts it.
            account.poller.expect_change(location.cluster_id or "")
            return p.assess(
                Stage.CREATE_PENDING,
                message="NKS reports it exists already: adopting it",
                timers=(self.timing.fast_seconds,),
            )
        except (errors.InvalidRequestError, errors.ForbiddenError) as error:
            if claim is not None:
                self.ctx.claims.release(claim, p.key)
            await self._clear_intent(p)
            if is_busy_refusal(error):
                account.poller.expect_change(claim or "")
                return p.assess(
                    Stage.CREATE_WAITING,
                    message=f"NKS is busy: {error}",
                    timers=(self.timing.fast_seconds,),
                )
            raise p.stop(
                Reason.CREATE_REFUSED, f"NKS refused to create the {adapter.ready_noun}: {error}"
            ) from None
        except errors.UnauthorizedError as error:
            await self._clear_intent(p)
            raise self._nks_error(p, error) from None
        except errors.NKSError as error:
            # Unknown outcome (5xx, timeout, lost answer): keep the intent and look it up.
            p.event("Warning", Reason.CREATE_UNCERTAIN, str(error))
            if claim is not None:
                account.poller.expect_change(claim)
            return p.assess(
                Stage.CREATE_PENDING,
                transient=Problem(Reason.NKS_UNAVAILABLE, f"NKS call failed: {error}"),
                message="a create call's answer was lost; looking the result up",
            )
        adapter.set_nks_id(p.status, nks_id, location)
        p.status.creation = None
        p.status.last_operation = LastOperation(
            type=adapter.create_operation, state="Requested", started_at=now_iso()
        )
        message = f"NKS {adapter.ready_noun} {name} ({nks_id}) requested"
        p.event("Normal", Reason.CREATE_REQUESTED, message)
        watched = location.cluster_id or nks_id
        self._watch(p, account, watched)
        account.poller.expect_change(watched)
        return p.assess(
            Stage.CREATE_REQUESTED, message=f"NKS accepted the {adapter.ready_noun} {nks_id}"
        )

    @staticmethod
    def _in_use_message(p: Pass, name: str, existing: list[str]) -> str:
        if p.adapter.resource.kind == "NKSCluster":
            return (
                f"an NKS cluster named {name!r} already exists ({existing[0]}); set "
                "spec.clusterID to adopt it or choose another spec.clusterName"
            )
        return (
            f"the cluster already has a node group named {name!r} ({existing[0]}); set "
            "spec.nodeGroupID to adopt it"
        )

    async def _adopted(
        self, p: Pass, account: Account, location: Location, nks_id: str, why: str
    ) -> Assessment:
        p.adapter.set_nks_id(p.status, nks_id, location)
        p.status.creation = None
        await self._ensure_finalizer(p)
        p.event("Normal", Reason.ADOPTED, f"{why}: {nks_id}")
        watched = location.cluster_id or nks_id
        self._watch(p, account, watched)
        account.poller.expect_change(watched)
        return p.assess(Stage.ADOPTED, message=f"{why}: {nks_id}")

    # -- converge -------------------------------------------------------------------------

    async def _converge(
        self,
        p: Pass,
        account: Account,
        location: Location,
        observed: Observed,
        supported: Mapping[str, bool],
    ) -> Assessment:
        adapter = p.adapter
        p.memory.missing_since = None
        adapter.report(p, observed)
        p.status.observed_generation = p.generation
        self._post_task_events(p, observed)
        self._follow_create(p, observed)
        answer_problem = self._answer_problem(observed)
        nks_status = observed.status
        base = {
            "nks_status": nks_status,
            "usable": adapter.usable(p, observed),
            "answer_problem": answer_problem,
        }
        if phase.is_failed(nks_status):
            reason = observed.status_reason or nks_status
            raise p.stop(Reason.NKS_FAILED, f"NKS reports {nks_status}: {reason}", **base)
        try:
            await adapter.prepare(p, account, observed)
        except errors.NKSError as error:
            raise self._nks_error(p, error, **base) from None
        plan = adapter.plan(p, observed, supported, location)
        view, timers = self._follow(p, account, observed, plan, location)
        if view is not None or phase.is_in_progress(nks_status):
            return p.assess(Stage.RUNNING, operation=view, timers=timers, **base)
        try:
            base["side_problem"] = await adapter.when_stable(p, account, observed)
        except errors.NKSError as error:
            raise self._nks_error(p, error, **base) from None
        return await self._send(p, account, location, observed, plan, base)

    @staticmethod
    def _answer_problem(observed: Observed) -> str | None:
        if not observed.unreadable:
            return None
        parts = "; ".join(f"{field}: {why}" for field, why in sorted(observed.unreadable.items()))
        return f"parts of NKS's answer could not be read and are treated as unknown: {parts}"

    def _post_task_events(self, p: Pass, observed: Observed) -> None:
        resource_uuid, resource_type = p.adapter.task_scope(observed)
        first_sight = p.status.last_task_id is None
        found, watermark = task_events.new_task_events(
            observed.snapshot.tasks,
            last_task_id=p.status.last_task_id,
            resource_uuid=resource_uuid,
            resource_type=resource_type,
            announced=p.memory.announced_tasks,
        )
        # First sight of an adopted resource: do not replay its history.
        adopted = p.adapter.adoption_id(p.spec) is not None
        if not (first_sight and adopted):
            for event in found:
                p.event(event.type, event.reason, event.message)
        p.status.last_task_id = watermark

    def _follow_create(self, p: Pass, observed: Observed) -> None:
        last = p.status.last_operation
        if (
            last is None
            or last.type != p.adapter.create_operation
            or last.state not in ("Requested", "InProgress")
        ):
            return
        status = observed.status
        if phase.is_failed(status) or phase.is_rolled_back(status):
            last.state, last.message = "Failed", observed.status_reason or str(status)
        elif phase.is_stable(status):
            last.state = "Succeeded"
        else:
            last.state = "InProgress"

    def _deadline(self, operation: str) -> float:
        settings = self.ctx.settings
        if operation.endswith("_CREATE"):
            return settings.create_timeout_seconds
        if operation.endswith("_DELETE"):
            return settings.delete_timeout_seconds
        return settings.update_timeout_seconds

    def _follow(
        self, p: Pass, account: Account, observed: Observed, plan: Plan, location: Location
    ) -> tuple[OperationView | None, tuple[float, ...]]:
        """Follow the day-2 operation in flight; a view means nothing else may happen now."""
        last = p.status.last_operation
        created_running = (
            last is not None
            and last.type == p.adapter.create_operation
            and last.state in ("Requested", "InProgress")
        )
        if created_running:
            assert last is not None
            age = age_seconds(last.started_at)
            deadline = self._deadline(last.type)
            return None, ((deadline - age),) if age < deadline else ()
        if last is None or last.state in ("Succeeded", "Failed") or last.type.endswith("_CREATE"):
            return None, ()
        age = age_seconds(last.started_at)
        deadline = self._deadline(last.type)
        following = operation_state.follow(
            last,
            observed.snapshot.tasks,
            p.adapter.target_status(observed, last.target),
            confirmation="state" if last.type in STATE_CONFIRMED else "task",
            still_wanted=plan.wants(last.type, last.target),
            age_seconds=age,
            confirm_seconds=self.confirm_seconds,
            deadline_seconds=deadline,
            status_reason=observed.status_reason,
        )
        cluster_id = location.cluster_id or observed.snapshot.uuid
        if following.task is not None:
            last.task_id = following.task.uuid
        if following.verdict in ("waiting", "in_progress"):
            if following.verdict == "in_progress":
                last.state = "InProgress"
                self.ctx.claims.release(cluster_id, p.key)
            timers: tuple[float, ...] = ()
            if following.verdict == "waiting":
                timers += (max(self.confirm_seconds - age, 1.0),)
            if not following.timed_out:
                timers += (max(deadline - age, 1.0),)
            view = OperationView(
                last.type,
                last.message or last.type,
                following.verdict,
                upgrade=last.type == "NODEGROUP_UPGRADE",
                timed_out=following.timed_out,
            )
            return view, timers
        self.ctx.claims.release(cluster_id, p.key)
        if following.verdict == "succeeded":
            last.state = "Succeeded"
            p.event("Normal", Reason.OPERATION_SUCCEEDED, f"{last.message or last.type}: done")
            events.clear_warnings(p.memory, Reason.OPERATION_TIMED_OUT)
            p.adapter.after_success(p, account, last.type)
        elif following.verdict == "failed":
            last.state = "Failed"
            last.message = (
                f"{last.message or last.type} failed: {following.detail or 'see NKS task history'}"
            )
            p.event("Warning", Reason.OPERATION_FAILED, last.message)
        elif following.verdict == "dropped":
            last.state = "Failed"
            if last.attempt >= 2:
                # Sent twice and never applied: a person has to look (not sent again until
                # the spec changes).
                last.message = (
                    f"NKS accepted {last.message or last.type} {last.attempt} times but never "
                    "applied it"
                )
                last.generation = p.generation
                p.event("Warning", Reason.OPERATION_FAILED, last.message)
            else:
                last.generation = None  # the next plan sends it once more
                what = last.message or last.type
                message = f"NKS accepted {what} but never applied it; sending it again"
                p.event("Warning", Reason.OPERATION_DROPPED, message)
        return None, ()

    async def _send(
        self,
        p: Pass,
        account: Account,
        location: Location,
        observed: Observed,
        plan: Plan,
        base: dict[str, Any],
    ) -> Assessment:
        fields: dict[str, Any] = dict(base)
        fields["plan"] = plan.state
        if plan.blocked:
            fields["plan_reason"] = plan.blocked[0].reason
            fields["plan_message"] = "; ".join(b.message for b in plan.blocked)
        elif plan.waiting is not None:
            fields["plan_message"] = plan.waiting.message
        else:
            events.clear_warnings(
                p.memory,
                Reason.UPGRADE_BLOCKED,
                Reason.STOP_NODES_BLOCKED,
                Reason.AUTOSCALER_BLOCKED,
                Reason.NO_UPGRADE_PATH,
                Reason.UNKNOWN_NODES,
                Reason.NODE_STATE_UNKNOWN,
                Reason.USER_SCRIPT_NOT_APPLIED,
                Reason.OPERATION_FAILED,
            )
        action = plan.action
        if action is None:
            return p.assess(Stage.RUNNING, **fields)
        fields["plan_message"] = action.summary
        last = p.status.last_operation
        if (
            last is not None
            and last.state == "Failed"
            and last.generation is not None
            and last.generation == p.generation
            and last.type == action.operation
            and last.target == action.target
        ):
            fields["plan_message"] = f"{last.message}; change the spec to try again"
            return p.assess(Stage.RUNNING, sending=Sending.FAILED_BEFORE, **fields)
        if p.paused:
            return p.assess(Stage.RUNNING, sending=Sending.PAUSED, **fields)
        cluster_id = location.cluster_id or observed.snapshot.uuid
        if _cluster_busy(observed.snapshot) or self.ctx.claims.held_by_other(cluster_id, p.key):
            return p.assess(
                Stage.RUNNING,
                sending=Sending.CLUSTER_BUSY,
                timers=(self.timing.fast_seconds,),
                **fields,
            )
        attempt = 1
        if (
            last is not None
            and last.state == "Failed"
            and last.generation is None
            and last.type == action.operation
            and last.target == action.target
        ):
            attempt = last.attempt + 1  # NKS dropped it before
        # Claimed before the first await: a sibling's pass may run at any await below.
        self.ctx.claims.claim(cluster_id, p.key, self.confirm_seconds)
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
        p.adapter.after_send(p, action.operation, action.args)
        # Durable before the call: after a crash, the next pass follows instead of resending.
        try:
            await p.writer.flush()
        except BaseException:
            self.ctx.claims.release(cluster_id, p.key)
            raise
        try:
            await action.send(account.client, cluster_id)
        except errors.NKSError as error:
            return self._send_failed(p, account, cluster_id, action.summary, error, fields)
        p.event("Normal", Reason.OPERATION_REQUESTED, action.summary)
        account.poller.expect_change(cluster_id)
        view = OperationView(action.operation, action.summary, "waiting", upgrade=action.is_upgrade)
        return p.assess(
            Stage.RUNNING,
            sending=Sending.SENT,
            operation=view,
            timers=(self.confirm_seconds,),
            **fields,
        )

    def _send_failed(
        self,
        p: Pass,
        account: Account,
        cluster_id: str,
        summary: str,
        error: errors.NKSError,
        fields: dict[str, Any],
    ) -> Assessment:
        last = p.status.last_operation
        assert last is not None
        if is_busy_refusal(error):
            p.status.last_operation = None  # NKS is busy: nothing happened, try again soon
            self.ctx.claims.release(cluster_id, p.key)
            account.poller.expect_change(cluster_id)
            return p.assess(
                Stage.RUNNING,
                sending=Sending.CLUSTER_BUSY,
                timers=(self.timing.fast_seconds,),
                **fields,
            )
        if isinstance(error, errors.APIError) and not isinstance(
            error, errors.ServerError | errors.RateLimitedError | errors.UnauthorizedError
        ):
            self.ctx.claims.release(cluster_id, p.key)
            last.state = "Failed"
            last.message = f"NKS refused to {summary}: {error}"
            fields["plan_message"] = last.message
            return p.assess(Stage.RUNNING, sending=Sending.REFUSED, **fields)
        # 5xx, timeout, lost answer: it may have happened; following confirms or drops it.
        account.poller.expect_change(cluster_id)
        raise self._nks_error(p, error, **fields)

    # -- deletion -------------------------------------------------------------------------

    async def _deletion(self, p: Pass) -> PassResult:
        try:
            result = await self._deletion_steps(p)
        except Stop as stop:
            return await self._conclude(p, stop.assessment)
        if isinstance(result, PassResult):
            return result
        return await self._conclude(p, result)

    async def _deletion_steps(self, p: Pass) -> Assessment | PassResult:
        adapter = p.adapter
        raw = p.body.get("spec") or {}
        policy = raw.get("deletionPolicy", "Delete")
        nks_id = adapter.nks_id(p.status) or adapter.adoption_id_raw(raw)
        if policy == "Retain":
            if nks_id:
                p.event(
                    "Normal",
                    Reason.RETAINED,
                    f"deletionPolicy Retain: NKS {adapter.ready_noun} {nks_id} is left in place",
                )
            return await self._release(p)
        intent = read_intent(p.body, p.status)
        if nks_id is None and intent is None:
            return await self._release(p)  # nothing was ever sent to NKS
        if p.paused:
            return p.assess(Stage.PAUSED_DELETION)
        location = await adapter.locate_for_delete(p)
        if location is None:
            p.event("Normal", Reason.RELEASED, "the NKSCluster is gone; nothing to delete")
            return await self._release(p)
        account = await self._account(p, location)
        if nks_id is None and intent is not None:
            try:
                found = await adapter.find_created(p, account, location, intent)
            except errors.NKSError as error:
                raise self._nks_error(p, error, stage=Stage.DELETING) from None
            if found is None:
                if age_seconds(intent.requested_at) < self.ctx.settings.adoption_grace_seconds:
                    return p.assess(
                        Stage.DELETING,
                        message="looking for what a create call made",
                        timers=(self.timing.fast_seconds,),
                    )
                return await self._release(p)  # the create never reached NKS
            adapter.set_nks_id(p.status, found, location)
            nks_id = found
        try:
            nks_status = await adapter.read_for_delete(account, location, nks_id)
        except errors.NKSError as error:
            raise self._nks_error(p, error, stage=Stage.DELETING) from None
        if nks_status is None:
            p.event("Normal", Reason.DELETED, f"NKS {adapter.ready_noun} {nks_id} is gone")
            return await self._release(p)
        p.status.nks_status = nks_status or None
        last = p.status.last_operation
        deleting_since = (
            last.started_at if last is not None and last.type == adapter.delete_operation else None
        )
        timed_out = deleting_since is not None and age_seconds(deleting_since) > self._deadline(
            adapter.delete_operation
        )
        view = None
        if timed_out:
            view = OperationView(adapter.delete_operation, "delete", "in_progress", timed_out=True)
        if nks_status.upper() == "DELETE_IN_PROGRESS":
            return p.assess(
                Stage.DELETING, message=f"NKS is deleting the {adapter.ready_noun}", operation=view
            )
        if phase.is_in_progress(nks_status):
            # NKS refuses a delete while another operation runs: wait for it to settle.
            return p.assess(
                Stage.DELETING, message=f"waiting for {nks_status} to end before deleting"
            )
        if nks_status.upper() == "DELETE_FAILED":
            p.warn_once(
                Reason.DELETE_FAILED,
                f"NKS failed to delete the {adapter.ready_noun}: {p.status.status_reason}; "
                "retrying",
            )
        try:
            accepted = await adapter.delete(account, location, nks_id)
        except errors.NotFoundError:
            return await self._release(p)
        except errors.NKSError as error:
            p.warn_once(Reason.DELETE_REFUSED, str(error))
            raise self._nks_error(p, error, stage=Stage.DELETING, message="deleting") from None
        if not accepted:
            return await self._release(p)
        if deleting_since is None:
            p.status.last_operation = LastOperation(
                type=adapter.delete_operation, state="Requested", started_at=now_iso()
            )
        p.event("Normal", Reason.DELETE_REQUESTED, f"deleting NKS {adapter.ready_noun} {nks_id}")
        return p.assess(Stage.DELETING, message=f"NKS is deleting the {adapter.ready_noun}")


def is_busy_refusal(error: errors.NKSError) -> bool:
    """NKS's 400 for "another operation is in progress": nothing happened, try later."""
    message = error.message.lower()
    return isinstance(error, errors.InvalidRequestError) and (
        "in progress" in message or "in_progress" in message
    )


def _cluster_busy(snapshot: ClusterSnapshot) -> bool:
    return phase.is_in_progress(snapshot.status) or any(
        phase.is_in_progress(group.status) for group in snapshot.workers().values()
    )
