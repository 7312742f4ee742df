"""NKSCluster: an NKS cluster with its default worker group, its kubeconfig Secret and its
optional Argo CD registration."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nks_operator.api.base import SecretKeyReference
from nks_operator.api.cluster import (
    ControlPlaneLog,
    ControlPlaneLogStatus,
    NKSClusterSpec,
    NKSClusterStatus,
)
from nks_operator.api.operations import OperationType
from nks_operator.api.resources import CLUSTER
from nks_operator.api.status import CreationIntent, LastOperation
from nks_operator.control.adapter import (
    Adapter,
    Checking,
    Converging,
    Creating,
    Deleting,
    Facts,
    Identity,
    Location,
    Observed,
)
from nks_operator.control.passes import RENEW_CERTIFICATE_ANNOTATION, Pass, parse_time
from nks_operator.kube import argocd_secret, kubeconfig_secret
from nks_operator.kube import credentials as kube_credentials
from nks_operator.kube.api import Secret
from nks_operator.kube.client import KubeAPIError, KubeConflict
from nks_operator.nks import DeleteResult, errors
from nks_operator.nks.models import IPACL, Cluster, ClusterCreateRequest, InstalledAddon
from nks_operator.nks.models.nodegroup import DEFAULT_WORKER
from nks_operator.polling.accounts import Account
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile import (
    addons,
    certificate_renewal,
    control_plane_log,
    immutability,
    payloads,
    validation,
    versions,
    worker_settings,
)
from nks_operator.reconcile import observed as observing
from nks_operator.reconcile.day2 import (
    CONTROL_PLANE,
    Plan,
    busy_elsewhere,
    hold_while_busy,
    plan_cluster,
    then,
)
from nks_operator.reconcile.observed import Drift
from nks_operator.reconcile.outcome import Assessment, Problem
from nks_operator.reconcile.reasons import Reason

logger = logging.getLogger(__name__)

# NKS's created_at has whole seconds and may lag the request: a cluster created this long
# before our intent was recorded is someone else's.
CREATED_SLACK = datetime.timedelta(seconds=120)


@dataclass(frozen=True)
class WantedLog:
    """The control-plane log settings the spec asks for, as sent, with their keyed hash."""

    settings: Mapping[str, Any]
    hash: str
    app_key: str | None


@dataclass
class ClusterFindings:
    """What a pass's reads found (`inputs`), for the checks, the plan and its bookkeeping."""

    catalogue: addons.Catalogue | None = None  # read while spec.addons manages add-ons
    log: WantedLog | None = None  # read while spec.controlPlaneLog is set


ClusterPass = Pass[NKSClusterSpec, NKSClusterStatus, ClusterFindings]


@dataclass
class ClusterMemory:
    """What a cluster's passes keep between them: reads of what the snapshot lacks, and
    when they were made (never persisted: lost on restart at the cost of a read)."""

    # NKS's IP ACL, read at most once per slow resync (not in the list call).
    ip_acl: IPACL | None = None
    ip_acl_read_at: float = -1e9
    # The add-ons NKS reports installed (not in the cluster answer): read at
    # most once per slow resync, in every pass while an add-on operation is followed, and
    # again after one succeeded. None: unknown (not read, or refused); the readable ones
    # when NKS described some unreadably (`addons_unreadable`: then nothing is planned).
    addons: tuple[InstalledAddon, ...] | None = None
    addons_read_at: float = -1e9
    addons_problem: str | None = None  # NKS refused the read (4xx): why
    addons_unreadable: dict[str, str] = field(default_factory=dict)  # entries, what was wrong
    # When the kubeconfig Secret was last found current (read again once per slow resync).
    kubeconfig_checked_at: float = -1e9
    kubeconfig_expiry: str | None = None  # the certificate expiry it was checked for
    kubeconfig_renewed: bool = False  # a renewal succeeded: read the kubeconfig again
    # A Secret of this name was there before status recorded one: read it before writing.
    kubeconfig_occupied: str | None = None
    # Registration is off and the Argo CD Secret's place was cleared since the last write
    # of one: stable passes read it no more (a deletion, or a restart, looks again).
    argocd_cleared: bool = False


