"""Cluster and node group labels: Magnum's string map where NKS keeps most settings.

Each label has a typed field: booleans and numbers are read from any shape and written
as the strings the guide documents, colon-joined id lists are `list[str]` fields named
`*_ids` (the wire name stays the alias), and `extra_security_groups` / `extra_volumes`
are arrays of objects. An answer keeps only the labels modelled here; a request sends
any other label it is given.

Answers carry labels as a string map (docs/nks-api-notes.md, "Labels"): any label may be
missing, `""`, JSON text or another JSON type. Response classes have every field optional
and absorb an odd value into an unknown (None) field; the `*CreateLabels` request classes
require what the guide requires and refuse what they cannot send.

The current edition's labels (docs/nks-api-notes.md, "The current edition"): node labels
(`k8s_node_labels`), the metric autoscaler (`mba_scale_out` / `mba_scale_in`), floating IP
auto-bind (`fip_*`), `ca_pod_replicas`, control-plane logs (`control_plane_log`) and etcd
encryption (`skm`) are sent at create, objects as JSON text; answers also show
`platform_version`, `upgradable_kube_versions` and, on node groups, `node_list`. How
answers show `k8s_node_labels`, `fip_*` and `control_plane_log` is unknown: absent or
unreadable, they are None (unknown), never "off".
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field

from nks_operator.nks.models.base import (
    ColonList,
    CommaList,
    JsonList,
    JsonObjectText,
    JsonStringList,
    JsonTextSerializer,
    LabelBool,
    LabelInt,
    LooseInt,
    NKSAnswer,
    NKSModel,
    OptLabelBool,
    OptLabelInt,
    OptLooseInt,
    WireSecret,
)
from nks_operator.nks.models.control_plane_log import (
    ControlPlaneLogLabel,
    ControlPlaneLogStateLabel,
)
from nks_operator.nks.models.metric_autoscaler import (
    MetricPolicyLabel,
    ScaleInLabel,
    ScaleOutLabel,
)
from nks_operator.nks.models.node_labels import NodeLabelMap, NodeLabelsToSend


class ExtraSecurityGroup(NKSModel):
    """Extra security groups for the nodes' ports on one subnet."""

    target_subnet: str
    security_group_ids: CommaList  # comma-joined on the wire (not colon-joined)


class ExtraVolume(NKSModel):
    """An additional block storage volume per node (at most 3 per group; grow-only)."""

    volume_type: str
    volume_size: LooseInt  # a JSON number on the wire
    volume_key_id: str | None = None
    volume_appkey: WireSecret | None = None
    volume_mount_path: str | None = None


class SkmKey(NKSModel):
    """etcd encryption: the SKM symmetric key (`labels.skm`, JSON text); set at create only."""

    key_id: str


SkmLabel = Annotated[SkmKey | None, JsonObjectText, JsonTextSerializer]


# `""` reads as no entries, `"null"`/null as unset; other text or types are unreadable.
ExtraSecurityGroups = Annotated[list[ExtraSecurityGroup] | None, JsonList]
ExtraVolumes = Annotated[list[ExtraVolume] | None, JsonList]


class AutoscalerLabels(NKSAnswer):
    """The `ca_*` labels: a worker group's cluster autoscaler settings."""

    ca_enable: OptLabelBool = None
    ca_max_node_count: OptLabelInt = None
    ca_min_node_count: OptLabelInt = None
    ca_scale_down_enable: OptLabelBool = None
    ca_scale_down_unneeded_time: OptLabelInt = None  # minutes
    ca_scale_down_util_thresh: OptLabelInt = None  # percent
    ca_scale_down_delay_after_add: OptLabelInt = None  # minutes
    ca_pod_replicas: OptLabelInt = None  # cluster-autoscaler pods; range and default unknown


class WorkerLabels(AutoscalerLabels):
    """Labels describing a worker node group's nodes."""

    availability_zone: str | None = None
    node_image: str | None = None
    boot_volume_type: str | None = None  # the volume type name, e.g. "General HDD"
    boot_volume_size: OptLabelInt = None  # GB
    boot_volume_key_id: str | None = None
    boot_volume_appkey: WireSecret | None = None
    user_script: str | None = None
    user_script_v2: str | None = None
    additional_network_ids: ColonList | None = Field(
        default=None,
        validation_alias="additional_network_id_list",
        serialization_alias="additional_network_id_list",
    )
    additional_subnet_ids: ColonList | None = Field(
        default=None,
        validation_alias="additional_subnet_id_list",
        serialization_alias="additional_subnet_id_list",
    )
    extra_security_groups: ExtraSecurityGroups = None
    extra_volumes: ExtraVolumes = None
    k8s_node_labels: NodeLabelMap = None  # Kubernetes labels of the group's nodes
    mba_scale_out: MetricPolicyLabel = None  # the metric autoscaler's policies
    mba_scale_in: MetricPolicyLabel = None
    fip_auto_bind_enable: OptLabelBool = None
    fip_bind_subnet: str | None = None
    fip_selector: str | None = None


