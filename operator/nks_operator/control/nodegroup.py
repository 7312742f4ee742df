"""NKSNodeGroup: an extra worker node group of an NKSCluster's NKS cluster."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nks_operator.api.base import SecretKeyReference
from nks_operator.api.cluster import NKSClusterStatus
from nks_operator.api.nodegroup import NKSNodeGroupSpec, NKSNodeGroupStatus
from nks_operator.api.operations import OperationType
from nks_operator.api.resources import NODEGROUP
from nks_operator.api.status import CreationIntent
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
from nks_operator.control.passes import Pass
from nks_operator.nks import DeleteResult, errors
from nks_operator.nks.compute import Server
from nks_operator.nks.listing import Listing
from nks_operator.nks.models import NodeGroupCreateRequest
from nks_operator.nks.models.nodegroup import DEFAULT_WORKER
from nks_operator.polling.accounts import Account
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile import (
    conditions,
    immutability,
    payloads,
    phase,
    validation,
    worker_settings,
)
from nks_operator.reconcile import observed as observing
from nks_operator.reconcile.day2 import Plan, plan_worker
from nks_operator.reconcile.nodes import NodeState, group_hints, join_nodes
from nks_operator.reconcile.observed import Drift
from nks_operator.reconcile.outcome import Assessment, Stage
from nks_operator.reconcile.reasons import Reason

RESERVED_GROUPS = (DEFAULT_WORKER, "default-master")


class Parent:
    """The NKSCluster a node group belongs to, as far as the node group needs it."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        spec = body.get("spec") or {}
        self.uid: str | None = (body.get("metadata") or {}).get("uid")
        self.region: str = str(spec.get("region") or "")
        self.credentials_secret: str | None = (spec.get("credentialsRef") or {}).get("name")
        self.status = NKSClusterStatus.model_validate(body.get("status") or {})
        self.kubernetes_version: str | None = spec.get("kubernetesVersion")
        self.subnet_id: str | None = (spec.get("network") or {}).get("subnetID")

    @property
    def cluster_id(self) -> str | None:
        return self.status.cluster_id

    @property
    def ready(self) -> bool:
        return self.cluster_id is not None and conditions.is_true(
            self.status.conditions, conditions.READY
        )

    def location(self) -> Location:
        return Location(self.status.region or self.region, self.credentials_secret, self.cluster_id)


@dataclass
class NodeGroupFindings:
    """What a pass's reads found, for the checks and the plan."""

    # From the parent NKSCluster's spec (`locate`): what the group follows unless set.
    parent_version: str | None = None
    parent_subnet: str | None = None
    # The nodes' power states (`prepare`, while stopped nodes are managed); None: unknown,
    # and nodes_problem says why.
    nodes: tuple[NodeState, ...] | None = None
    nodes_problem: str | None = None


NodeGroupPass = Pass[NKSNodeGroupSpec, NKSNodeGroupStatus, NodeGroupFindings]


