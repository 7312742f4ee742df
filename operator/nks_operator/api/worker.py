"""Worker node group fields shared by `NKSCluster.spec.defaultWorker` and `NKSNodeGroup`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from nks_operator.api.base import CRDModel, SecretKeyReference, UUIDString

NodeCount = Annotated[int, Field(ge=1, le=100)]  # the default worker group keeps a node


class BootVolume(CRDModel):
    type: Annotated[str, Field(min_length=1, max_length=64)]
    """Block storage type name of the boot volume, e.g. "General HDD" or "General SSD"."""
    size_gb: Annotated[int, Field(alias="sizeGB", ge=10, le=1000)] = 50
    """Boot volume size in GB."""
    key_id: Annotated[str | None, Field(alias="keyID", max_length=128)] = None
    """Symmetric key ID for an encrypted boot volume (Secure Key Manager)."""
    app_key_secret_ref: SecretKeyReference | None = None
    """Secret key holding the Secure Key Manager appkey of `keyID` (never put it in the spec)."""


class ScaleDown(CRDModel):
    enabled: bool = True
    """Let the autoscaler remove unneeded nodes."""
    unneeded_time_minutes: Annotated[int, Field(ge=1, le=1440)] = 10
    """How long a node must be unneeded before it is removed (minutes)."""
    utilization_threshold_percent: Annotated[int, Field(ge=1, le=100)] = 50
    """Resource utilization below which a node counts as unneeded (percent)."""
    delay_after_add_minutes: Annotated[int, Field(ge=1, le=1440)] = 10
    """How long after a scale-up scale-down evaluation resumes (minutes). NHN's user guide
    gives 10..1440; the API guide's own example sends 3, so lower values are passed on and
    NKS decides (docs/nks-api-notes.md, "Cluster-autoscaler fields")."""


class Autoscaler(CRDModel):
    enabled: bool = False
    """Turn on the NKS cluster autoscaler for this group. While it is on, the operator
    reports the node count the autoscaler chose and never resizes the group itself."""
    min_nodes: Annotated[int, Field(ge=1, le=100)] = 1
    """Smallest node count the autoscaler may choose."""
    max_nodes: Annotated[int, Field(ge=1, le=100)] = 10
    """Largest node count the autoscaler may choose."""
    scale_down: ScaleDown = Field(default_factory=ScaleDown)
    """Scale-down behaviour."""

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Autoscaler:
        if self.min_nodes > self.max_nodes:
            raise ValueError(
                f"autoscaler.minNodes ({self.min_nodes}) exceeds maxNodes ({self.max_nodes})"
            )
        return self


class AdditionalNetwork(CRDModel):
    network_id: Annotated[UUIDString, Field(alias="networkID")]
    """VPC network UUID of an additional network attached to every node."""
    subnet_id: Annotated[UUIDString, Field(alias="subnetID")]
    """VPC subnet UUID in that network."""


class ExtraSecurityGroup(CRDModel):
    target_subnet_id: Annotated[UUIDString, Field(alias="targetSubnetID")]
    """Subnet UUID the security groups apply to."""
    security_group_ids: Annotated[
        list[UUIDString], Field(alias="securityGroupIDs", min_length=1, max_length=8)
    ]
    """Security group UUIDs added to the nodes' ports in that subnet (at most 8)."""


class ExtraVolume(CRDModel):
    type: Annotated[str, Field(min_length=1, max_length=64)]
    """Block storage type name, e.g. "General HDD"."""
    size_gb: Annotated[int, Field(alias="sizeGB", ge=1, le=2048)]
    """Size in GB (NKS lets a volume grow, never shrink)."""
    mount_path: Annotated[str | None, Field(max_length=255, pattern=r"^/")] = None
    """Where the volume is mounted on the node."""
    key_id: Annotated[str | None, Field(alias="keyID", max_length=128)] = None
    """Symmetric key ID for an encrypted volume."""
    app_key_secret_ref: SecretKeyReference | None = None
    """Secret key holding the appkey of `keyID`."""


class Rollout(CRDModel):
    buffer_nodes: Annotated[int, Field(ge=0, le=100)] = 1
    """Extra nodes created while nodes are replaced (flavor change, upgrade)."""
    max_unavailable_nodes: Annotated[int, Field(ge=1, le=100)] = 1
    """Nodes replaced at a time."""


class WorkerSpec(CRDModel):
    """Fields of a worker node group, as in the NKS guide's "Create a Node Group"."""

    flavor_id: Annotated[UUIDString, Field(alias="flavorID")]
    """Instance flavor UUID of the nodes. Changing it rolls the nodes (flavor change)."""
    image_id: Annotated[UUIDString, Field(alias="imageID")]
    """Base image UUID of the nodes (immutable)."""
    availability_zone: Annotated[str, Field(min_length=1, max_length=64)]
    """Availability zone of the nodes, e.g. kr2-pub-b (immutable)."""
    node_count: NodeCount = 1
    """Desired number of nodes (ignored while the autoscaler is on). NKS allows 1..10
    unless the project's quota was raised."""
    boot_volume: BootVolume
    """Boot volume of each node (immutable)."""
    autoscaler: Autoscaler | None = None
    """Cluster autoscaler settings; absent means off."""
    user_script: Annotated[str | None, Field(max_length=65536)] = None
    """Script run on each node at boot, as plain text (sent base64-encoded as NKS's
    user_script_v2)."""
    additional_networks: Annotated[list[AdditionalNetwork], Field(max_length=8)] = Field(
        default_factory=list
    )
    """Extra VPC networks attached to every node (immutable)."""
    extra_security_groups: Annotated[list[ExtraSecurityGroup], Field(max_length=16)] = Field(
        default_factory=list
    )
    """Additional security groups per subnet for the nodes (immutable)."""
    extra_volumes: Annotated[list[ExtraVolume], Field(max_length=3)] = Field(default_factory=list)
    """Additional block storage volumes per node, at most 3 (immutable)."""
    rollout: Rollout = Field(default_factory=Rollout)
    """How nodes are replaced during a flavor change or an upgrade."""
    nodes_to_remove: Annotated[list[UUIDString], Field(max_length=100)] = Field(
        default_factory=list
    )
    """Node instance UUIDs to remove first when `nodeCount` goes down (else NKS picks)."""