def _kept(p: ClusterPass) -> ClusterMemory:
    return p.around.remembered(ClusterMemory)


async def _existing_kubeconfig(
    p: ClusterPass, secret_name: str, cluster_id: str
) -> tuple[Secret | None, tuple[str | None, Problem | None] | None]:
    """The kubeconfig Secret as read, and the pass's answer when the read settles it: a
    Secret not made for this NKSCluster (left untouched), or one already current."""
    status: NKSClusterStatus = p.status
    current = await p.around.read_secret(p.namespace, secret_name)
    if current is not None and not kubeconfig_secret.is_owned(current, p.meta["uid"]):
        status.kubeconfig_secret_name = None
        return current, (
            None,
            Problem(
                Reason.SECRET_NOT_OWNED,
                f"Secret {secret_name} exists and was not created by the operator for this "
                "NKSCluster: it is left untouched and the kubeconfig is not written; delete it "
                "or set spec.kubeconfigSecret.name to another name",
            ),
        )
    if not _kept(p).kubeconfig_renewed and kubeconfig_secret.is_current(
        current, cluster_id, status.certificate_expiry
    ):
        _kubeconfig_checked(p, secret_name)
        return current, (kubeconfig_secret.value_of(current), None)
    return current, None


def _kubeconfig_checked(p: ClusterPass, secret_name: str) -> None:
    p.status.kubeconfig_secret_name = secret_name
    memory = _kept(p)
    memory.kubeconfig_checked_at = time.monotonic()
    memory.kubeconfig_expiry = p.status.certificate_expiry


def renewal_requested(p: ClusterPass) -> str | None:
    """The renew-certificate annotation, when it carries a value not acted on yet."""
    value = p.annotations.get(RENEW_CERTIFICATE_ANNOTATION)
    if value and value != p.status.certificate_renewal_request:
        return str(value)
    return None


def renewal_unconfirmed(p: ClusterPass, snapshot: ClusterSnapshot) -> bool:
    """A renewal was sent and NKS shows nothing of it yet (`certificate_renewal`)."""
    cluster = snapshot.cluster
    return certificate_renewal.unconfirmed(
        p.status.certificate_renewal_sent_at_expiry,
        None if cluster is None else cluster.labels.certificate_expiry,
        p.status.last_operation,
        snapshot.tasks,
    )


class ClusterAdapter(Adapter[NKSClusterSpec, NKSClusterStatus, ClusterFindings]):
    facts = Facts(
        resource=CLUSTER,
        spec_model=NKSClusterSpec,
        status_model=NKSClusterStatus,
        create_operation=OperationType.CLUSTER_CREATE,
        delete_operation=OperationType.CLUSTER_DELETE,
        not_found=Reason.CLUSTER_NOT_FOUND,
        name_in_use=Reason.CLUSTER_NAME_IN_USE,
        ready_reason=Reason.CLUSTER_READY,
        noun="cluster",
        nks_resource="cluster",
        nks_id_is_cluster_id=True,
        findings=ClusterFindings,
    )

    def __init__(self) -> None:
        self.identity = ClusterIdentity()
        self.checking = ClusterChecking(self.identity)
        self.creating = ClusterCreating()
        self.converging = ClusterConverging()
        self.deleting = ClusterDeleting()

    async def locate(self, p: ClusterPass) -> Location | Assessment:
        spec: NKSClusterSpec = p.spec
        region = p.status.region
        moved = immutability.region_changed(region, spec.region)
        if moved is not None:
            # Checked first: the cluster is not in the other region's list.
            raise p.stop(Reason.INVALID_SPEC, moved)
        self._check_argocd_policy(p)
        ref = spec.credentials_ref.name if spec.credentials_ref else None
        return Location(region or spec.region, ref, p.status.cluster_id or spec.cluster_id)

    def observe(self, snapshot: ClusterSnapshot, nks_id: str) -> Observed | None:
        if snapshot.uuid != nks_id or snapshot.cluster is None:
            return None
        unreadable = {
            f"cluster {key}": why
            for key, why in observing.unreadable_fields(snapshot.cluster).items()
        }
        worker = snapshot.nodegroup(DEFAULT_WORKER)
        if worker is not None:
            for key, why in observing.unreadable_fields(worker).items():
                unreadable[f"{DEFAULT_WORKER} {key}"] = why
        for name in ("cluster", DEFAULT_WORKER):
            if name in snapshot.problems:
                unreadable[name] = snapshot.problems[name]
        return Observed(nks_id, snapshot.cluster, snapshot, unreadable)

    def report(self, p: ClusterPass, observed: Observed) -> None:
        cluster = observed.snapshot.cluster
        assert cluster is not None
        worker = observed.snapshot.nodegroup(DEFAULT_WORKER)
        for key, value in observing.cluster_status_fields(cluster, worker).items():
            setattr(p.status, key, value)
        if worker is not None:
            worker_settings.record_shown(p.status, p.spec.default_worker, worker)
        for key, value in observing.cluster_health_fields(cluster).items():
            setattr(p.status, key, value)

    @staticmethod
    def _check_argocd_policy(p: ClusterPass) -> None:
        refusals = p.around.argocd_refusals(p.spec.argocd)
        if refusals:
            raise p.stop(Reason.NOT_PERMITTED, "; ".join(refusals))


