"""The two kinds as Kubernetes sees them: names, scope, printer columns, models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from nks_operator.api.cluster import NKSClusterSpec, NKSClusterStatus
from nks_operator.api.nodegroup import NKSNodeGroupSpec, NKSNodeGroupStatus
from nks_operator.api.ownership import NKSOwnershipSpec

GROUP = "nks.nhncloud.com"
VERSION = "v1alpha1"
CATEGORY = "nks"


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    type: str
    json_path: str
    description: str
    priority: int = 0


@dataclass(frozen=True)
class Resource:
    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    description: str
    spec_model: type[BaseModel]
    status_model: type[BaseModel] | None
    printer_columns: tuple[PrinterColumn, ...] = field(default_factory=tuple)
    scope: Literal["Namespaced", "Cluster"] = "Namespaced"
    categories: tuple[str, ...] = (CATEGORY,)

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


_READY = PrinterColumn(
    "Ready", "string", '.status.conditions[?(@.type=="Ready")].status', "Ready condition"
)
_SYNCED = PrinterColumn(
    "Synced", "string", '.status.conditions[?(@.type=="Synced")].status', "Synced condition"
)
_SYNC_REASON = PrinterColumn(
    "Reason",
    "string",
    '.status.conditions[?(@.type=="Synced")].reason',
    "Why Synced is what it is (e.g. OperationRefused)",
    1,
)
_AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp", "Age")

CLUSTER = Resource(
    kind="NKSCluster",
    plural="nksclusters",
    singular="nkscluster",
    short_names=("nksc",),
    description="An NHN Kubernetes Service cluster with its default worker node group.",
    spec_model=NKSClusterSpec,
    status_model=NKSClusterStatus,
    printer_columns=(
        PrinterColumn("Phase", "string", ".status.phase", "Lifecycle phase"),
        PrinterColumn("Version", "string", ".status.kubernetesVersion", "Kubernetes version"),
        PrinterColumn("Nodes", "integer", ".status.nodeCount", "Default worker nodes"),
        _READY,
        _SYNCED,
        _SYNC_REASON,
        PrinterColumn("ClusterID", "string", ".status.clusterID", "NKS cluster UUID", 1),
        PrinterColumn("Endpoint", "string", ".status.apiAddress", "Kubernetes API", 1),
        _AGE,
    ),
)

NODEGROUP = Resource(
    kind="NKSNodeGroup",
    plural="nksnodegroups",
    singular="nksnodegroup",
    short_names=("nksng",),
    description="An extra worker node group of an NKSCluster.",
    spec_model=NKSNodeGroupSpec,
    status_model=NKSNodeGroupStatus,
    printer_columns=(
        PrinterColumn("Cluster", "string", ".spec.clusterRef.name", "NKSCluster"),
        PrinterColumn("Phase", "string", ".status.phase", "Lifecycle phase"),
        PrinterColumn("Version", "string", ".status.kubernetesVersion", "Kubernetes version"),
        PrinterColumn("Nodes", "integer", ".status.nodeCount", "Nodes"),
        _READY,
        _SYNCED,
        _SYNC_REASON,
        PrinterColumn("NodeGroupID", "string", ".status.nodeGroupID", "NKS node group UUID", 1),
        _AGE,
    ),
)

RESOURCES: tuple[Resource, ...] = (CLUSTER, NODEGROUP)
"""The kinds users write."""

OWNERSHIP = Resource(
    kind="NKSOwnership",
    plural="nksownerships",
    singular="nksownership",
    short_names=(),
    description=(
        "The operator's record of the one NKSCluster or NKSNodeGroup that manages an NKS "
        "cluster or node group. Written and deleted by the operator only."
    ),
    spec_model=NKSOwnershipSpec,
    status_model=None,
    printer_columns=(
        PrinterColumn("Resource", "string", ".spec.resource", "cluster or nodegroup"),
        PrinterColumn("Namespace", "string", ".spec.owner.namespace", "Owner's namespace"),
        PrinterColumn("Owner", "string", ".spec.owner.name", "Owner's name"),
        _AGE,
    ),
    scope="Cluster",
    categories=(),  # `kubectl get nks` lists what users manage, not the operator's records
)

CRD_RESOURCES: tuple[Resource, ...] = (*RESOURCES, OWNERSHIP)
"""Every CRD the operator needs installed."""
