"""One reconcile pass and the deletion of an NKSNodeGroup."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from nks_operator.api.cluster import NKSClusterStatus
from nks_operator.api.nodegroup import NKSNodeGroupSpec, NKSNodeGroupStatus
from nks_operator.api.problems import format_validation_error
from nks_operator.api.resources import CLUSTER, NODEGROUP
from nks_operator.api.status import CreationIntent, LastOperation
from nks_operator.control import day2
from nks_operator.control.base import ResourcePass, Retry, age_seconds
from nks_operator.control.common import clear_warning, is_paused, now_iso, post_event
from nks_operator.control.day2 import Day2
from nks_operator.nks import errors
from nks_operator.polling.accounts import Account
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile import conditions, observed, payloads, phase, task_events, validation
from nks_operator.reconcile.day2 import Action, plan_worker


class Parent:
    """The NKSCluster a node group belongs to, as far as the node group needs it."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        spec = body.get("spec") or {}
        self.region: str | None = spec.get("region")
        self.credentials_secret: str | None = (spec.get("credentialsRef") or {}).get("name")
        self.status = NKSClusterStatus.model_validate(body.get("status") or {})
        self.strict_sg_rules: bool | None = spec.get("strictSecurityGroupRules")
        self.kubernetes_version: str | None = spec.get("kubernetesVersion")

    @property
    def cluster_id(self) -> str | None:
        return self.status.cluster_id

    @property
    def ready(self) -> bool:
        return self.cluster_id is not None and conditions.is_true(
            self.status.conditions, conditions.READY
        )


def _by_uuid(snapshot: ClusterSnapshot, uuid: str) -> dict[str, Any] | None:
    return next((g for g in snapshot.nodegroups.values() if g.get("uuid") == uuid), None)