class ClusterIdentity(Identity[NKSClusterSpec, NKSClusterStatus]):
    """status.clusterID, adopted from spec.clusterID; named spec.clusterName or as the object."""

    adoption_field = "clusterID"

    def nks_id(self, status: NKSClusterStatus) -> str | None:
        return status.cluster_id

    def set_nks_id(self, status: NKSClusterStatus, nks_id: str, location: Location) -> None:
        status.cluster_id = nks_id
        status.region = status.region or location.region

    def restore_id(self, status: NKSClusterStatus, nks_id: str) -> None:
        status.cluster_id = nks_id

    def adoption_id(self, spec: NKSClusterSpec) -> str | None:
        return spec.cluster_id

    def nks_name(self, spec: NKSClusterSpec, metadata_name: str) -> str:
        return spec.cluster_name or metadata_name


class ClusterChecking(Checking[NKSClusterSpec, NKSClusterStatus, ClusterFindings]):
    """The cluster's spec against the supported versions, the add-on catalogue and what
    NKS shows (what it cannot downgrade or change)."""

    def __init__(self, identity: Identity[NKSClusterSpec, NKSClusterStatus]) -> None:
        self._identity = identity  # the NKS name the drift checks compare

    async def inputs(
        self, p: ClusterPass, account: Account, observed: Observed | None
    ) -> Mapping[str, str]:
        """The add-on catalogue (per account, cached) and the cluster's installed add-ons
        while spec.addons manages add-ons; the control-plane log settings with the app key
        its Secret holds now. Nothing is read for what the spec does not manage."""
        spec: NKSClusterSpec = p.spec
        status: NKSClusterStatus = p.status
        unreadable: dict[str, str] = {}
        if addons.managed(spec, status.addons):
            catalogue = await p.around.catalogue(account)
            p.found.catalogue = catalogue
            if observed is not None:
                await self._read_addons(p, account, observed.nks_id, catalogue)
                unreadable.update(_kept(p).addons_unreadable)
        else:
            status.addons = None
        if spec.control_plane_log is None:
            status.control_plane_log = None
        elif observed is not None and isinstance(observed.model, Cluster):
            await self._control_plane_log_inputs(p, spec.control_plane_log, observed.model)
        return unreadable

    async def _read_addons(
        self, p: ClusterPass, account: Account, cluster_id: str, catalogue: addons.Catalogue
    ) -> None:
        memory = _kept(p)
        now = time.monotonic()
        last = p.status.last_operation
        following = (
            last is not None
            and last.state in ("Requested", "InProgress")
            and last.type in addons.OPERATIONS
        )
        if addons.read_due(memory.addons_read_at, now, p.around.slow_seconds, following):
            try:
                listing = await account.client.list_cluster_addons(cluster_id)
            except (errors.InvalidRequestError, errors.ForbiddenError, errors.NotFoundError) as e:
                memory.addons, memory.addons_unreadable = None, {}
                memory.addons_problem = addons.with_registry_hint(
                    f"NKS refused to list the cluster's add-ons, so none is installed, "
                    f"updated or removed: {e}"
                )
            else:
                memory.addons_problem = None
                memory.addons_unreadable = {
                    f"add-on {entry.name or entry.uuid or '?'}": entry.problem
                    for entry in listing.unreadable
                }
                for addon in listing:
                    for key, why in observing.unreadable_fields(addon).items():
                        memory.addons_unreadable[f"add-on {addon.name or addon.uuid} {key}"] = why
                memory.addons = tuple(listing)
            memory.addons_read_at = now
        if memory.addons is None:
            return
        rows, kept = addons.statuses(
            memory.addons, p.spec, p.status.addons or (), catalogue, p.generation
        )
        for addon in kept:
            p.event(
                "Warning",
                Reason.ADDON_NOT_REMOVED,
                f"add-on {addon.name} was removed from spec.addons, but NKS does not let its "
                f"type {addon.type} be removed (mandatory): it stays installed as NKS has it "
                "and is no longer managed",
            )
        p.status.addons = rows

    async def _control_plane_log_inputs(
        self, p: ClusterPass, log: ControlPlaneLog, cluster: Cluster
    ) -> None:
        """The wire settings the spec asks for, their keyed hash, and what status shows."""
        ref = payloads.control_plane_log_secret(log)
        key = None
        if ref is not None:
            try:
                values = await p.around.secret_keys([(ref.name, ref.key)])
            except kube_credentials.CredentialsProblem as problem:
                raise p.stop(Reason(problem.reason), problem.message) from None
            key = values[(ref.name, ref.key)]
            if not key.strip():
                raise p.stop(
                    Reason.SECRET_KEY_MISSING,
                    f"Secret {p.namespace}/{ref.name} holds an empty {ref.key!r} (the Log & "
                    "Crash Search app key)",
                )
        settings = payloads.control_plane_log_settings(log, key)
        wanted = await _log_hash(p, settings)
        p.found.log = WantedLog(settings, wanted, key)
        record = p.status.control_plane_log or ControlPlaneLogStatus()
        shown = cluster.labels.control_plane_log
        if record.settings_hash != wanted and control_plane_log.in_sync(
            log, shown, recorded=record.settings_hash, wanted=wanted, app_key=key
        ):
            record.settings_hash = wanted  # NKS's answer shows all of it, the key included
        if shown is not None and shown.enable is not None:
            record.enabled, record.destination = shown.enable, shown.type
        elif record.settings_hash == wanted:
            record.enabled = log.enabled
            record.destination = log.destination if log.enabled else None
        p.status.control_plane_log = record

    def problems(
        self, p: ClusterPass, supported: Mapping[str, bool], observed: Observed | None
    ) -> tuple[list[str], list[Drift]]:
        spec: NKSClusterSpec = p.spec
        status: NKSClusterStatus = p.status
        problems = validation.cluster_problems(
            spec, p.name, supported, for_create=status.cluster_id is None and observed is None
        )
        moved = immutability.managed_id_changed(
            immutability.CLUSTER_ID, status.cluster_id, spec.cluster_id
        )
        problems += [moved] if moved else []
        drift: list[Drift] = []
        if observed is not None:
            cluster = observed.snapshot.cluster
            assert cluster is not None
            worker = observed.snapshot.nodegroup(DEFAULT_WORKER)
            drift = observing.cluster_drift(
                spec, self._identity.nks_name(spec, p.name), cluster, worker
            )
            drift += observing.etcd_encryption_drift(spec, cluster)
            actual = cluster.kubernetes_version
            if actual and versions.compare(spec.kubernetes_version, actual) < 0:
                problems.append(
                    f"spec.kubernetesVersion {spec.kubernetes_version} is older than the "
                    f"cluster's {actual}: NKS cannot downgrade"
                )
        catalogue = p.found.catalogue
        if catalogue is not None:
            problems += addons.catalogue_problems(spec, catalogue, _installed(p))
        return problems, drift