class NodeGroupAdapter(Adapter[NKSNodeGroupSpec, NKSNodeGroupStatus, NodeGroupFindings]):
    facts = Facts(
        resource=NODEGROUP,
        spec_model=NKSNodeGroupSpec,
        status_model=NKSNodeGroupStatus,
        create_operation=OperationType.NODEGROUP_CREATE,
        delete_operation=OperationType.NODEGROUP_DELETE,
        not_found=Reason.NODE_GROUP_NOT_FOUND,
        name_in_use=Reason.NODE_GROUP_NAME_IN_USE,
        ready_reason=Reason.NODE_GROUP_READY,
        noun="node group",
        nks_resource="nodegroup",
        nks_id_is_cluster_id=False,
        findings=NodeGroupFindings,
    )

    def __init__(self) -> None:
        self.identity = NodeGroupIdentity()
        self.checking = NodeGroupChecking(self.identity)
        self.creating = NodeGroupCreating()
        self.converging = NodeGroupConverging()
        self.deleting = NodeGroupDeleting()

    @staticmethod
    def _waiting(p: NodeGroupPass, message: str) -> Assessment:
        # The cluster's changes wake its node groups; the slow resync is only a backstop.
        return p.assess(Stage.WAITING_FOR_PARENT, message=message, timers=(p.around.slow_seconds,))

    async def locate(self, p: NodeGroupPass) -> Location | Assessment:
        spec: NKSNodeGroupSpec = p.spec
        status: NKSNodeGroupStatus = p.status
        cluster_name = spec.cluster_ref.name
        parent = await _parent(p, cluster_name)
        has_id = status.node_group_id is not None
        if parent is None:
            if has_id:
                raise p.stop(
                    Reason.CLUSTER_NOT_FOUND, f"NKSCluster {cluster_name} no longer exists"
                )
            return self._waiting(p, f"NKSCluster {cluster_name} does not exist yet")
        if parent.cluster_id is None or (not parent.ready and not has_id):
            return self._waiting(p, f"waiting for NKSCluster {cluster_name} to be Ready")
        # The parent's status is no proof: only the cluster its ownership record names.
        owned = parent.uid is not None and await p.around.cluster_owned_by(
            parent.cluster_id, parent.uid
        )
        if not owned:
            # No record yet (an upgrade from a release without them): the parent's next
            # pass makes it, look again soon; a record of another resource: slow.
            again = p.around.fast_seconds if owned is None else p.around.slow_seconds
            return p.assess(
                Stage.WAITING_FOR_PARENT,
                message=f"waiting for NKSCluster {cluster_name} to hold its NKS cluster",
                timers=(again,),
            )
        if status.cluster_id and has_id and parent.cluster_id != status.cluster_id:
            raise p.stop(
                Reason.INVALID_SPEC,
                f"spec.clusterRef is immutable: the node group belongs to NKS cluster "
                f"{status.cluster_id}, {cluster_name} is {parent.cluster_id}",
            )
        p.found.parent_version = parent.kubernetes_version
        p.found.parent_subnet = parent.subnet_id
        return parent.location()

    def observe(self, snapshot: ClusterSnapshot, nks_id: str) -> Observed | None:
        group = snapshot.nodegroup_by_uuid(nks_id)
        if group is None:
            return None
        unreadable = dict(observing.unreadable_fields(group))
        problem = snapshot.problem_of(group.name, group.uuid)
        if problem is not None:
            unreadable["node group"] = problem
        return Observed(nks_id, group, snapshot, unreadable)

    def report(self, p: NodeGroupPass, observed: Observed) -> None:
        group = observed.snapshot.nodegroup_by_uuid(observed.nks_id)
        assert group is not None
        fields = observing.nodegroup_status_fields(observed.snapshot.uuid, group)
        for key, value in fields.items():
            setattr(p.status, key, value)
        worker_settings.record_shown(p.status, p.spec, group)


class NodeGroupIdentity(Identity[NKSNodeGroupSpec, NKSNodeGroupStatus]):
    """status.nodeGroupID (with its cluster's id), adopted from spec.nodeGroupID; named
    spec.nodeGroupName or as the object."""

    adoption_field = "nodeGroupID"

    def nks_id(self, status: NKSNodeGroupStatus) -> str | None:
        return status.node_group_id

    def set_nks_id(self, status: NKSNodeGroupStatus, nks_id: str, location: Location) -> None:
        status.node_group_id = nks_id
        status.cluster_id = location.cluster_id

    def restore_id(self, status: NKSNodeGroupStatus, nks_id: str) -> None:
        status.node_group_id = nks_id

    def adoption_id(self, spec: NKSNodeGroupSpec) -> str | None:
        return spec.node_group_id

    def nks_name(self, spec: NKSNodeGroupSpec, metadata_name: str) -> str:
        return spec.node_group_name or metadata_name


