"""What differs between NKSCluster and NKSNodeGroup, behind one interface.

The generic reconciler (control/reconciler.py) owns every rule both kinds share; an
adapter answers the kind-specific questions: where the resource lives in NKS, how to read
it from a poller snapshot and show it in status (the adapter itself); which NKS resource
it is, what is wrong with its spec, and how to create it, converge it on its spec and
delete it (the parts it hands out).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from nks_operator.api.base import SecretKeyReference
from nks_operator.api.resources import Resource
from nks_operator.api.status import CreationIntent, LastOperation, ResourceStatus
from nks_operator.kube.ownership import NKSResource
from nks_operator.nks.models import Cluster, NodeGroup
from nks_operator.polling.accounts import Account
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile.day2 import Plan
from nks_operator.reconcile.observed import Drift
from nks_operator.reconcile.outcome import Assessment, Problem
from nks_operator.reconcile.reasons import Reason

if TYPE_CHECKING:
    from nks_operator.control.passes import Pass

SpecT = TypeVar("SpecT", bound=BaseModel)
StatusT = TypeVar("StatusT", bound=ResourceStatus)
# What an adapter's own reads found in one pass, for its later hooks (a dataclass per kind).
FoundT = TypeVar("FoundT")


@dataclass(frozen=True)
class Location:
    """Where a resource lives in NKS, as far as a pass needs to know."""

    region: str
    credentials_secret: str | None
    # The NKS cluster whose poller snapshot holds the resource: the cluster itself (None
    # before it exists) or the node group's cluster.
    cluster_id: str | None

    def snapshot_id(self, nks_id: str) -> str:
        """The NKS cluster whose snapshot holds the resource `nks_id`: `cluster_id`, else
        (a cluster whose location was read before it existed) the cluster itself."""
        return self.cluster_id or nks_id


@dataclass(frozen=True)
class Observed:
    """The resource as NKS last reported it."""

    nks_id: str
    model: Cluster | NodeGroup
    snapshot: ClusterSnapshot
    # Parts of NKS's answers that could not be read: field -> what was wrong.
    unreadable: Mapping[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str | None:
        return self.model.status

    @property
    def status_reason(self) -> str | None:
        return self.model.status_reason


@dataclass(frozen=True)
class Facts(Generic[SpecT, StatusT, FoundT]):
    """The constants of a kind, as the generic steps need them."""

    resource: Resource
    spec_model: type[SpecT]
    status_model: type[StatusT]
    findings: Callable[[], FoundT]  # a new pass's empty findings (`Pass.found`)
    create_operation: str  # lastOperation.type of a create
    delete_operation: str
    not_found: Reason  # Ready's reason once NKS no longer has it
    name_in_use: Reason  # a create's name is another NKS resource's
    ready_reason: Reason  # Ready's reason while it is up
    noun: str  # "cluster" / "node group", for messages
    nks_resource: NKSResource  # what its NKSOwnership record and its NKS tasks name
    # Its NKS id names its NKS cluster (an NKSCluster), whose snapshot it is read from.
    nks_id_is_cluster_id: bool


class Identity(ABC, Generic[SpecT, StatusT]):
    """Which NKS resource an object manages: its id in status, the id its spec adopts, its
    name in NKS."""

    adoption_field: str  # "clusterID" / "nodeGroupID": adopt instead of create

    @abstractmethod
    def nks_id(self, status: StatusT) -> str | None: ...

    @abstractmethod
    def set_nks_id(self, status: StatusT, nks_id: str, location: Location) -> None: ...

    @abstractmethod
    def restore_id(self, status: StatusT, nks_id: str) -> None:
        """Put back the id the operator's ownership record names (status was rewritten)."""

    @abstractmethod
    def adoption_id(self, spec: SpecT) -> str | None:
        """`spec.clusterID` / `spec.nodeGroupID`: adopt instead of create."""

    def adoption_id_raw(self, raw_spec: Mapping[str, Any]) -> str | None:
        """The adoption id from a spec that may not validate (deletion reads it)."""
        value = raw_spec.get(self.adoption_field)
        return str(value) if value else None

    @abstractmethod
    def nks_name(self, spec: SpecT, metadata_name: str) -> str: ...


