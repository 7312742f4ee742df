"""One reconcile pass and the deletion of an NKSCluster."""

from __future__ import annotations

import contextlib
import datetime
import logging
import time
from collections.abc import Mapping
from typing import Any

from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from nks_operator.api.cluster import NKSClusterSpec, NKSClusterStatus
from nks_operator.api.problems import format_validation_error
from nks_operator.api.resources import CLUSTER
from nks_operator.api.status import CreationIntent, LastOperation
from nks_operator.control.base import (
    ResourcePass,
    Retry,
    age_seconds,
    parse_time,
)
from nks_operator.control.common import (
    RENEW_CERTIFICATE_ANNOTATION,
    OperatorContext,
    clear_warning,
    is_paused,
    now_iso,
    post_event,
)
from nks_operator.control.day2 import Day2
from nks_operator.kube import argocd_secret, kubeconfig_secret
from nks_operator.nks import errors
from nks_operator.polling.accounts import Account
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile import observed, payloads, phase, task_events, validation
from nks_operator.reconcile.day2 import plan_cluster

logger = logging.getLogger(__name__)


class ClusterPass(ResourcePass[NKSClusterStatus]):
    """One pass over one NKSCluster."""

    resource = CLUSTER
    status_model = NKSClusterStatus

    def _has_nks_id(self) -> bool:
        return self.status.cluster_id is not None

    async def _run(self) -> float:
        spec = self._spec()
        if self.status.region and spec.region != self.status.region:
            # Checked before anything else: the cluster is not in the other region's list.
            self._invalid(
                [
                    f"spec.region is immutable: the cluster is in {self.status.region}, "
                    f"the spec asks for {spec.region}"
                ]
            )
            return self.settings.error_backoff_seconds
        ref = spec.credentials_ref.name if spec.credentials_ref else None
        account = await self._account(spec.region, ref)
        supported = await self._supported(account)
        cluster_id = self.status.cluster_id or spec.cluster_id
        snapshot = None
        if cluster_id is not None:
            snapshot = await self._observe(account, cluster_id)
        if snapshot is not None and not snapshot.gone:
            self.status.cluster_id = cluster_id  # adopted via spec.clusterID: ours from now
            self.status.region = self.status.region or spec.region
        problems = self._problems(spec, supported, snapshot)
        if problems:
            self._invalid(problems)
            if snapshot is not None and not snapshot.gone:
                self._report(spec, snapshot)
                self.status.phase = phase.phase_for(self.status.nks_status)
            return self.settings.error_backoff_seconds
        clear_warning(self.slot, "InvalidSpec")
        if cluster_id is None:
            if is_paused(self.body):
                self.status.phase = "Paused"
                self.writer.ready("False", "Paused", "paused before creation: nothing is sent")
                self.writer.synced("True", "Paused", "the paused annotation is set")
                return self.settings.slow_poll_seconds
            return await self._create(spec, account)
        assert snapshot is not None
        if snapshot.gone:
            return self._gone(cluster_id)
        return await self._converge(spec, account, snapshot, supported)

    # -- inputs ------------------------------------------------------------------------

    def _spec(self) -> NKSClusterSpec:
        try:
            return NKSClusterSpec.model_validate(self.body.get("spec") or {})
        except ValidationError as error:
            self._invalid(format_validation_error(error))
            raise Retry(self.settings.error_backoff_seconds) from None

    async def _observe(self, account: Account, cluster_id: str) -> ClusterSnapshot:
        snapshot = account.poller.watch(cluster_id, self.slot.waker)
        if snapshot.details is None and not snapshot.gone:
            with contextlib.suppress(TimeoutError):
                await account.poller.refresh(cluster_id)
        if snapshot.details is None and not snapshot.gone:
            error = account.poller.last_error
            if error is not None:
                self._nks_unavailable(error)
            raise Retry(self.settings.fast_poll_seconds)
        return snapshot

    def _problems(
        self, spec: NKSClusterSpec, supported: Any, snapshot: ClusterSnapshot | None
    ) -> list[str]:
        problems = validation.cluster_problems(
            spec, self.name, supported, for_create=snapshot is None
        )
        if spec.cluster_id and self.status.cluster_id and spec.cluster_id != self.status.cluster_id:
            problems.append(
                f"spec.clusterID is immutable: this resource manages {self.status.cluster_id}, "
                f"the spec asks for {spec.cluster_id}"
            )
        if snapshot is not None and snapshot.details is not None and not snapshot.gone:
            name = spec.cluster_name or self.name
            problems += observed.cluster_drift(
                spec, name, snapshot.details, snapshot.nodegroup(observed.DEFAULT_WORKER)
            )
            problems += self._version_drift(spec, snapshot)
        return problems

    def _version_drift(self, spec: NKSClusterSpec, snapshot: ClusterSnapshot) -> list[str]:
        from nks_operator.reconcile import versions

        actual = observed.labels_of(snapshot.details).get("kube_tag")
        if actual and versions.compare(spec.kubernetes_version, actual) < 0:
            return [
                f"spec.kubernetesVersion {spec.kubernetes_version} is older than the cluster's "
                f"{actual}: NKS cannot downgrade"
            ]
        return []

    # -- create ------------------------------------------------------------------------

    async def _create(self, spec: NKSClusterSpec, account: Account) -> float:
        name = spec.cluster_name or self.name
        intent = self.status.creation
        if intent is not None:
            adopted = await self._find_created(account, name, intent)
            if adopted is not None:
                return self._adopted(
                    account, adopted, "found the cluster a lost create response made"
                )
            age = age_seconds(intent.requested_at)
            if age < self.settings.adoption_grace_seconds:
                return max(1.0, self.settings.adoption_grace_seconds - age)
        else:
            existing = await self._lookup(account, name)
            if existing:
                message = (
                    f"an NKS cluster named {name!r} already exists ({existing[0].get('uuid')}); "
                    "set spec.clusterID to adopt it or choose another spec.clusterName"
                )
                self.status.phase = "Failed"
                self._problem("ClusterNameInUse", message)
                return self.settings.error_backoff_seconds
        secrets = await self._secret_values(spec.default_worker)
        body = payloads.create_cluster_body(spec, name, secrets)
        # Exactly once: the intent is stored before the call, so that after a crash or a
        # lost response the next pass looks the cluster up by name instead of creating it.
        self.status.creation = CreationIntent(name=name, requested_at=now_iso())
        self.status.phase = "Provisioning"
        self.writer.ready("False", "Creating", "creating the cluster in NKS")
        await self.writer.flush()
        try:
            cluster_id = await account.gateway.create_cluster(body)
        except (errors.InvalidRequestError, errors.ForbiddenError, errors.ConflictError) as error:
            # NKS refused: nothing was created, so the intent can go.
            self.status.creation = None
            message = f"NKS refused to create the cluster: {error}"
            self.status.phase = "Failed"
            self._problem("CreateRefused", message)
            return self.settings.error_backoff_seconds
        except errors.UnauthorizedError as error:
            self.status.creation = None
            self._credentials_problem(
                "CredentialsRejected", f"NKS rejected the credentials: {error}"
            )
            return self.settings.error_backoff_seconds
        except errors.NKSError as error:
            # Unknown outcome (5xx, timeout, lost response): keep the intent and look up.
            self._nks_unavailable(error)
            post_event(self.body, self.slot, "Warning", "CreateUncertain", str(error))
            return self.settings.fast_poll_seconds
        self.status.cluster_id = cluster_id
        self.status.region = spec.region
        self.status.creation = None
        self.status.last_operation = LastOperation(
            type="CLUSTER_CREATE", state="Requested", started_at=now_iso()
        )
        self.writer.synced("True", "CreateRequested", f"NKS accepted the cluster {cluster_id}")
        post_event(
            self.body,
            self.slot,
            "Normal",
            "CreateRequested",
            f"NKS cluster {name} ({cluster_id}) requested",
        )
        await self.writer.flush()
        account.poller.expect_change(cluster_id)
        account.poller.watch(cluster_id, self.slot.waker)
        return self.settings.fast_poll_seconds

    async def _lookup(self, account: Account, name: str) -> list[dict[str, Any]]:
        try:
            return await account.poller.find_by_name(name)
        except errors.NKSError as error:
            self._nks_unavailable(error)
            raise Retry(self._backoff_for(error)) from None

    async def _find_created(
        self, account: Account, name: str, intent: CreationIntent
    ) -> dict[str, Any] | None:
        """The cluster our create made: same name, created no earlier than the intent."""
        requested = parse_time(intent.requested_at)
        for candidate in await self._lookup(account, name):
            try:
                details = await account.gateway.get_cluster(candidate["uuid"])
            except errors.NotFoundError:
                continue
            except errors.NKSError as error:
                self._nks_unavailable(error)
                raise Retry(self._backoff_for(error)) from None
            created = parse_time(details.get("created_at"))
            if (
                requested is None
                or created is None
                or created >= requested - datetime.timedelta(seconds=120)
            ):
                return details
        return None

    def _adopted(self, account: Account, details: dict[str, Any], why: str) -> float:
        cluster_id = details["uuid"]
        self.status.cluster_id = cluster_id
        self.status.creation = None
        self.writer.synced("True", "Adopted", f"{why}: {cluster_id}")
        post_event(self.body, self.slot, "Normal", "Adopted", f"{why}: {cluster_id}")
        account.poller.expect_change(cluster_id)
        account.poller.watch(cluster_id, self.slot.waker)
        return self.settings.fast_poll_seconds

    # -- observe and converge ----------------------------------------------------------

    def _gone(self, cluster_id: str) -> float:
        message = (
            f"NKS cluster {cluster_id} no longer exists (deleted outside the operator); "
            "it is not re-created"
        )
        self.status.phase = "Failed"
        self.status.nks_status = None
        self._problem("ClusterNotFound", message)
        return self.settings.slow_poll_seconds

    def _report(self, spec: NKSClusterSpec, snapshot: ClusterSnapshot) -> None:
        """Copy what NKS reports into status and post new task history as Events."""
        details = snapshot.details or {}
        fields = observed.cluster_status_fields(
            details, snapshot.nodegroup(observed.DEFAULT_WORKER)
        )
        for key, value in fields.items():
            setattr(self.status, key, value)
        self.status.observed_generation = self.meta.get("generation")
        events, watermark = task_events.new_task_events(
            snapshot.events,
            last_task_id=self.status.last_task_id,
            resource_uuid=None,
            resource_type="cluster",
            announced=self.slot.announced_tasks,
        )
        if self.status.last_task_id is None:
            # First sight (adoption, restart of an old version): do not replay history.
            events = [] if spec.cluster_id else events
        for event in events:
            post_event(self.body, self.slot, event.type, event.reason, event.message)
        self.status.last_task_id = watermark
        last = self.status.last_operation
        if (
            last is not None
            and last.type.endswith("_CREATE")
            and last.state in ("Requested", "InProgress")
        ):
            nks_status = details.get("status")
            if phase.is_failed(nks_status):
                last.state, last.message = "Failed", str(details.get("status_reason") or "")
            elif phase.is_stable(nks_status):
                last.state = "Succeeded"
            else:
                last.state = "InProgress"

    async def _converge(
        self,
        spec: NKSClusterSpec,
        account: Account,
        snapshot: ClusterSnapshot,
        supported: Mapping[str, bool],
    ) -> float:
        self._report(spec, snapshot)
        nks_status = self.status.nks_status
        paused = is_paused(self.body)
        created = self.status.kubeconfig_secret_name is not None
        day2 = Day2(self, account, snapshot)
        in_flight = day2.follow()
        if phase.is_failed(nks_status):
            reason = str(self.status.status_reason or nks_status)
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
            if created:  # a running cluster stays usable while NKS updates it
                self.writer.ready(
                    "True", self.status.phase or "Updating", f"NKS reports {nks_status}"
                )
            else:
                self.writer.ready(
                    "False", self.status.phase or "Provisioning", f"NKS reports {nks_status}"
                )
            self.writer.synced("True", "Observed", "waiting for NKS to finish")
            return in_flight or self.settings.fast_poll_seconds
        kubeconfig = await self._write_kubeconfig(spec, account, snapshot.uuid)
        await self._register_in_argocd(spec, kubeconfig, snapshot.uuid)
        plan = plan_cluster(
            spec,
            snapshot.details or {},
            snapshot.nodegroups,
            supported,
            ip_acl=await self._ip_acl(spec, account, snapshot.uuid),
            renew_requested=self._renewal_requested() is not None,
        )
        delay = await day2.send(plan, snapshot.uuid)
        last = self.status.last_operation
        if (
            last is not None
            and last.type == "CLUSTER_RENEW_CERTIFICATE"
            and last.state == "Requested"
        ):
            self.status.certificate_renewal_request = self._renewal_requested()
        if last is not None and last.type == "CLUSTER_UPDATE_API_EP_IPACL":
            self.slot.ip_acl_read_at = 0.0  # read it back after our change
        if paused:
            self.status.phase = "Paused"
            self.writer.ready("True", "Paused", "cluster is up; paused: nothing is sent to NKS")
            self.writer.synced("True", "Paused", "the paused annotation is set")
            return self.settings.slow_poll_seconds
        if delay is not None:
            if self.status.phase not in ("Updating", "Upgrading"):
                self.status.phase = "Ready"
            self.writer.ready("True", "ClusterReady", f"NKS reports {nks_status}")
            return delay
        self.status.phase = "Ready"
        self.writer.ready("True", "ClusterReady", f"NKS reports {nks_status}")
        self.writer.synced("True", "Synced", "spec and NKS agree")
        return self.settings.slow_poll_seconds

    def _renewal_requested(self) -> str | None:
        """The renew-certificate annotation, when it carries a value not acted on yet."""
        annotations = self.meta.get("annotations") or {}
        value = annotations.get(RENEW_CERTIFICATE_ANNOTATION)
        if value and value != self.status.certificate_renewal_request:
            return str(value)
        return None

    async def _ip_acl(
        self, spec: NKSClusterSpec, account: Account, cluster_id: str
    ) -> dict[str, Any] | None:
        """NKS's IP ACL, read at most once per slow resync (and after our own change)."""
        if spec.api_endpoint.ip_access_control is None:
            return None
        now = time.monotonic()
        if (
            self.slot.ip_acl is None
            or now - self.slot.ip_acl_read_at > self.settings.slow_poll_seconds
        ):
            try:
                self.slot.ip_acl = await account.gateway.get_ip_acl(cluster_id)
            except errors.NKSError as error:
                self._nks_unavailable(error)
                raise Retry(self._backoff_for(error)) from None
            self.slot.ip_acl_read_at = now
        return self.slot.ip_acl

    async def _write_kubeconfig(
        self, spec: NKSClusterSpec, account: Account, cluster_id: str
    ) -> str | None:
        """Keep the kubeconfig Secret current; returns the kubeconfig (None: unchanged)."""
        secret_name = (
            spec.kubeconfig_secret.name
            if spec.kubeconfig_secret
            else kubeconfig_secret.default_name(self.name)
        )
        expiry = self.status.certificate_expiry
        # Watched like credentials: a steady-state pass reads nothing from the API, and an
        # edited or deleted Secret is read again (and repaired) on the next pass.
        current = await self.ctx.kube.read_watched_secret(self.namespace, secret_name)
        if kubeconfig_secret.is_current(current, cluster_id, expiry):
            self.status.kubeconfig_secret_name = secret_name
            return kubeconfig_secret.value_of(current)
        try:
            config = await account.gateway.get_kubeconfig(cluster_id)
        except errors.NKSError as error:
            self._nks_unavailable(error)
            raise Retry(self._backoff_for(error)) from None
        secret = kubeconfig_secret.build(self.body, secret_name, config, cluster_id, expiry)
        await self.ctx.kube.upsert_secret(self.namespace, secret)
        refreshed = current is not None
        self.status.kubeconfig_secret_name = secret_name
        post_event(
            self.body,
            self.slot,
            "Normal",
            "KubeconfigRefreshed" if refreshed else "KubeconfigWritten",
            f"kubeconfig written to Secret {secret_name}",
        )
        return config

    async def _register_in_argocd(
        self, spec: NKSClusterSpec, kubeconfig: str | None, cluster_id: str
    ) -> None:
        """The opt-in Argo CD cluster Secret: written, kept current, removed when disabled."""
        registration = spec.argocd
        if registration is None or not registration.enabled:
            if self.status.argocd_secret:
                await delete_argocd_secret(self.ctx, self.status.argocd_secret)
                self.status.argocd_secret = None
            return
        if kubeconfig is None:
            return
        try:
            desired = argocd_secret.build(self.body, registration, kubeconfig, cluster_id)
        except ValueError as error:
            self.writer.synced("False", "ArgoCDRegistrationFailed", str(error))
            return
        namespace, name = registration.namespace, desired.metadata.name
        reference = f"{namespace}/{name}"
        if self.status.argocd_secret and self.status.argocd_secret != reference:
            await delete_argocd_secret(self.ctx, self.status.argocd_secret)
        existing = await self.ctx.kube.read_secret(namespace, name)
        if (
            existing is not None
            and (existing.metadata.labels or {}).get(argocd_secret.MANAGED_BY_LABEL)
            != argocd_secret.MANAGED_BY
        ):
            message = f"Secret {reference} exists and is not managed by nks-operator; not touched"
            self.writer.synced("False", "ArgoCDRegistrationFailed", message)
            post_event(
                self.body, self.slot, "Warning", "ArgoCDRegistrationFailed", message, once=True
            )
            return
        if not argocd_secret.is_current(existing, desired):
            try:
                await self.ctx.kube.upsert_secret(namespace, desired)
            except ApiException as error:
                message = f"cannot write the Argo CD cluster Secret {reference}: {error.reason}"
                self.writer.synced("False", "ArgoCDRegistrationFailed", message)
                post_event(
                    self.body, self.slot, "Warning", "ArgoCDRegistrationFailed", message, once=True
                )
                return
            post_event(
                self.body,
                self.slot,
                "Normal",
                "ArgoCDRegistered",
                f"Argo CD cluster Secret {reference} written",
            )
        self.status.argocd_secret = reference


