"""Creating a resource in NKS exactly once: the intent and the finalizer are durable
before the call, and a create whose answer was lost is found by name, never repeated."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from nks_operator.api.status import CreationIntent, LastOperation
from nks_operator.control.adapter import Location
from nks_operator.control.passes import AnyPass, age_seconds
from nks_operator.control.status_writer import now_iso
from nks_operator.control.steps import SharedSteps, is_busy_refusal
from nks_operator.nks import errors
from nks_operator.polling.accounts import Account
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile.outcome import Assessment, Problem, Stage
from nks_operator.reconcile.reasons import Reason

logger = logging.getLogger(__name__)


class Creation:
    def __init__(self, steps: SharedSteps) -> None:
        self.steps = steps

    async def create(
        self, p: AnyPass, account: Account, location: Location, snapshot: ClusterSnapshot | None
    ) -> Assessment:
        name = p.adapter.identity.nks_name(p.spec, p.name)
        intent = await self.steps.intent(p)
        if intent is not None:
            found = await self._find_own(p, account, location, intent)
        else:
            found = await self._check_name(p, account, location, name)
        if found is not None:
            return found
        blocker = p.adapter.creating.create_blocker(p, location, snapshot)
        if blocker is not None:
            # A sibling's claim ends without any change NKS shows: look again soon.
            return p.assess(
                Stage.CREATE_WAITING, message=blocker, timers=(self.steps.timing.fast_seconds,)
            )
        return await self._send(p, account, location, name)

    async def _find_own(
        self, p: AnyPass, account: Account, location: Location, intent: CreationIntent
    ) -> Assessment | None:
        """What an earlier create of ours made (its answer was lost), adopted; or, within
        the grace time, why the pass waits for it; None: it never reached NKS."""
        adapter = p.adapter
        try:
            found = await adapter.creating.find_created(p, account, location, intent)
        except errors.NKSError as error:
            raise self.steps.nks_error(p, error, stage=Stage.CREATE_PENDING) from None
        if found is not None:
            why = f"found the {adapter.facts.noun} a lost create response made"
            adopted = await self.adopted(p, account, location, found, why)
            await adapter.creating.created(p, None)  # our own create: it carried the spec
            return adopted
        age = age_seconds(intent.requested_at)
        grace = self.steps.ctx.settings.adoption_grace_seconds
        if age >= grace:
            return None
        account.poller.request_refresh(location.cluster_id)
        return p.assess(
            Stage.CREATE_PENDING,
            message=f"looking for the {adapter.facts.noun} an earlier create call may have made",
            timers=(max(1.0, grace - age),),
        )

    async def _check_name(
        self, p: AnyPass, account: Account, location: Location, name: str
    ) -> Assessment | None:
        """The NKS resource of that name adopted (spec.adoption ByName), or a stop when
        the name is taken; None: the name is free."""
        try:
            existing = await p.adapter.creating.existing(p, account, location, name)
        except errors.NKSError as error:
            raise self.steps.nks_error(p, error, stage=Stage.CREATE_PENDING) from None
        if len(existing) == 1 and p.spec.adoption == "ByName":
            # A re-applied manifest (a move, a restore without status): take it over,
            # unless another resource manages it (its ownership record says).
            return await self.adopted(
                p, account, location, existing[0], "adopted by name (spec.adoption ByName)"
            )
        if existing:
            raise p.stop(p.adapter.facts.name_in_use, self._in_use_message(p, name, len(existing)))
        return None

    async def _send(
        self, p: AnyPass, account: Account, location: Location, name: str
    ) -> Assessment:
        """Record the intent, then send the create, exactly once."""
        # Claimed before the first await: a sibling's pass may run at any await below.
        claim = location.cluster_id
        if claim is not None:
            self.steps.ctx.claims.claim(claim, p.key, self.steps.confirm_seconds)
        try:
            secrets = await self.steps.secret_values(p)
            # Exactly once: after a crash or a lost answer, the next pass finds this record
            # and looks the resource up by name instead of creating another.
            await self.steps.record_intent(p, CreationIntent(name=name, requested_at=now_iso()))
        except BaseException:
            if claim is not None:
                self.steps.ctx.claims.release(claim, p.key)
            raise
        try:
            nks_id = await p.adapter.creating.create(account, location, p.spec, name, secrets)
        except errors.NKSError as error:
            return await self._create_failed(p, account, location, error)
        return await self._accepted(p, account, location, name, nks_id, secrets)

    async def _create_failed(
        self, p: AnyPass, account: Account, location: Location, error: errors.NKSError
    ) -> Assessment:
        claim = location.cluster_id
        fast = (self.steps.timing.fast_seconds,)
        if isinstance(error, errors.ConflictError):
            # It exists already (our own create, answered late): the next pass adopts it.
            account.poller.expect_change(claim or "")
            message = "NKS reports it exists already: adopting it"
            return p.assess(Stage.CREATE_PENDING, message=message, timers=fast)
        if isinstance(error, errors.InvalidRequestError | errors.ForbiddenError):
            if claim is not None:
                self.steps.ctx.claims.release(claim, p.key)
            await self.steps.clear_intent(p)
            if is_busy_refusal(error):
                account.poller.expect_change(claim or "")
                message = f"NKS is busy: {error}"
                return p.assess(Stage.CREATE_WAITING, message=message, timers=fast)
            raise p.stop(
                Reason.CREATE_REFUSED, f"NKS refused to create the {p.adapter.facts.noun}: {error}"
            )
        if isinstance(error, errors.UnauthorizedError):
            await self.steps.clear_intent(p)
            raise self.steps.nks_error(p, error)
        # Unknown outcome (5xx, timeout, lost answer): keep the intent and look it up.
        p.event("Warning", Reason.CREATE_UNCERTAIN, str(error))
        if claim is not None:
            account.poller.expect_change(claim)
        return p.assess(
            Stage.CREATE_PENDING,
            transient=Problem(Reason.NKS_UNAVAILABLE, f"NKS call failed: {error}"),
            message="a create call's answer was lost; looking the result up",
        )

    async def _accepted(
        self,
        p: AnyPass,
        account: Account,
        location: Location,
        name: str,
        nks_id: str,
        secrets: Mapping[tuple[str, str], str],
    ) -> Assessment:
        adapter = p.adapter
        # Ours from the first moment: the intent still finds it if this write is lost.
        await self.steps.own(p, nks_id)
        adapter.identity.set_nks_id(p.status, nks_id, location)
        await adapter.creating.created(p, secrets)
        p.status.last_operation = LastOperation(
            type=adapter.facts.create_operation, state="Requested", started_at=now_iso()
        )
        message = f"NKS {adapter.facts.noun} {name} ({nks_id}) requested"
        p.event("Normal", Reason.CREATE_REQUESTED, message)
        watched = location.snapshot_id(nks_id)
        self.steps.watch(p, account, watched)
        # What was created is new to the poller, whose first sight of it GETs it (a new
        # cluster's groups too); its state then shows in its list entry.
        account.poller.expect_change(watched, nodegroups=())
        return p.assess(
            Stage.CREATE_REQUESTED, message=f"NKS accepted the {adapter.facts.noun} {nks_id}"
        )

    @staticmethod
    def _in_use_message(p: AnyPass, name: str, count: int) -> str:
        # No id: the resource of that name may be another team's.
        noun, field = p.adapter.facts.noun, p.adapter.identity.adoption_field
        if count > 1:
            return (
                f"NKS has {count} {noun}s named {name!r}: none is adopted by "
                f"name; set spec.{field} to the UUID of the one to adopt"
            )
        return (
            f"NKS already has a {noun} named {name!r}; choose another name, "
            f"or adopt it: spec.adoption ByName, or spec.{field} its UUID"
        )

    async def adopted(
        self, p: AnyPass, account: Account, location: Location, nks_id: str, why: str
    ) -> Assessment:
        await self.steps.own(p, nks_id)
        p.adapter.identity.set_nks_id(p.status, nks_id, location)
        await self.steps.ensure_finalizer(p)
        p.event("Normal", Reason.ADOPTED, f"{why}: {nks_id}")
        watched = location.snapshot_id(nks_id)
        self.steps.watch(p, account, watched)
        account.poller.expect_change(watched)
        return p.assess(Stage.ADOPTED, message=f"{why}: {nks_id}")