class NodeGroupChecking(Checking[NKSNodeGroupSpec, NKSNodeGroupStatus, NodeGroupFindings]):
    """The group's spec against the supported versions, its cluster's subnet and what NKS
    shows (a reserved group, fields NKS cannot change)."""

    def __init__(self, identity: Identity[NKSNodeGroupSpec, NKSNodeGroupStatus]) -> None:
        self._identity = identity  # the NKS name the drift checks compare

    def problems(
        self, p: NodeGroupPass, supported: Mapping[str, bool], observed: Observed | None
    ) -> tuple[list[str], list[Drift]]:
        spec: NKSNodeGroupSpec = p.spec
        status: NKSNodeGroupStatus = p.status
        problems = validation.nodegroup_problems(
            spec,
            p.name,
            supported,
            for_create=status.node_group_id is None and observed is None,
            cluster_subnet=self._cluster_subnet(p, observed),
        )
        moved = immutability.managed_id_changed(
            immutability.NODE_GROUP_ID, status.node_group_id, spec.node_group_id
        )
        problems += [moved] if moved else []
        drift: list[Drift] = []
        if observed is not None:
            group = observed.snapshot.nodegroup_by_uuid(observed.nks_id)
            assert group is not None
            if group.name in RESERVED_GROUPS:
                # Its NKSCluster manages it: two resources would fight over it.
                problems.append(
                    f"spec.nodeGroupID names the cluster's {group.name} node group, which its "
                    "NKSCluster manages (spec.defaultWorker)"
                )
            drift = observing.nodegroup_drift(spec, self._identity.nks_name(spec, p.name), group)
        return problems, drift

    @staticmethod
    def _cluster_subnet(p: NodeGroupPass, observed: Observed | None) -> str | None:
        """The cluster's subnet, where floating IPs may bind: as NKS reports it, else as
        the parent NKSCluster asks."""
        cluster = observed.snapshot.cluster if observed is not None else None
        found = cluster.fixed_subnet if cluster is not None else None
        return found or p.found.parent_subnet


class NodeGroupCreating(Creating[NKSNodeGroupSpec, NKSNodeGroupStatus, NodeGroupFindings]):
    """A node group is created in its cluster, one operation of the cluster at a time."""

    def _snapshot(self, account: Account, location: Location) -> ClusterSnapshot | None:
        return None if location.cluster_id is None else account.poller.snapshot(location.cluster_id)

    async def existing(
        self, p: NodeGroupPass, account: Account, location: Location, name: str
    ) -> list[str]:
        snapshot = self._snapshot(account, location)
        group = None if snapshot is None else snapshot.nodegroup(name)
        return [] if group is None else [group.uuid]

    async def find_created(
        self, p: NodeGroupPass, account: Account, location: Location, intent: CreationIntent
    ) -> str | None:
        snapshot = self._snapshot(account, location)
        group = None if snapshot is None else snapshot.nodegroup(intent.name)
        return None if group is None else group.uuid

    def create_blocker(
        self, p: NodeGroupPass, location: Location, snapshot: ClusterSnapshot | None
    ) -> str | None:
        """NKS refuses (or silently drops) operations while another one runs, a sibling
        node group's creation included."""
        assert location.cluster_id is not None
        if snapshot is not None and (not phase.is_stable(snapshot.status) or snapshot.busy):
            return "waiting for the cluster's current operation"
        read_at = None if snapshot is None else snapshot.refreshed_at
        if p.around.claimed_by_other(location.cluster_id, read_at):
            return "waiting for another node group of the cluster to be created first"
        return None

    def secret_refs(self, spec: NKSNodeGroupSpec) -> list[SecretKeyReference]:
        return payloads.secret_refs(spec)

    async def created(
        self, p: NodeGroupPass, secrets: Mapping[tuple[str, str], str] | None
    ) -> None:
        p.status.sent_settings = worker_settings.at_create(p.spec) or None

    async def create(
        self,
        account: Account,
        location: Location,
        spec: NKSNodeGroupSpec,
        name: str,
        secrets: Mapping[tuple[str, str], str],
    ) -> str:
        assert location.cluster_id is not None
        body = payloads.create_nodegroup_body(spec, name, secrets)
        group = await account.client.create_nodegroup(
            location.cluster_id, NodeGroupCreateRequest.model_validate(body)
        )
        return str(group.uuid)