class ClusterCreating(Creating[NKSClusterSpec, NKSClusterStatus, ClusterFindings]):
    """An NKS cluster is created from the spec, its default worker with it."""

    async def existing(
        self, p: ClusterPass, account: Account, location: Location, name: str
    ) -> list[str]:
        return [cluster.uuid for cluster in await account.poller.find_by_name(name)]

    async def find_created(
        self, p: ClusterPass, account: Account, location: Location, intent: CreationIntent
    ) -> str | None:
        """The cluster our create made: same name, created no earlier than the intent."""
        requested = parse_time(intent.requested_at)
        for candidate in await account.poller.find_by_name(intent.name):
            try:
                details = await account.client.get_cluster(candidate.uuid)
            except errors.NotFoundError:
                continue
            created = details.created_at
            if requested is None or created is None or created >= requested - CREATED_SLACK:
                return details.uuid
        return None

    def secret_refs(self, spec: NKSClusterSpec) -> list[SecretKeyReference]:
        return payloads.cluster_secret_refs(spec)

    async def created(self, p: ClusterPass, secrets: Mapping[tuple[str, str], str] | None) -> None:
        """The default worker's settings and the control-plane log settings went with the
        create: recorded as NKS's (the log settings off when disabled: nothing was sent,
        NKS's default; unknown after a lost answer: sent once more then)."""
        p.status.sent_settings = worker_settings.at_create(p.spec.default_worker) or None
        log = p.spec.control_plane_log
        if log is None or secrets is None:
            return
        ref = payloads.control_plane_log_secret(log)
        key = None if ref is None else secrets.get((ref.name, ref.key))
        settings = payloads.control_plane_log_settings(log, key)
        p.status.control_plane_log = ControlPlaneLogStatus(
            enabled=log.enabled,
            destination=log.destination if log.enabled else None,
            settings_hash=await _log_hash(p, settings),
        )

    async def create(
        self,
        account: Account,
        location: Location,
        spec: NKSClusterSpec,
        name: str,
        secrets: Mapping[tuple[str, str], str],
    ) -> str:
        body = payloads.create_cluster_body(spec, name, secrets)
        return await account.client.create_cluster(ClusterCreateRequest.model_validate(body))