class NodeGroupPass(ResourcePass[NKSNodeGroupStatus]):
    """One pass over one NKSNodeGroup."""

    resource = NODEGROUP
    status_model = NKSNodeGroupStatus

    def _has_nks_id(self) -> bool:
        return self.status.node_group_id is not None

    def _spec(self) -> NKSNodeGroupSpec:
        try:
            return NKSNodeGroupSpec.model_validate(self.body.get("spec") or {})
        except ValidationError as error:
            self._invalid(format_validation_error(error))
            raise Retry(self.settings.error_backoff_seconds) from None

    async def _parent(self, cluster_name: str, *, fresh: bool = False) -> Parent | None:
        """The NKSCluster: as the watch last delivered it, or read when not seen (or
        `fresh`, where a stale "gone" could leak a node group in NKS)."""
        self.ctx.registry.set_parent(self.meta["uid"], (self.namespace, cluster_name))
        body = None if fresh else self.ctx.registry.cluster(self.namespace, cluster_name)
        if body is None:
            body = await self.ctx.kube.get_object(CLUSTER, self.namespace, cluster_name)
        return None if body is None else Parent(body)

    def _waiting(self, reason: str, message: str) -> float:
        """Not an error: the cluster is not there yet. Woken when that NKSCluster changes."""
        if not self._has_nks_id():
            self.status.phase = "Pending"
        self.writer.ready("False", reason, message)
        self.writer.synced("True", reason, message)
        return self.settings.slow_poll_seconds

    async def _run(self) -> float:
        spec = self._spec()
        name = spec.node_group_name or self.name
        parent = await self._parent(spec.cluster_ref.name)
        if parent is None:
            if self._has_nks_id():
                return self._cluster_gone(f"NKSCluster {spec.cluster_ref.name} no longer exists")
            return self._waiting(
                "WaitingForCluster", f"NKSCluster {spec.cluster_ref.name} does not exist yet"
            )
        if parent.cluster_id is None or (not parent.ready and not self._has_nks_id()):
            return self._waiting(
                "WaitingForCluster", f"waiting for NKSCluster {spec.cluster_ref.name} to be Ready"
            )
        cluster_id = parent.cluster_id
        if (
            self.status.cluster_id
            and self.status.node_group_id
            and cluster_id != self.status.cluster_id
        ):
            self._invalid(
                [
                    f"spec.clusterRef is immutable: the node group belongs to NKS cluster "
                    f"{self.status.cluster_id}, {spec.cluster_ref.name} is {cluster_id}"
                ]
            )
            return self.settings.error_backoff_seconds
        self.status.cluster_id = cluster_id
        account = await self._account(parent.region or "", parent.credentials_secret)
        supported = await self._supported(account)
        snapshot = account.poller.watch(cluster_id, self.slot.waker)
        if snapshot.details is None and not snapshot.gone:
            with contextlib.suppress(TimeoutError):
                await account.poller.refresh(cluster_id)
            if snapshot.details is None and not snapshot.gone:
                if account.poller.last_error is not None:
                    self._nks_unavailable(account.poller.last_error)
                return self.settings.fast_poll_seconds
        if snapshot.gone:
            return self._cluster_gone(f"NKS cluster {cluster_id} no longer exists")
        group_id = self.status.node_group_id or spec.node_group_id
        group = _by_uuid(snapshot, group_id) if group_id else None
        if group_id is not None and group is None:
            # The snapshot may predate our create: only a fresh read proves it is gone.
            with contextlib.suppress(TimeoutError):
                await account.poller.refresh(cluster_id)
            group = _by_uuid(snapshot, group_id)
        if group is not None:
            self.status.node_group_id = group_id  # adopted via spec.nodeGroupID: ours now
            # NKS shows the group (and so its operation): siblings now see the cluster busy.
            day2.release(cluster_id, self.meta["uid"])
        problems = validation.nodegroup_problems(
            spec, self.name, supported, for_create=group_id is None
        )
        if (
            spec.node_group_id
            and self.status.node_group_id
            and spec.node_group_id != self.status.node_group_id
        ):
            problems.append(
                f"spec.nodeGroupID is immutable: this resource manages "
                f"{self.status.node_group_id}, the spec asks for {spec.node_group_id}"
            )
        if group is not None:
            problems += observed.nodegroup_drift(spec, name, group)
        if problems:
            self._invalid(problems)
            if group is not None:
                self._report(cluster_id, group, snapshot)
                self.status.phase = phase.phase_for(group.get("status"))
            return self.settings.error_backoff_seconds
        clear_warning(self.slot, "InvalidSpec")
        if group_id is None:
            if is_paused(self.body):
                self.status.phase = "Paused"
                self.writer.ready("False", "Paused", "paused before creation: nothing is sent")
                self.writer.synced("True", "Paused", "the paused annotation is set")
                return self.settings.slow_poll_seconds
            return await self._create(spec, name, parent, account, snapshot)
        if group is None:
            message = (
                f"NKS node group {group_id} no longer exists (deleted outside the operator); "
                "it is not re-created"
            )
            self.status.phase = "Failed"
            self._problem("NodeGroupNotFound", message)
            return self.settings.slow_poll_seconds
        return await self._converge(spec, parent, group, snapshot, account, supported)

    def _cluster_gone(self, message: str) -> float:
        self.status.phase = "Failed"
        self._problem("ClusterNotFound", message)
        return self.settings.slow_poll_seconds

    async def _create(
        self,
        spec: NKSNodeGroupSpec,
        name: str,
        parent: Parent,
        account: Account,
        snapshot: ClusterSnapshot,
    ) -> float:
        cluster_id = snapshot.uuid
        existing = snapshot.nodegroup(name)
        if self.status.creation is not None:
            # A create may have happened before a crash or a lost response: re-read first.
            with contextlib.suppress(TimeoutError):
                await account.poller.refresh(cluster_id)
            existing = snapshot.nodegroup(name)
            if existing is not None:
                return self._adopt(
                    account,
                    cluster_id,
                    existing,
                    "found the node group a lost create response made",
                )
            if (
                age_seconds(self.status.creation.requested_at)
                < self.settings.adoption_grace_seconds
            ):
                return self.settings.fast_poll_seconds
        elif existing is not None:
            message = (
                f"cluster {cluster_id} already has a node group named {name!r} "
                f"({existing.get('uuid')}); set spec.nodeGroupID to adopt it"
            )
            self.status.phase = "Failed"
            self._problem("NodeGroupNameInUse", message)
            return self.settings.error_backoff_seconds
        uid = self.meta["uid"]
        if (
            not phase.is_stable(snapshot.status)
            or day2.cluster_busy(snapshot)
            or day2.claimed_by_other(cluster_id, uid)
        ):
            # NKS refuses (or silently drops) operations while another one runs, a sibling
            # node group's creation included.
            self.status.phase = "Pending"
            self.writer.ready(
                "False", "WaitingForCluster", "waiting for the cluster's current operation"
            )
            return self.settings.fast_poll_seconds
        # Claimed before the first await: a sibling's pass may run at any await below.
        day2.claim(cluster_id, uid, max(30.0, self.settings.fast_poll_seconds * 10))
        try:
            secrets = await self._secret_values(spec)
        except Retry:
            day2.release(cluster_id, uid)
            raise
        body = payloads.create_nodegroup_body(spec, name, secrets)
        self.status.creation = CreationIntent(name=name, requested_at=now_iso())
        self.status.phase = "Provisioning"
        self.writer.ready("False", "Creating", "creating the node group in NKS")
        await self.writer.flush()
        try:
            group_id = await account.gateway.create_nodegroup(cluster_id, body)
        except errors.ConflictError:
            return self.settings.fast_poll_seconds  # it exists: the next pass adopts it
        except (errors.InvalidRequestError, errors.ForbiddenError) as error:
            self.status.creation = None
            if day2.is_busy_refusal(error):  # nothing was created: wait for the cluster
                day2.release(cluster_id, uid)
                self.status.phase = "Pending"
                self.writer.ready("False", "WaitingForCluster", f"NKS is busy: {error}")
                account.poller.expect_change(cluster_id)
                return self.settings.fast_poll_seconds
            self.status.phase = "Failed"
            self._problem("CreateRefused", f"NKS refused to create the node group: {error}")
            return self.settings.error_backoff_seconds
        except errors.NKSError as error:
            self._nks_unavailable(error)
            post_event(self.body, self.slot, "Warning", "CreateUncertain", str(error))
            account.poller.expect_change(cluster_id)
            return self.settings.fast_poll_seconds
        self.status.node_group_id = group_id
        self.status.creation = None
        self.status.last_operation = LastOperation(
            type="NODEGROUP_CREATE", state="Requested", started_at=now_iso()
        )
        self.writer.synced("True", "CreateRequested", f"NKS accepted the node group {group_id}")
        post_event(
            self.body,
            self.slot,
            "Normal",
            "CreateRequested",
            f"NKS node group {name} ({group_id}) requested",
        )
        await self.writer.flush()
        account.poller.expect_change(cluster_id)
        return self.settings.fast_poll_seconds

    def _adopt(self, account: Account, cluster_id: str, group: dict[str, Any], why: str) -> float:
        self.status.node_group_id = group.get("uuid")
        self.status.creation = None
        self.writer.synced("True", "Adopted", f"{why}: {group.get('uuid')}")
        post_event(self.body, self.slot, "Normal", "Adopted", f"{why}: {group.get('uuid')}")
        account.poller.expect_change(cluster_id)
        return self.settings.fast_poll_seconds

    def _report(self, cluster_id: str, group: dict[str, Any], snapshot: ClusterSnapshot) -> None:
        for key, value in observed.nodegroup_status_fields(cluster_id, group).items():
            setattr(self.status, key, value)
        self.status.observed_generation = self.meta.get("generation")
        events, watermark = task_events.new_task_events(
            snapshot.events,
            last_task_id=self.status.last_task_id,
            resource_uuid=group.get("uuid"),
            resource_type="nodegroup",
            announced=self.slot.announced_tasks,
        )
        for event in events:
            post_event(self.body, self.slot, event.type, event.reason, event.message)
        self.status.last_task_id = watermark
        last = self.status.last_operation
        if (
            last is not None
            and last.type.endswith("_CREATE")
            and last.state in ("Requested", "InProgress")
        ):
            if phase.is_failed(group.get("status")):
                last.state, last.message = "Failed", str(group.get("status_reason") or "")
            elif phase.is_stable(group.get("status")):
                last.state = "Succeeded"
            else:
                last.state = "InProgress"

    async def _converge(
        self,
        spec: NKSNodeGroupSpec,
        parent: Parent,
        group: dict[str, Any],
        snapshot: ClusterSnapshot,
        account: Account,
        supported: Mapping[str, bool],
    ) -> float:
        cluster_id = snapshot.uuid
        self._report(cluster_id, group, snapshot)
        nks_status = group.get("status")
        paused = is_paused(self.body)
        created = (
            self.status.last_operation is None
            or self.status.last_operation.type != ("NODEGROUP_CREATE")
            or self.status.last_operation.state == "Succeeded"
        )
        day2 = Day2(self, account, snapshot)
        in_flight = day2.follow()
        if phase.is_failed(nks_status):
            reason = str(group.get("status_reason") or nks_status)
            self.status.phase = "Failed"
            self.writer.ready("False", "NKSFailed", f"NKS reports {nks_status}: {reason}")
            self.writer.synced("True", "Observed", "NKS state observed")
            post_event(
                self.body, self.slot, "Warning", "NKSFailed", f"{nks_status}: {reason}", once=True
            )
            return self.settings.slow_poll_seconds
        if in_flight is not None or phase.is_in_progress(nks_status):
            if in_flight is None:
                self.status.phase = phase.phase_for(nks_status)
            if paused:
                self.status.phase = "Paused"
            usable = created and not str(nks_status).startswith("CREATE")
            self.writer.ready(
                "True" if usable else "False",
                self.status.phase or "Provisioning",
                f"NKS reports {nks_status}",
            )
            self.writer.synced("True", "Observed", "waiting for NKS to finish")
            return in_flight or self.settings.fast_poll_seconds
        control_plane = str(observed.labels_of(snapshot.details).get("kube_tag") or "")
        plan = plan_worker(
            group.get("name") or self.name,
            spec,
            group,
            version_cap=control_plane or None,
            target_version=spec.kubernetes_version or parent.kubernetes_version,
            supported=supported,
            desired_stopped=spec.stopped_nodes,
            remembered_stopped=self.status.stopped_nodes,
        )
        delay = await day2.send(plan, cluster_id)
        self._remember_stopped(day2.sent)
        if paused:
            self.status.phase = "Paused"
            self.writer.ready("True", "Paused", "node group is up; paused: nothing is sent to NKS")
            self.writer.synced("True", "Paused", "the paused annotation is set")
            return self.settings.slow_poll_seconds
        if delay is not None:
            if self.status.phase not in ("Updating", "Upgrading"):
                self.status.phase = "Ready"
            self.writer.ready("True", "NodeGroupReady", f"NKS reports {nks_status}")
            return delay
        self.status.phase = "Ready"
        self.writer.ready("True", "NodeGroupReady", f"NKS reports {nks_status}")
        self.writer.synced("True", "Synced", "spec and NKS agree")
        return self.settings.slow_poll_seconds

    def _remember_stopped(self, sent: Action | None) -> None:
        """Which nodes we stopped, for NKS answers that do not list node states."""
        if sent is None or sent.method not in ("stop_nodes", "start_nodes"):
            return
        current = set(self.status.stopped_nodes)
        if sent.method == "stop_nodes":
            current |= set(sent.args["node_ids"])
        else:
            current -= set(sent.args["node_ids"])
        self.status.stopped_nodes = sorted(current)


