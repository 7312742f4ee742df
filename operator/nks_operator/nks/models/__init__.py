"""Request and response payloads of the NKS API as pydantic v2 models.

Every model accepts unknown fields (NKS adds internal ones) and NKS's value quirks; request
models produce the guide's exact wire JSON with `to_wire()`.
"""

from nks_operator.nks.models.base import NKSAnswer, NKSModel
from nks_operator.nks.models.cluster import (
    CLUSTER_TEMPLATE_ID,
    IPACL,
    Addon,
    CertificateRenewal,
    Cluster,
    ClusterCreateRequest,
    CNIUpdateRequest,
    IPACLAction,
    IPACLTarget,
    IPACLUpdate,
    ResizeRequest,
    ServiceGatewayUpdate,
)
from nks_operator.nks.models.common import ActionResponse
from nks_operator.nks.models.events import TaskEvent
from nks_operator.nks.models.identity import TokenResponse
from nks_operator.nks.models.labels import (
    AutoscalerLabels,
    ClusterCreateLabels,
    ClusterLabels,
    ExtraSecurityGroup,
    ExtraVolume,
    NodeGroupCreateLabels,
    NodeGroupLabels,
    WorkerLabels,
)
from nks_operator.nks.models.nodegroup import (
    DEFAULT_MASTER,
    DEFAULT_WORKER,
    AutoscalerConfig,
    AutoscalerUpdate,
    FlavorChangeRequest,
    NodeGroup,
    NodeGroupCreateRequest,
    NodeListRequest,
    UpgradeRequest,
    UserScriptUpdate,
)
from nks_operator.nks.models.status import is_failed, is_in_progress, is_rolled_back, is_stable
from nks_operator.nks.models.supports import Supports, version_key

__all__ = [
    "CLUSTER_TEMPLATE_ID",
    "DEFAULT_MASTER",
    "DEFAULT_WORKER",
    "IPACL",
    "ActionResponse",
    "Addon",
    "AutoscalerConfig",
    "AutoscalerLabels",
    "AutoscalerUpdate",
    "CNIUpdateRequest",
    "CertificateRenewal",
    "Cluster",
    "ClusterCreateLabels",
    "ClusterCreateRequest",
    "ClusterLabels",
    "ExtraSecurityGroup",
    "ExtraVolume",
    "FlavorChangeRequest",
    "IPACLAction",
    "IPACLTarget",
    "IPACLUpdate",
    "NKSAnswer",
    "NKSModel",
    "NodeGroup",
    "NodeGroupCreateLabels",
    "NodeGroupCreateRequest",
    "NodeGroupLabels",
    "NodeListRequest",
    "ResizeRequest",
    "ServiceGatewayUpdate",
    "Supports",
    "TaskEvent",
    "TokenResponse",
    "UpgradeRequest",
    "UserScriptUpdate",
    "WorkerLabels",
    "is_failed",
    "is_in_progress",
    "is_rolled_back",
    "is_stable",
    "version_key",
]