class VersionLabels(NKSAnswer):
    """What a cluster's or a node group's labels say of its versions."""

    kube_tag: str | None = None  # the Kubernetes version, e.g. "v1.27.3"
    platform_version: str | None = None  # NKS platform version, e.g. "1.202511.0"
    kube_version_status: str | None = None  # e.g. "LATEST", "NEED_UPGRADE"
    # Versions the control plane (a group: the group) can move to; a hint, /v1/supports
    # stays the source of versions.
    upgradable_kube_versions: JsonStringList = None


class ClusterLabels(WorkerLabels, VersionLabels):
    """A cluster's labels: cluster-wide settings plus its default worker group's."""

    external_network_id: str | None = None
    external_subnet_ids: ColonList | None = Field(
        default=None,
        validation_alias="external_subnet_id_list",
        serialization_alias="external_subnet_id_list",
    )
    cert_manager_api: OptLabelBool = None
    master_lb_floating_ip_enabled: OptLabelBool = None
    strict_sg_rules: OptLabelBool = None
    cni_driver: str | None = None
    service_cluster_ip_range: str | None = None
    pods_network_cidr: str | None = None
    pods_network_subnet: OptLooseInt = None  # the one numeric label sent as a number
    ncr_sgw: str | None = None
    obs_sgw: str | None = None
    term_of_validity: OptLabelInt = None  # certificate validity, years
    certificate_expiry: str | None = None  # opaque: the guide does not give its format
    clusterautoscale: str | None = None
    api_ep_ipacl_enable: OptLabelBool = (
        None  # seen in live answers; the ACL itself: GET api_ep_ipacl
    )
    upgradable_platform_version: str | None = None  # opaque (Live: empty)
    nks_registry_url: str | None = None  # Live: present once the NKS registry is enabled
    skm: SkmLabel = None
    control_plane_log: ControlPlaneLogStateLabel = None


class NodeGroupLabels(WorkerLabels, VersionLabels):
    """A node group's labels: its own worker settings and versions. NKS copies the
    cluster-wide labels into them too; those are read from the cluster's answer and
    dropped here (the poller holds thousands of group answers)."""

    # The group's node instance (compute server) UUIDs, colon-joined (Live, undocumented):
    # a hint that narrows the server join, never the only source of node identity.
    node_ids: ColonList | None = Field(
        default=None, validation_alias="node_list", serialization_alias="node_list"
    )


class ClusterCreateLabels(ClusterLabels):
    """Labels of "Create a Cluster"; the default worker group's settings live here too."""

    # A request: refuse what cannot be sent, send what it is given.
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    _absorbs: ClassVar[bool] = False

    availability_zone: str
    node_image: str
    boot_volume_type: str
    boot_volume_size: LabelInt
    kube_tag: str
    master_lb_floating_ip_enabled: LabelBool
    cert_manager_api: LabelBool = True  # the guide: must be "True"
    ca_enable: LabelBool = False
    clusterautoscale: str | None = "nodegroupfeature"  # as in the guide's example
    # The current edition's settings, checked and sent as JSON text.
    k8s_node_labels: NodeLabelsToSend = None
    # A request sends the strict policy where an answer reads a loose state (pydantic
    # takes the subclass's field).
    mba_scale_out: ScaleOutLabel = None  # type: ignore[assignment]
    mba_scale_in: ScaleInLabel = None  # type: ignore[assignment]
    control_plane_log: ControlPlaneLogLabel = None  # type: ignore[assignment]  # app key: wire only


class NodeGroupCreateLabels(WorkerLabels):
    """Labels of "Create a Node Group" (the image goes in the top-level `image_id`)."""

    # A request: refuse what cannot be sent, send what it is given.
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    _absorbs: ClassVar[bool] = False

    availability_zone: str
    boot_volume_type: str
    boot_volume_size: LabelInt
    ca_enable: LabelBool = False
    # The current edition's settings, checked and sent as JSON text.
    k8s_node_labels: NodeLabelsToSend = None
    # A request narrows the answer's loose state to the policy it sends (as above).
    mba_scale_out: ScaleOutLabel = None  # type: ignore[assignment]
    mba_scale_in: ScaleInLabel = None  # type: ignore[assignment]