class ClusterConverging(Converging[NKSClusterSpec, NKSClusterStatus, ClusterFindings]):
    """The cluster follows its spec: its IP ACL, add-ons and control-plane log settings
    besides the snapshot, the kubeconfig and Argo CD Secrets once NKS is stable."""

    async def prepare(
        self, p: ClusterPass, account: Account, observed: Observed
    ) -> Mapping[str, str]:
        """NKS's IP ACL (not in the cluster answer): read at most once per slow resync (a
        change made in the console shows within one), and in every pass while a change the
        operator sent is followed - its confirmation is this read, and an old one would
        report a change that took effect as dropped. An answer with unreadable parts is
        unknown: nothing is planned from it, and it is read again in the next pass."""
        if p.spec.api_endpoint.ip_access_control is None:
            return {}
        now = time.monotonic()
        memory = _kept(p)
        last = p.status.last_operation
        following = (
            last is not None
            and last.type == OperationType.SET_IP_ACL
            and last.state in ("Requested", "InProgress")
        )
        stale = now - memory.ip_acl_read_at > p.around.slow_seconds
        if memory.ip_acl is None or stale or following:
            acl = await account.client.get_ip_acl(observed.nks_id)
            unreadable = observing.unreadable_fields(acl)
            if unreadable:
                memory.ip_acl = None
                return {f"IP ACL {key}": why for key, why in unreadable.items()}
            memory.ip_acl = acl
            memory.ip_acl_read_at = now
        return {}

    def plan(
        self,
        p: ClusterPass,
        observed: Observed,
        supported: Mapping[str, bool],
        location: Location,
    ) -> Plan:
        cluster = observed.snapshot.cluster
        assert cluster is not None
        plan = plan_cluster(
            p.spec,
            cluster,
            observed.snapshot.nodegroups,
            supported,
            ip_acl=_kept(p).ip_acl,
            renew_requested=(
                renewal_requested(p) is not None or renewal_unconfirmed(p, observed.snapshot)
            ),
            user_script_sent_for=p.status.user_script_generation,
            generation=p.generation,
            sent_settings=p.status.sent_settings,
        )
        # The current edition's cluster settings come after every other operation.
        record = p.status.control_plane_log
        log = p.found.log
        plan = then(
            plan,
            lambda: control_plane_log.plan_control_plane_log(
                p.spec.control_plane_log,
                cluster.labels.control_plane_log,
                recorded=None if record is None else record.settings_hash,
                wanted=None if log is None else log.hash,
                settings=None if log is None else log.settings,
                app_key=None if log is None else log.app_key,
            ),
        )
        # An add-on NKS described unreadably may be any of the spec's: nothing is planned.
        memory = _kept(p)
        installed = None if memory.addons_unreadable else _installed(p)
        view = addons.AddonView(
            p.found.catalogue, installed, p.status.addons or (), memory.addons_problem
        )
        plan = then(
            plan,
            lambda: addons.plan_addons(
                p.spec, view, kubernetes_version=cluster.kubernetes_version, generation=p.generation
            ),
        )
        return hold_while_busy(plan, busy_elsewhere(observed.snapshot.nodegroups))

    @staticmethod
    def _target_status(observed: Observed, target: str | None) -> str | None:
        if target is None or target == CONTROL_PLANE:
            return observed.status
        group = observed.snapshot.nodegroup(target)
        return None if group is None else group.status

    def still_wanted(
        self, p: ClusterPass, observed: Observed, plan: Plan, last: LastOperation
    ) -> bool:
        if last.type == OperationType.RENEW_CERTIFICATE:
            # The plan's next operation may be another one (a spec changed meanwhile).
            return renewal_unconfirmed(p, observed.snapshot)
        return super().still_wanted(p, observed, plan, last)

    def operation_status(
        self, p: ClusterPass, observed: Observed, target: str | None
    ) -> str | None:
        name = addons.target_name(target)
        if name is None:
            return self._target_status(observed, target)
        return addons.target_status((_installed(p) or {}).get(name), observed.status)

    def after_send(self, p: ClusterPass, operation: str, args: Mapping[str, Any]) -> None:
        if operation == control_plane_log.OPERATION:
            record = p.status.control_plane_log or ControlPlaneLogStatus()
            record.sent_hash = None if p.found.log is None else p.found.log.hash
            p.status.control_plane_log = record
        if operation == OperationType.RENEW_CERTIFICATE:
            p.status.certificate_renewal_request = renewal_requested(p) or (
                p.status.certificate_renewal_request
            )
            # Reported from this pass's read, before the plan was made.
            p.status.certificate_renewal_sent_at_expiry = certificate_renewal.expiry_mark(
                p.status.certificate_expiry
            )
        elif operation == OperationType.NODEGROUP_USERSCRIPT_UPDATE:
            p.status.user_script_generation = p.generation
        worker_settings.record_sent(p.status, operation, p.spec.default_worker)

    def after_success(self, p: ClusterPass, account: Account, operation: str) -> None:
        memory = _kept(p)
        worker_settings.record_done(p.status, operation)
        if operation in addons.OPERATIONS:
            memory.addons_read_at = -1e9  # read what NKS has now before planning more
        record = p.status.control_plane_log
        if operation == control_plane_log.OPERATION and record is not None and record.sent_hash:
            record.settings_hash, record.sent_hash = record.sent_hash, None
            log = p.spec.control_plane_log
            wanted = None if p.found.log is None else p.found.log.hash
            if log is not None and record.settings_hash == wanted:
                record.enabled = log.enabled
                record.destination = log.destination if log.enabled else None
        if operation == OperationType.SET_IP_ACL:
            memory.ip_acl_read_at = -1e9
        if operation == OperationType.RENEW_CERTIFICATE:
            p.status.certificate_renewal_sent_at_expiry = None
            # New certificates whatever the expiry says (a renewal may keep the same date).
            memory.kubeconfig_checked_at = -1e9
            memory.kubeconfig_renewed = True

    async def when_stable(
        self, p: ClusterPass, account: Account, observed: Observed
    ) -> Problem | None:
        kubeconfig, problem = await self._write_kubeconfig(p, account, observed.nks_id)
        if problem is not None:
            return problem
        server = observed.snapshot.cluster.api_address if observed.snapshot.cluster else None
        return await self._register_in_argocd(p, kubeconfig, observed.nks_id, server)

    async def _write_kubeconfig(
        self, p: ClusterPass, account: Account, cluster_id: str
    ) -> tuple[str | None, Problem | None]:
        """Keep the kubeconfig Secret current; returns the kubeconfig when it was read, or
        why it cannot be written.

        The Secret is read by name at most once per slow resync (and after the certificate
        changed), so a deleted or edited Secret is repaired within one resync. A Secret of
        that name the operator did not make for this NKSCluster is never written. One that
        status does not record yet is created without a read first: a create never
        replaces anything, and a Secret already there (409) is then read and judged as
        any other.
        """
        spec: NKSClusterSpec = p.spec
        status: NKSClusterStatus = p.status
        secret_name = (
            spec.kubeconfig_secret.name
            if spec.kubeconfig_secret
            else kubeconfig_secret.default_name(p.name)
        )
        expiry = status.certificate_expiry
        memory = _kept(p)
        registering = spec.argocd is not None and spec.argocd.enabled and not status.argocd_secret
        fresh = time.monotonic() - memory.kubeconfig_checked_at < p.around.slow_seconds
        if (
            fresh
            and not registering
            and status.kubeconfig_secret_name == secret_name
            and memory.kubeconfig_expiry == expiry
        ):
            return None, None
        unrecorded = (
            status.kubeconfig_secret_name is None and memory.kubeconfig_occupied != secret_name
        )
        current: Secret | None = None
        if not unrecorded:
            current, found = await _existing_kubeconfig(p, secret_name, cluster_id)
            if found is not None:
                return found
        answer = (await account.client.get_kubeconfig(cluster_id)).get_secret_value()
        try:
            config = kubeconfig_secret.sanitize(answer)
        except ValueError as error:
            return None, Problem(Reason.NKS_ANSWER_INVALID, f"NKS's kubeconfig: {error}")
        secret = kubeconfig_secret.build(p.body, secret_name, config, cluster_id, expiry)
        try:
            await p.around.write_secret(p.namespace, secret, current)
        except KubeConflict:
            if not unrecorded:
                raise
            # Read first from now on: no NKS read per pass for a name someone else holds.
            memory.kubeconfig_occupied = secret_name
            current, found = await _existing_kubeconfig(p, secret_name, cluster_id)
            if found is not None:
                return found
            await p.around.write_secret(p.namespace, secret, current)
        _kubeconfig_checked(p, secret_name)
        memory.kubeconfig_renewed = False
        refreshed = current is not None
        p.event(
            "Normal",
            Reason.KUBECONFIG_REFRESHED if refreshed else Reason.KUBECONFIG_WRITTEN,
            f"kubeconfig written to Secret {secret_name}",
        )
        return config, None

    async def _register_in_argocd(
        self, p: ClusterPass, kubeconfig: str | None, cluster_id: str, server: str | None
    ) -> Problem | None:
        """The opt-in Argo CD cluster Secret: written, kept current, removed when disabled."""
        registration = p.spec.argocd
        status: NKSClusterStatus = p.status
        if registration is None or not registration.enabled:
            await _stay_unregistered(p)
            return None
        _kept(p).argocd_cleared = False
        if kubeconfig is None:
            return None
        if not server:
            return Problem(
                Reason.ARGOCD_REGISTRATION_FAILED, "NKS reports no API address for the cluster"
            )
        namespace = p.around.argocd_namespace
        try:
            desired = argocd_secret.build(
                p.body,
                registration,
                kubeconfig,
                cluster_id,
                argocd_namespace=namespace,
                server=server,
            )
        except ValueError as error:
            return Problem(Reason.ARGOCD_REGISTRATION_FAILED, str(error))
        name = desired["metadata"]["name"]
        reference = f"{namespace}/{name}"
        existing = await p.around.read_secret(namespace, name)
        if existing is not None and not argocd_secret.is_owned(
            existing, p.namespace, p.name, p.meta["uid"]
        ):
            message = f"Secret {reference} exists and is not this NKSCluster's; not touched"
            return Problem(Reason.ARGOCD_REGISTRATION_FAILED, message)
        if not argocd_secret.is_current(existing, desired):
            try:
                await p.around.write_secret(namespace, desired, existing)
            except KubeAPIError as error:
                if error.status in (0, 409, 429) or error.status >= 500:
                    raise
                message = f"cannot write the Argo CD cluster Secret {reference}: {error.reason}"
                return Problem(Reason.ARGOCD_REGISTRATION_FAILED, message)
            p.event(
                "Normal", Reason.ARGOCD_REGISTERED, f"Argo CD cluster Secret {reference} written"
            )
        if status.argocd_secret and status.argocd_secret != reference:
            await _delete_argocd_secret(p, status.argocd_secret)  # where an older release put it
        status.argocd_secret = reference
        return None