@dataclass(frozen=True)
class Checked:
    """What the checks of a spec found (`Checking.check`)."""

    problems: list[str]  # what NKS would refuse, and immutable fields that differ
    drift: list[Drift]  # fields NKS shows otherwise than the spec, which it cannot change
    unreadable: Mapping[str, str]  # parts of the inputs' answers that could not be read


class Checking(ABC, Generic[SpecT, StatusT, FoundT]):
    """What is wrong with a spec: the reads the checks need, then the checks
    (`reconciler.py`, before anything is created or sent)."""

    async def check(
        self,
        p: Pass[SpecT, StatusT, FoundT],
        account: Account,
        supported: Mapping[str, bool],
        observed: Observed | None,
    ) -> Checked:
        """The inputs read, then the spec checked against them, the supported versions and
        what NKS shows (None: not created yet); raises what an NKS read raised."""
        unreadable = await self.inputs(p, account, observed)
        problems, drift = self.problems(p, supported, observed)
        return Checked(problems, drift, unreadable)

    async def inputs(
        self, p: Pass[SpecT, StatusT, FoundT], account: Account, observed: Observed | None
    ) -> Mapping[str, str]:
        """Reads the spec checks need besides the snapshot and the supported versions (the
        add-on catalogue), made before `problems`; returns the parts of their answers that
        could not be read (field -> what was wrong)."""
        return {}

    @abstractmethod
    def problems(
        self,
        p: Pass[SpecT, StatusT, FoundT],
        supported: Mapping[str, bool],
        observed: Observed | None,
    ) -> tuple[list[str], list[Drift]]:
        """Spec problems NKS would refuse, and immutable fields that differ from NKS."""


class Creating(ABC, Generic[SpecT, StatusT, FoundT]):
    """How a kind is created in NKS; `creation.py` calls these in this order."""

    @abstractmethod
    async def existing(
        self, p: Pass[SpecT, StatusT, FoundT], account: Account, location: Location, name: str
    ) -> list[str]:
        """Ids of NKS resources that already carry `name`."""

    @abstractmethod
    async def find_created(
        self,
        p: Pass[SpecT, StatusT, FoundT],
        account: Account,
        location: Location,
        intent: CreationIntent,
    ) -> str | None:
        """The id of what our own create made (after a crash or a lost answer)."""

    def create_blocker(
        self, p: Pass[SpecT, StatusT, FoundT], location: Location, snapshot: ClusterSnapshot | None
    ) -> str | None:
        """Why the create must wait (another operation of the cluster runs), if it must."""
        return None

    @abstractmethod
    def secret_refs(self, spec: SpecT) -> list[SecretKeyReference]: ...

    async def created(
        self, p: Pass[SpecT, StatusT, FoundT], secrets: Mapping[tuple[str, str], str] | None
    ) -> None:
        """Bookkeeping once NKS accepted the create: what it carried (`secrets`: the values
        the create was sent with; None when it is found after a lost answer)."""
        return None

    @abstractmethod
    async def create(
        self,
        account: Account,
        location: Location,
        spec: SpecT,
        name: str,
        secrets: Mapping[tuple[str, str], str],
    ) -> str:
        """Send the create; returns the new id."""


