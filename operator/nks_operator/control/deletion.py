"""Deleting a resource by its deletion policy: NKS delete once, then wait until NKS says
it is gone before the finalizer is released."""

from __future__ import annotations

import logging

from nks_operator.api.status import CreationIntent, LastOperation
from nks_operator.control.adapter import Location
from nks_operator.control.passes import AnyPass, Ending, age_seconds
from nks_operator.control.status_writer import now_iso
from nks_operator.control.steps import SharedSteps, is_busy_refusal
from nks_operator.nks import errors
from nks_operator.polling.accounts import Account
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile import phase
from nks_operator.reconcile.outcome import OperationView, Stage
from nks_operator.reconcile.reasons import Reason

logger = logging.getLogger(__name__)


class Deletion:
    def __init__(self, steps: SharedSteps) -> None:
        self.steps = steps

    async def delete(self, p: AnyPass) -> Ending:
        adapter = p.adapter
        raw = p.body.get("spec") or {}
        candidate = adapter.identity.nks_id(p.status) or adapter.identity.adoption_id_raw(raw)
        # Only what this resource's ownership record names is ever deleted (or retained).
        nks_id = None if candidate is None else await self.steps.managed_id(p, candidate)
        if candidate is not None and nks_id is None:
            return await self._managed_elsewhere(p, "this resource names")
        if raw.get("deletionPolicy", "Delete") == "Retain":
            if nks_id:
                p.event(
                    "Normal",
                    Reason.RETAINED,
                    f"deletionPolicy Retain: NKS {adapter.facts.noun} {nks_id} is left in place",
                )
            return await self.steps.release(p, nks_id)
        intent = await self.steps.intent(p)
        if nks_id is None and intent is None:
            return await self.steps.release(p)  # nothing was ever sent to NKS
        if p.paused:
            return p.assess(Stage.PAUSED_DELETION)
        location = await adapter.deleting.locate_for_delete(p)
        if location is None:
            p.event("Normal", Reason.RELEASED, "the NKSCluster is gone; nothing to delete")
            return await self.steps.release(p, nks_id)
        account = await self.steps.account(p, location)
        if nks_id is None:
            assert intent is not None  # released above when neither an id nor an intent
            found = await self._created_by_intent(p, account, location, intent)
            if not isinstance(found, str):
                return found
            nks_id = found
        return await self._delete_in_nks(p, account, location, nks_id)

    async def _managed_elsewhere(self, p: AnyPass, which: str) -> Ending:
        p.event(
            "Normal",
            Reason.RELEASED,
            f"the NKS {p.adapter.facts.noun} {which} is managed by another "
            f"{p.adapter.facts.resource.kind}: nothing is deleted",
        )
        return await self.steps.release(p)

    async def _created_by_intent(
        self, p: AnyPass, account: Account, location: Location, intent: CreationIntent
    ) -> str | Ending:
        """The id of what a create of ours made, now this resource's; or how the pass
        ends when there is none (yet) or another resource manages it."""
        try:
            found = await p.adapter.creating.find_created(p, account, location, intent)
        except errors.NKSError as error:
            raise self.steps.nks_error(p, error, stage=Stage.DELETING) from None
        if found is None:
            if age_seconds(intent.requested_at) < self.steps.ctx.settings.adoption_grace_seconds:
                return p.assess(
                    Stage.DELETING,
                    message="looking for what a create call made",
                    timers=(self.steps.timing.fast_seconds,),
                )
            return await self.steps.release(p)  # the create never reached NKS
        if await self.steps.managed_id(p, found) != found:
            return await self._managed_elsewhere(p, "of that name")
        p.adapter.identity.set_nks_id(p.status, found, location)
        return found

    async def _delete_in_nks(
        self, p: AnyPass, account: Account, location: Location, nks_id: str
    ) -> Ending:
        """Delete once NKS is idle, then wait until NKS says it is gone."""
        adapter = p.adapter
        nks_status, other = await self._status(p, account, location, nks_id)
        if nks_status is None:
            p.event("Normal", Reason.DELETED, f"NKS {adapter.facts.noun} {nks_id} is gone")
            return await self.steps.release(p, nks_id)
        p.status.nks_status = nks_status or None
        last = p.status.last_operation
        deleting_since = (
            last.started_at
            if last is not None and last.type == adapter.facts.delete_operation
            else None
        )
        deadline = self.steps.deadline(adapter.facts.delete_operation)
        view = None
        if deleting_since is not None and age_seconds(deleting_since) > deadline:
            view = OperationView(
                adapter.facts.delete_operation, "delete", "in_progress", timed_out=True
            )
        if nks_status.upper() == "DELETE_IN_PROGRESS":
            return p.assess(
                Stage.DELETING, message=f"NKS is deleting the {adapter.facts.noun}", operation=view
            )
        if phase.is_in_progress(nks_status) or other is not None:
            # NKS refuses a delete while another operation runs: wait for it to settle.
            return p.assess(
                Stage.DELETING, message=f"waiting for {other or nks_status} to end before deleting"
            )
        if nks_status.upper() == "DELETE_FAILED":
            p.warn_once(
                Reason.DELETE_FAILED,
                f"NKS failed to delete the {adapter.facts.noun}: {p.status.status_reason}; "
                "retrying",
            )
        return await self._send_delete(p, account, location, nks_id, first=deleting_since is None)

    async def _status(
        self, p: AnyPass, account: Account, location: Location, nks_id: str
    ) -> tuple[str | None, str | None]:
        """NKS's status of the resource (None: gone), and another operation of its cluster
        the snapshot shows running (NKS would refuse the delete). From the cluster's
        snapshot when the poller read it after this resource's last look (its last read,
        or its delete call): nothing newer is known then, and the passes that follow a
        deletion every fast interval cost no call of their own. A cluster's first look
        takes it from the snapshot too when that shows the cluster: its state is in the
        list entry the poller compares every cycle, and the delete call's own answer
        tells whether it is gone or busy meanwhile (a node group's state is not in that
        entry: its snapshot may be older). Otherwise (after a restart, a snapshot not read
        since, failing or holding an unreadable answer) read NKS now: only NKS's own 404
        lets a resource go undeleted."""
        poller = account.poller
        cluster_id = location.snapshot_id(nks_id)
        snapshot = poller.snapshot(cluster_id)
        looked = p.memory.delete_looked_at
        if snapshot is not None and snapshot.gone:  # NKS answered 404: never comes back
            return None, None
        if (
            snapshot is not None
            and snapshot.read_error is None
            and poller.last_error is None  # its list fails: the outage is reported
            and snapshot.ready_to_use
            and not snapshot.problems
        ):
            status = p.adapter.deleting.status_in(snapshot, nks_id)
            if looked is not None and max(snapshot.refreshed_at, snapshot.checked_at) > looked:
                return status, _running(snapshot, nks_id)
            if looked is None and status is not None and p.adapter.facts.nks_id_is_cluster_id:
                self.steps.watch(p, account, cluster_id)  # its poller wakes this resource
                return status, _running(snapshot, nks_id)
        looked_at = poller.clock()
        try:
            nks_status = await p.adapter.deleting.read_for_delete(account, location, nks_id)
        except errors.NKSError as error:
            raise self.steps.nks_error(p, error, stage=Stage.DELETING) from None
        p.memory.delete_looked_at = looked_at
        if nks_status is not None:
            self.steps.watch(p, account, cluster_id)  # its poller wakes this resource
        return nks_status, None

    async def _send_delete(
        self, p: AnyPass, account: Account, location: Location, nks_id: str, *, first: bool
    ) -> Ending:
        adapter = p.adapter
        sent_at = account.poller.clock()
        try:
            accepted = await adapter.deleting.delete(account, location, nks_id)
        except errors.NotFoundError:
            return await self.steps.release(p, nks_id)
        except errors.NKSError as error:
            if is_busy_refusal(error):
                # Another operation runs (a sibling's delete sent at the same moment):
                # nothing happened; the poller's next read (after this call) shows it and
                # wakes this resource when it ends, instead of an error backoff.
                p.memory.delete_looked_at = sent_at
                account.poller.expect_change(location.snapshot_id(nks_id), nodegroups=())
                return p.assess(
                    Stage.DELETING, message=f"NKS is busy, waiting to delete: {error.message}"
                )
            p.warn_once(Reason.DELETE_REFUSED, str(error))
            raise self.steps.nks_error(p, error, stage=Stage.DELETING, message="deleting") from None
        if not accepted:
            return await self.steps.release(p, nks_id)
        # Read every cycle until the deletion shows (and wakes this resource); only a read
        # made after the call may answer for it. A group's deletion shows in its list
        # entry, a cluster's in the cluster: no group needs a GET every cycle for it.
        p.memory.delete_looked_at = sent_at
        account.poller.expect_change(location.snapshot_id(nks_id), nodegroups=())
        if first:
            p.status.last_operation = LastOperation(
                type=adapter.facts.delete_operation, state="Requested", started_at=now_iso()
            )
        p.event("Normal", Reason.DELETE_REQUESTED, f"deleting NKS {adapter.facts.noun} {nks_id}")
        return p.assess(Stage.DELETING, message=f"NKS is deleting the {adapter.facts.noun}")


def _running(snapshot: ClusterSnapshot, nks_id: str) -> str | None:
    """The state of an operation the snapshot shows running on the cluster or on a worker
    group other than `nks_id`; None when there is none (or the cluster is gone)."""
    if snapshot.gone:
        return None
    states = [snapshot.status] if snapshot.uuid != nks_id else []
    states += [g.status for g in snapshot.workers().values() if g.uuid != nks_id]
    return next((s for s in states if s and phase.is_in_progress(s)), None)