class ClusterDeleting(Deleting[NKSClusterSpec, NKSClusterStatus, ClusterFindings]):
    """The cluster is deleted in NKS; its Argo CD Secret goes with the resource."""

    async def locate_for_delete(self, p: ClusterPass) -> Location | None:
        raw = p.body.get("spec") or {}
        region = p.status.region or str(raw.get("region") or "")
        ref = (raw.get("credentialsRef") or {}).get("name")
        return Location(region, ref, p.status.cluster_id or raw.get("clusterID"))

    async def read_for_delete(
        self, account: Account, location: Location, nks_id: str
    ) -> str | None:
        try:
            cluster = await account.client.get_cluster(nks_id)
        except errors.NotFoundError:
            return None
        return cluster.status or ""

    async def delete(self, account: Account, location: Location, nks_id: str) -> bool:
        return await account.client.delete_cluster(nks_id) is DeleteResult.ACCEPTED

    async def released(self, p: ClusterPass) -> None:
        await _unregister(p)


def _installed(p: ClusterPass) -> dict[str, InstalledAddon] | None:
    """The add-ons NKS reports installed, by name; None: unknown."""
    found = _kept(p).addons
    return None if found is None else {a.name or a.uuid: a for a in found}


async def _log_hash(p: ClusterPass, settings: Mapping[str, Any]) -> str:
    parts = control_plane_log.hash_parts(str(p.meta.get("uid", "")), settings)
    return await p.around.sign(*parts)


