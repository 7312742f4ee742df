"""The NKSNodeGroup custom resource: one extra worker node group of an NKSCluster."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from nks_operator.api.base import (
    AdoptionPolicy,
    CRDModel,
    DeletionPolicy,
    KubernetesVersion,
    LocalObjectReference,
    NKSName,
    UUIDString,
)
from nks_operator.api.status import ResourceStatus
from nks_operator.api.worker import WorkerSpec


class NKSNodeGroupSpec(WorkerSpec):
    """Desired state of an NKS node group."""

    node_count: Annotated[int, Field(ge=0, le=100)] = 1
    """Desired number of nodes (ignored while the autoscaler is on); 0 keeps the group
    without nodes. NKS allows up to 10 unless the project's quota was raised."""
    cluster_ref: LocalObjectReference
    """The NKSCluster (same namespace) this group belongs to (immutable)."""
    node_group_name: NKSName | None = None
    """Name in NKS; defaults to metadata.name (immutable)."""
    kubernetes_version: KubernetesVersion | None = None
    """Pin the group to this version; absent means follow the cluster's version."""
    stopped_nodes: Annotated[list[UUIDString], Field(max_length=100)] = Field(default_factory=list)
    """Node instance UUIDs to keep stopped; removing one starts it again."""
    deletion_policy: DeletionPolicy = "Delete"
    """Delete: deleting this resource deletes the node group in NKS. Retain: leave it."""
    node_group_id: Annotated[UUIDString | None, Field(alias="nodeGroupID")] = None
    """Adopt this existing node group (UUID) instead of creating one."""
    adoption: AdoptionPolicy | None = None
    """ByName: when the cluster already has a node group of this resource's NKS name,
    manage it instead of reporting NodeGroupNameInUse. Unset: only nodeGroupID adopts."""


class NKSNodeGroupStatus(ResourceStatus):
    """Observed state of an NKS node group."""

    node_group_id: Annotated[str | None, Field(alias="nodeGroupID")] = None
    """UUID of the node group in NKS."""
    cluster_id: Annotated[str | None, Field(alias="clusterID")] = None
    """UUID of the NKS cluster it belongs to."""
    stopped_nodes: list[str] = Field(default_factory=list)
    """Node instance UUIDs currently stopped by the operator."""


class NKSNodeGroup(CRDModel):
    """Kind NKSNodeGroup (for typing the body the operator receives)."""

    model_config = CRDModel.model_config | {"extra": "ignore"}

    spec: NKSNodeGroupSpec
    status: NKSNodeGroupStatus = Field(default_factory=NKSNodeGroupStatus)