class NodeGroupConverging(Converging[NKSNodeGroupSpec, NKSNodeGroupStatus, NodeGroupFindings]):
    """The group follows its spec: its nodes' power states besides the snapshot."""

    async def prepare(
        self, p: NodeGroupPass, account: Account, observed: Observed
    ) -> Mapping[str, str]:
        """The nodes' power states, from the compute API, when stopped nodes are managed:
        NKS's node group answer has only the nodes' addresses (reconcile/nodes.py)."""
        spec: NKSNodeGroupSpec = p.spec
        if not spec.stopped_nodes and not p.status.stopped_nodes:
            return {}
        group = observed.snapshot.nodegroup_by_uuid(observed.nks_id)
        assert group is not None
        servers: Listing[Server] | None = None
        servers_problem = None
        if group.node_addresses:
            try:
                servers = await account.servers()
            except errors.ConfigurationError as error:
                servers_problem = str(error)
            except errors.NKSError as error:
                servers_problem = f"compute API call failed: {error}"
        nodes = join_nodes(
            group.node_addresses, group.node_count, servers, servers_problem, group_hints(group)
        )
        if nodes.states is None:
            p.found.nodes_problem = nodes.problem
            return {}
        p.found.nodes = nodes.states
        p.status.stopped_nodes = nodes.stopped
        return {}

    def plan(
        self,
        p: NodeGroupPass,
        observed: Observed,
        supported: Mapping[str, bool],
        location: Location,
    ) -> Plan:
        spec: NKSNodeGroupSpec = p.spec
        group = observed.snapshot.nodegroup_by_uuid(observed.nks_id)
        cluster = observed.snapshot.cluster
        assert group is not None and cluster is not None
        control_plane = cluster.kubernetes_version or None
        return plan_worker(
            group.name or p.name,
            spec,
            group,
            version_cap=control_plane,
            target_version=spec.kubernetes_version or p.found.parent_version,
            supported=supported,
            desired_stopped=spec.stopped_nodes,
            nodes=p.found.nodes,
            nodes_problem=p.found.nodes_problem,
            remembered_stopped=p.status.stopped_nodes,
            user_script_sent_for=p.status.user_script_generation,
            generation=p.generation,
            sent_settings=p.status.sent_settings,
        )

    def operation_status(
        self, p: NodeGroupPass, observed: Observed, target: str | None
    ) -> str | None:
        return observed.status

    def after_success(self, p: NodeGroupPass, account: Account, operation: str) -> None:
        if operation in (
            OperationType.NODEGROUP_NODE_ACTION_NODE_STOP,
            OperationType.NODEGROUP_NODE_ACTION_NODE_START,
        ):
            account.forget_servers()
        worker_settings.record_done(p.status, operation)

    def after_send(self, p: NodeGroupPass, operation: str, args: Mapping[str, Any]) -> None:
        status: NKSNodeGroupStatus = p.status
        if operation == OperationType.NODEGROUP_NODE_ACTION_NODE_STOP:
            status.stopped_nodes = sorted(set(status.stopped_nodes) | set(args["node_ids"]))
        elif operation == OperationType.NODEGROUP_NODE_ACTION_NODE_START:
            status.stopped_nodes = sorted(set(status.stopped_nodes) - set(args["node_ids"]))
        elif operation == OperationType.NODEGROUP_USERSCRIPT_UPDATE:
            status.user_script_generation = p.generation
        worker_settings.record_sent(status, operation, p.spec)


class NodeGroupDeleting(Deleting[NKSNodeGroupSpec, NKSNodeGroupStatus, NodeGroupFindings]):
    """The group is deleted in NKS; a cluster's deletion takes its groups with it."""

    async def locate_for_delete(self, p: NodeGroupPass) -> Location | None:
        raw = p.body.get("spec") or {}
        parent = await _parent(p, (raw.get("clusterRef") or {}).get("name", ""))
        cluster_id = p.status.cluster_id or (parent.cluster_id if parent else None)
        if parent is None or cluster_id is None:
            return None  # without its cluster there is nothing to call: NKS deleted it with it
        location = parent.location()
        return Location(location.region, location.credentials_secret, cluster_id)

    async def read_for_delete(
        self, account: Account, location: Location, nks_id: str
    ) -> str | None:
        assert location.cluster_id is not None
        try:
            groups = await account.poller.nodegroups_now(location.cluster_id)
        except errors.NotFoundError:
            return None  # the cluster is gone, and its node groups with it
        group = next((g for g in groups if g.uuid == nks_id), None)
        return None if group is None else group.status or ""

    def status_in(self, snapshot: ClusterSnapshot, nks_id: str) -> str | None:
        group = None if snapshot.gone else snapshot.nodegroup_by_uuid(nks_id)
        return None if group is None else group.status or ""

    async def delete(self, account: Account, location: Location, nks_id: str) -> bool:
        assert location.cluster_id is not None
        result = await account.client.delete_nodegroup(location.cluster_id, nks_id)
        return result is DeleteResult.ACCEPTED


async def _parent(p: NodeGroupPass, name: str) -> Parent | None:
    """The NKSCluster: as the watch delivered it, or read when not seen."""
    body = await p.around.cluster_object(name)
    return None if body is None else Parent(body)