async def _stay_unregistered(p: ClusterPass) -> None:
    """Registration is off: a Secret of this NKSCluster's in Argo CD is removed, looked
    for once (and after every registration), not in every pass. An NKSCluster whose spec
    never changed (generation 1) and whose status records none never had registration
    on, so it has no such Secret to look for."""
    memory = _kept(p)
    if p.status.argocd_secret is None and (memory.argocd_cleared or p.meta.get("generation") == 1):
        return
    await _unregister(p)
    memory.argocd_cleared = True


async def _unregister(p: ClusterPass) -> None:
    """Delete this NKSCluster's Argo CD Secret, where the settings put it and where status
    says an older release put it - each only if it is this NKSCluster's own."""
    status: NKSClusterStatus = p.status
    name = argocd_secret.secret_name(p.namespace, p.name)
    places = {f"{p.around.argocd_namespace}/{name}"}
    if status.argocd_secret:
        places.add(status.argocd_secret)
    for reference in sorted(places):
        await _delete_argocd_secret(p, reference)
    status.argocd_secret = None


async def _delete_argocd_secret(p: ClusterPass, reference: str) -> None:
    namespace, _, name = reference.partition("/")
    if not namespace or not name:
        return
    try:
        existing = await p.around.read_secret(namespace, name)
        if existing is not None and argocd_secret.is_owned(
            existing, p.namespace, p.name, p.meta["uid"]
        ):
            await p.around.delete_secret(namespace, existing)
    except KubeAPIError as error:
        if error.status not in (401, 403):
            raise
        # A place the operator may no longer write (an older release's Argo CD namespace,
        # outside today's RBAC): a deletion must not hang on it.
        logger.warning("%s: cannot remove the Argo CD Secret %s: %s", p.key, reference, error)