class Converging(ABC, Generic[SpecT, StatusT, FoundT]):
    """How a created resource converges on its spec: the reads the plan needs, the plan,
    how an operation is followed and the bookkeeping around it (`reconciler.py`,
    `operations.py`)."""

    async def prepare(
        self, p: Pass[SpecT, StatusT, FoundT], account: Account, observed: Observed
    ) -> Mapping[str, str]:
        """Reads the plan needs besides the snapshot (the cluster's IP ACL); returns the
        parts of those answers that could not be read (field -> what was wrong)."""
        return {}

    @abstractmethod
    def plan(
        self,
        p: Pass[SpecT, StatusT, FoundT],
        observed: Observed,
        supported: Mapping[str, bool],
        location: Location,
    ) -> Plan: ...

    def still_wanted(
        self, p: Pass[SpecT, StatusT, FoundT], observed: Observed, plan: Plan, last: LastOperation
    ) -> bool:
        """Whether NKS's state does not show the change `last` sent yet, so that it would be
        sent again (how a state-confirmed operation is confirmed): by default, the plan's
        next operation is that one."""
        return plan.wants(last.type, last.target)

    @abstractmethod
    def operation_status(
        self, p: Pass[SpecT, StatusT, FoundT], observed: Observed, target: str | None
    ) -> str | None:
        """The NKS status an operation is followed by: its target's (node group name,
        control plane, cluster), or what the adapter read itself besides the snapshot (an
        add-on's own status)."""

    async def when_stable(
        self, p: Pass[SpecT, StatusT, FoundT], account: Account, observed: Observed
    ) -> Problem | None:
        """Kubernetes-side work once NKS is stable (kubeconfig and Argo CD Secrets); a
        problem it reports shows on Synced without stopping the pass."""
        return None

    def after_send(
        self, p: Pass[SpecT, StatusT, FoundT], operation: str, args: Mapping[str, Any]
    ) -> None:
        """Bookkeeping right after an operation was sent."""
        return None

    def after_success(
        self, p: Pass[SpecT, StatusT, FoundT], account: Account, operation: str
    ) -> None:
        """Bookkeeping once an operation is confirmed."""
        return None


class Deleting(ABC, Generic[SpecT, StatusT, FoundT]):
    """How a kind is deleted in NKS (`deletion.py`)."""

    @abstractmethod
    async def locate_for_delete(self, p: Pass[SpecT, StatusT, FoundT]) -> Location | None:
        """Where the resource lives (`Adapter.locate`), from a spec that may be invalid;
        None: nothing in NKS can be reached any more (the parent cluster is gone)."""

    @abstractmethod
    async def read_for_delete(
        self, account: Account, location: Location, nks_id: str
    ) -> str | None:
        """NKS's status of the resource read fresh; None when it is gone (404)."""

    def status_in(self, snapshot: ClusterSnapshot, nks_id: str) -> str | None:
        """The same from the cluster's snapshot, detailed and free of unreadable answers
        (`deletion.py` decides when it is recent enough); this one: the cluster's."""
        return None if snapshot.gone else snapshot.status or ""

    @abstractmethod
    async def delete(self, account: Account, location: Location, nks_id: str) -> bool:
        """Send the delete; False when it was already gone."""

    async def released(self, p: Pass[SpecT, StatusT, FoundT]) -> None:
        """Kubernetes-side clean-up once the resource may go (the Argo CD Secret)."""
        return None


class Adapter(ABC, Generic[SpecT, StatusT, FoundT]):
    """A kind: its facts, where it lives, how it is observed and how NKS's answer shows in
    status; which NKS resource it is, checking its spec, creating, converging and deleting
    it are parts of their own."""

    facts: Facts[SpecT, StatusT, FoundT]
    identity: Identity[SpecT, StatusT]
    checking: Checking[SpecT, StatusT, FoundT]
    creating: Creating[SpecT, StatusT, FoundT]
    converging: Converging[SpecT, StatusT, FoundT]
    deleting: Deleting[SpecT, StatusT, FoundT]

    @abstractmethod
    async def locate(self, p: Pass[SpecT, StatusT, FoundT]) -> Location | Assessment:
        """Region, credentials and NKS cluster of the resource, or why a pass cannot know
        them yet (waiting for the parent cluster, an immutable field changed, ...)."""

    @abstractmethod
    def observe(self, snapshot: ClusterSnapshot, nks_id: str) -> Observed | None:
        """The resource in a snapshot; None when NKS does not list it."""

    @abstractmethod
    def report(self, p: Pass[SpecT, StatusT, FoundT], observed: Observed) -> None:
        """Copy what NKS reports into status."""
