"""Node group payloads: the node group, its create request and node group actions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from nks_operator.nks.models.base import (
    AddressList,
    ColonList,
    LooseBool,
    LooseInt,
    NKSAnswer,
    NKSModel,
    OptLooseBool,
    OptLooseInt,
    OptTimestamp,
    empty_as_shared,
)
from nks_operator.nks.models.labels import NodeGroupCreateLabels, NodeGroupLabels
from nks_operator.nks.models.status import StatusMixin

DEFAULT_WORKER = "default-worker"
DEFAULT_MASTER = "default-master"  # the control plane; only usable as an upgrade target


class NodeGroup(StatusMixin, NKSAnswer):
    """A node group as listed, fetched or just created (lists carry fewer fields).

    The guide's answer has `node_addresses` and no per-node list: node instances are
    compute servers (see `nks.compute`). An unreadable field is None and named in
    `unreadable`.
    """

    uuid: str
    name: str | None = None
    cluster_id: str | None = None
    role: str | None = None
    is_default: OptLooseBool = None
    status: str | None = None
    status_reason: str | None = None
    flavor_id: str | None = None
    image_id: str | None = None
    node_count: OptLooseInt = None
    min_node_count: OptLooseInt = None
    max_node_count: OptLooseInt = None
    node_addresses: AddressList = []
    stack_id: str | None = None
    project_id: str | None = None
    version: str | None = None
    created_at: OptTimestamp = None
    updated_at: OptTimestamp = None
    labels: Annotated[NodeGroupLabels, empty_as_shared(NodeGroupLabels)] = Field(
        default_factory=NodeGroupLabels.empty
    )

    @property
    def is_control_plane(self) -> bool:
        """`default-master` (or role master): its GET answers 403, no operation but an
        upgrade targets it."""
        return (self.name or self.uuid) == DEFAULT_MASTER or self.role == "master"

    @property
    def kubernetes_version(self) -> str | None:
        """The group's Kubernetes version (`labels.kube_tag`)."""
        return self.labels.kube_tag

    @property
    def node_ids(self) -> list[str] | None:
        """The group's node instance UUIDs from the undocumented `node_list` label: a hint
        (None when NKS does not show it), never the only source of node identity."""
        return self.labels.node_ids

    @property
    def platform_version(self) -> str | None:
        return self.labels.platform_version


class NodeGroupCreateRequest(NKSModel):
    """The body of "Create a Node Group"; the current edition's settings (node labels,
    metric autoscaler, floating IP auto-bind, `ca_pod_replicas`) are labels
    (`NodeGroupCreateLabels`)."""

    name: str
    flavor_id: str
    image_id: str
    labels: NodeGroupCreateLabels
    node_count: LooseInt = 1


class NodeListRequest(NKSModel):
    """stop_node / start_node: node instance UUIDs, colon-joined on the wire."""

    node_list: ColonList


class AutoscalerConfig(NKSAnswer):
    """A node group's autoscaler settings as NKS reports them (bools/numbers in any shape)."""

    ca_enable: OptLooseBool = False
    ca_max_node_count: OptLooseInt = None
    ca_min_node_count: OptLooseInt = None
    ca_scale_down_enable: OptLooseBool = None
    ca_scale_down_unneeded_time: OptLooseInt = None  # minutes
    ca_scale_down_util_thresh: OptLooseInt = None  # percent
    ca_scale_down_delay_after_add: OptLooseInt = None  # minutes
    ca_pod_replicas: OptLooseInt = None  # the current edition's autoscaler pods


class AutoscalerUpdate(NKSModel):
    """The body of "Change Autoscaler Configuration".

    The guide's table says String but its example sends JSON booleans and numbers; we
    follow the example (the shape NKS itself answers with), unset fields left out.
    """

    ca_enable: LooseBool
    ca_max_node_count: OptLooseInt = None
    ca_min_node_count: OptLooseInt = None
    ca_scale_down_enable: OptLooseBool = None
    ca_scale_down_unneeded_time: OptLooseInt = None
    ca_scale_down_util_thresh: OptLooseInt = None
    ca_scale_down_delay_after_add: OptLooseInt = None
    ca_pod_replicas: OptLooseInt = None


class RollingUpdateRequest(NKSModel):
    """Shared by upgrade and flavor change, which both roll the group's nodes."""

    num_buffer_nodes: OptLooseInt = None  # default 1 at NKS
    num_max_unavailable_nodes: OptLooseInt = None  # default 1 at NKS


class UpgradeRequest(RollingUpdateRequest):
    version: str


class FlavorChangeRequest(RollingUpdateRequest):
    type: Literal["flavor_id"] = "flavor_id"
    flavor_id: str


class UserScriptUpdate(NKSModel):
    """`contents` is the encoded script (see `nks.userscript`)."""

    contents: str
