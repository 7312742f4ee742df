"""Worker node group fields shared by `NKSCluster.spec.defaultWorker` and `NKSNodeGroup`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from nks_operator.api.base import (
    CRDModel,
    LabelValue,
    SecretKeyReference,
    UUIDString,
    label_key_problem,
    map_key_error,
)
from nks_operator.nks.models.metric_autoscaler import (
    ADJUSTMENT_COUNT,
    DELAY_MINUTES,
    DURATION_MINUTES,
    MetricName,
)
from nks_operator.nks.models.node_labels import MAX_NODE_LABELS, RESERVED_PREFIX_DOMAINS

NodeCount = Annotated[int, Field(ge=1, le=100)]  # the default worker group keeps a node
# Cluster-autoscaler pods: NKS documents neither range nor default (its examples send 1);
# 1..10 is the project's assumption (docs/nks-api-notes.md, "ca_pod_replicas").
CA_POD_REPLICAS = (1, 10)
# Metric-based autoscaler: a rule per metric is plenty (NKS offers six metrics).
METRIC_RULES_MAX = 6
PERCENT_METRICS = ("GROUP_CPU_USAGE", "GROUP_MEMORY_USAGE")
THRESHOLD_MAX = 2**31 - 1  # NKS types it Integer and gives no range


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
    pod_replicas: Annotated[int | None, Field(ge=CA_POD_REPLICAS[0], le=CA_POD_REPLICAS[1])] = None
    """Number of cluster-autoscaler pods (NKS's ca_pod_replicas), sent while the autoscaler
    is enabled; absent leaves NKS's default. NKS documents no range: 1..10 is the
    operator's assumption."""

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Autoscaler:
        if self.min_nodes > self.max_nodes:
            raise ValueError(
                f"autoscaler.minNodes ({self.min_nodes}) exceeds maxNodes ({self.max_nodes})"
            )
        return self


class MetricRule(CRDModel):
    metric: MetricName
    """Metric of the whole group (the average over its nodes, sampled every minute):
    GROUP_CPU_USAGE and GROUP_MEMORY_USAGE in percent, GROUP_DISK_READ_BYTES,
    GROUP_DISK_WRITE_BYTES, GROUP_NETWORK_SENT_BYTES and GROUP_NETWORK_RECV_BYTES in bytes
    per second."""
    threshold: Annotated[int, Field(ge=0, le=THRESHOLD_MAX)]
    """Value the metric must pass (above it to scale out, below it to scale in): at most
    100 for the percent metrics; NKS documents no other range."""
    duration_minutes: Annotated[int, Field(ge=DURATION_MINUTES[0], le=DURATION_MINUTES[1])]
    """How long the threshold must hold before NKS scales (minutes)."""

    @model_validator(mode="after")
    def _percent_at_most_100(self) -> MetricRule:
        if self.metric in PERCENT_METRICS and self.threshold > 100:
            raise ValueError(f"{self.metric} is a percentage: threshold must be at most 100")
        return self


class ScalePolicy(CRDModel):
    enabled: bool = False
    """Turn this direction of the metric-based autoscaler on."""
    rules_operator: Literal["AND", "OR"] = "OR"
    """OR: any rule triggers a scaling; AND: all rules must hold."""
    delay_minutes: Annotated[int, Field(ge=DELAY_MINUTES[0], le=DELAY_MINUTES[1])] = 10
    """How long to wait after the previous scaling (minutes)."""
    adjustment_count: Annotated[int, Field(ge=ADJUSTMENT_COUNT[0], le=ADJUSTMENT_COUNT[1])] = 1
    """Nodes added (scale-out) or removed (scale-in) per scaling."""
    rules: Annotated[list[MetricRule], Field(max_length=METRIC_RULES_MAX)] = Field(
        default_factory=list
    )
    """When to scale, at most 6; at least one when enabled."""

    @model_validator(mode="after")
    def _rules_when_enabled(self) -> ScalePolicy:
        if self.enabled and not self.rules:
            raise ValueError("an enabled policy needs at least one rule")
        return self


class ScaleOutPolicy(ScalePolicy):
    max_nodes: Annotated[int, Field(ge=1, le=100)] = 10
    """Largest node count scale-out may reach. NKS allows 1..10 unless the project's quota
    was raised."""


class ScaleInPolicy(ScalePolicy):
    min_nodes: Annotated[int, Field(ge=1, le=100)] = 1
    """Smallest node count scale-in may reach (NKS removes the newest nodes first)."""


class MetricAutoscaler(CRDModel):
    scale_out: ScaleOutPolicy | None = None
    """Add nodes when the rules hold; absent means off."""
    scale_in: ScaleInPolicy | None = None
    """Remove nodes when the rules hold; absent means off."""

    @property
    def enabled(self) -> bool:
        """Either direction is on: NKS then refuses manual resizes and node stops."""
        return any(p is not None and p.enabled for p in (self.scale_out, self.scale_in))

    @model_validator(mode="after")
    def _min_not_above_max(self) -> MetricAutoscaler:
        out, scale_in = self.scale_out, self.scale_in
        if (
            out is not None
            and scale_in is not None
            and out.enabled
            and scale_in.enabled
            and scale_in.min_nodes > out.max_nodes
        ):
            raise ValueError(
                f"metricAutoscaler.scaleIn.minNodes ({scale_in.min_nodes}) exceeds "
                f"scaleOut.maxNodes ({out.max_nodes})"
            )
        return self


class FloatingIPAutoBind(CRDModel):
    enabled: bool = False
    """Give each new node a free floating IP of the project (NKS creates none: scaling can
    fail when none is free)."""
    subnet_id: Annotated[UUIDString | None, Field(alias="subnetID")] = None
    """Subnet whose interface gets the floating IP: the cluster's subnet
    (spec.network.subnetID) or one of this group's additionalNetworks subnets. Required
    when enabled."""
    selector: Annotated[str | None, Field(min_length=1, max_length=255)] = None
    """Which floating IPs may be used (NKS's fip_selector); absent: any free one."""

    @model_validator(mode="after")
    def _subnet_when_enabled(self) -> FloatingIPAutoBind:
        if self.enabled and self.subnet_id is None:
            raise ValueError("floatingIPAutoBind.subnetID is required when enabled")
        return self


def _check_node_label_key(key: str) -> str:
    problem = label_key_problem(key)
    prefix, slash, _ = key.rpartition("/")
    if problem is None and slash:
        reserved = [d for d in RESERVED_PREFIX_DOMAINS if prefix == d or prefix.endswith("." + d)]
        if reserved:
            problem = f"the prefix {prefix!r} is reserved by NKS ({reserved[0]} and its subdomains)"
    if problem is not None:
        raise map_key_error("node label key", key, problem)
    return key


NodeLabelKey = Annotated[str, AfterValidator(_check_node_label_key)]
"""A Kubernetes label key NKS lets a node group set: not under kubernetes.io, k8s.io or
magnum.openstack.org (docs/nks-api-notes.md, "Kubernetes node labels")."""
NodeLabels = Annotated[dict[NodeLabelKey, LabelValue], Field(max_length=MAX_NODE_LABELS)]


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
    node_labels: NodeLabels | None = None
    """Kubernetes labels NKS puts on the group's nodes (k8s_node_labels), at most 20. Only
    nodes created after a change get the new labels: NKS does not relabel running nodes.
    A key is an optional DNS subdomain prefix (at most 253 characters; not kubernetes.io,
    k8s.io, magnum.openstack.org or their subdomains) and `/`, then a name of at most 63
    letters, digits, `-`, `_` and `.`, beginning and ending with a letter or digit; a value
    is at most 63 such characters, or empty. Absent: NKS's labels are left alone; `{}`
    removes them all."""
    metric_autoscaler: MetricAutoscaler | None = None
    """NKS's metric-based autoscaler (scaling on CPU, memory, disk or network metrics);
    absent means off. While a policy is on, the operator reports the node count NKS chose
    and never resizes the group itself. It cannot be on together with `autoscaler`: the
    user guide's "Autoscaler cannot be enabled multiple times", read by the operator as one
    autoscaler per group."""
    floating_ip_auto_bind: Annotated[
        FloatingIPAutoBind | None, Field(alias="floatingIPAutoBind")
    ] = None
    """Floating IP auto-bind of new nodes; absent: NKS's setting is left alone. Only nodes
    created after a change are affected."""