class NodeGroupDeletion(NodeGroupPass):
    """Deletion: NKS delete once, then wait for NKS to confirm before releasing."""

    async def delete(self) -> float | None:
        try:
            result = await self._delete()
        except Retry as retry:
            result = retry.delay
        await self.writer.flush()
        return result

    async def _delete(self) -> float | None:
        raw = self.body.get("spec") or {}
        if raw.get("deletionPolicy", "Delete") == "Retain":
            return None
        group_id = self.status.node_group_id or raw.get("nodeGroupID")
        if group_id is None and self.status.creation is None:
            return None
        parent = await self._parent((raw.get("clusterRef") or {}).get("name", ""), fresh=True)
        cluster_id = self.status.cluster_id or (parent.cluster_id if parent else None)
        if parent is None or cluster_id is None:
            # Without its cluster there is nothing to call; NKS deletes node groups with it.
            post_event(
                self.body,
                self.slot,
                "Normal",
                "Released",
                "the NKSCluster is gone; nothing to delete",
            )
            return None
        if is_paused(self.body):
            self.status.phase = "Paused"
            self.writer.ready("False", "Paused", "deletion waits: the paused annotation is set")
            return self.settings.slow_poll_seconds
        account = await self._account(parent.region or "", parent.credentials_secret)
        try:
            groups = await account.gateway.list_nodegroups(cluster_id)
        except errors.NotFoundError:
            return None  # the cluster is gone, and its node groups with it
        except errors.NKSError as error:
            self._nks_unavailable(error)
            return self._backoff_for(error)
        if group_id is None:
            name = self.status.creation.name if self.status.creation else self.name
            match = next((g for g in groups if g.get("name") == name), None)
            if match is None:
                return None
            group_id = str(match.get("uuid"))
            self.status.node_group_id = group_id
            self.status.creation = None
        group = next((g for g in groups if g.get("uuid") == group_id), None)
        if group is None:
            post_event(
                self.body, self.slot, "Normal", "Deleted", f"NKS node group {group_id} is gone"
            )
            return None
        nks_status = str(group.get("status") or "")
        self.status.phase = "Deleting"
        self.status.nks_status = nks_status or None
        if nks_status.endswith("_IN_PROGRESS"):
            self.writer.ready("False", "Deleting", f"NKS reports {nks_status}")
            return self.settings.fast_poll_seconds
        try:
            accepted = await account.gateway.delete_nodegroup(cluster_id, group_id)
        except errors.NotFoundError:
            return None
        except errors.NKSError as error:
            self._nks_unavailable(error)
            post_event(self.body, self.slot, "Warning", "DeleteRefused", str(error), once=True)
            return max(self._backoff_for(error), self.settings.fast_poll_seconds)
        if not accepted:
            return None
        self.status.last_operation = LastOperation(
            type="NODEGROUP_DELETE", state="Requested", started_at=now_iso()
        )
        self.writer.ready("False", "Deleting", "NKS is deleting the node group")
        post_event(
            self.body, self.slot, "Normal", "DeleteRequested", f"deleting NKS node group {group_id}"
        )
        return self.settings.fast_poll_seconds