async def delete_argocd_secret(ctx: OperatorContext, reference: str) -> None:
    namespace, _, name = reference.partition("/")
    await ctx.kube.delete_secret(namespace, name)


class ClusterDeletion(ClusterPass):
    """Deletion: NKS delete once, then wait until NKS answers 404 before releasing."""

    async def delete(self) -> float | None:
        """None when the finalizer may be removed, else seconds until the next check."""
        try:
            result = await self._delete()
        except Retry as retry:
            result = retry.delay
        await self.writer.flush()
        return result

    async def _delete(self) -> float | None:
        result = await self._delete_in_nks()
        if result is None and self.status.argocd_secret:
            await delete_argocd_secret(self.ctx, self.status.argocd_secret)
            self.status.argocd_secret = None
        return result

    async def _delete_in_nks(self) -> float | None:
        raw = self.body.get("spec") or {}
        policy = raw.get("deletionPolicy", "Delete")
        cluster_id = self.status.cluster_id or raw.get("clusterID")
        if policy == "Retain":
            if cluster_id:
                post_event(
                    self.body,
                    self.slot,
                    "Normal",
                    "Retained",
                    f"deletionPolicy Retain: NKS cluster {cluster_id} is left in place",
                )
            return None
        if cluster_id is None and self.status.creation is None:
            return None  # nothing was ever sent to NKS
        if is_paused(self.body):
            self.status.phase = "Paused"
            self.writer.ready("False", "Paused", "deletion waits: the paused annotation is set")
            return self.settings.slow_poll_seconds
        region = self.status.region or raw.get("region")
        ref = (raw.get("credentialsRef") or {}).get("name")
        account = await self._account(region, ref)
        if cluster_id is None and self.status.creation is not None:
            name = self.status.creation.name
            found = await self._find_created(account, name, self.status.creation)
            if found is None:
                if (
                    age_seconds(self.status.creation.requested_at)
                    < self.settings.adoption_grace_seconds
                ):
                    return self.settings.fast_poll_seconds
                return None  # the create never reached NKS
            cluster_id = found["uuid"]
            self.status.cluster_id = cluster_id
            self.status.creation = None
        assert cluster_id is not None
        try:
            details = await account.gateway.get_cluster(cluster_id)
        except errors.NotFoundError:
            account.poller.unwatch(cluster_id, self.slot.waker)
            post_event(
                self.body, self.slot, "Normal", "Deleted", f"NKS cluster {cluster_id} is gone"
            )
            return None
        except errors.NKSError as error:
            self._nks_unavailable(error)
            return self._backoff_for(error)
        nks_status = str(details.get("status") or "")
        self.status.nks_status = nks_status or None
        self.status.phase = "Deleting"
        if nks_status == "DELETE_IN_PROGRESS":
            self.writer.ready("False", "Deleting", "NKS is deleting the cluster")
            return self.settings.fast_poll_seconds
        if nks_status.endswith("_IN_PROGRESS"):
            # NKS refuses a delete while another operation runs: wait for it to settle.
            self.writer.ready(
                "False", "Deleting", f"waiting for {nks_status} to end before deleting"
            )
            return self.settings.fast_poll_seconds
        if nks_status == "DELETE_FAILED":
            post_event(
                self.body,
                self.slot,
                "Warning",
                "DeleteFailed",
                f"NKS failed to delete the cluster: {details.get('status_reason')}; retrying",
            )
        try:
            accepted = await account.gateway.delete_cluster(cluster_id)
        except errors.NotFoundError:
            return None
        except errors.NKSError as error:
            self._nks_unavailable(error)
            post_event(self.body, self.slot, "Warning", "DeleteRefused", str(error), once=True)
            return max(self._backoff_for(error), self.settings.fast_poll_seconds)
        if not accepted:
            return None
        self.status.last_operation = LastOperation(
            type="CLUSTER_DELETE", state="Requested", started_at=now_iso()
        )
        self.writer.ready("False", "Deleting", "NKS is deleting the cluster")
        post_event(
            self.body, self.slot, "Normal", "DeleteRequested", f"deleting NKS cluster {cluster_id}"
        )
        return self.settings.fast_poll_seconds
