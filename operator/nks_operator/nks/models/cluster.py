"""Cluster payloads: the cluster itself, its create request and cluster-level actions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, PlainSerializer

from nks_operator.nks.models.base import (
    AddressList,
    LooseBool,
    LooseInt,
    NKSAnswer,
    NKSModel,
    NullAsEmptyList,
    OptLabelInt,
    OptLooseBool,
    OptLooseInt,
    OptTimestamp,
    empty_as_shared,
)
from nks_operator.nks.models.health import Freshness, HealthReason, freshness
from nks_operator.nks.models.labels import ClusterCreateLabels, ClusterLabels
from nks_operator.nks.models.status import StatusMixin

CLUSTER_TEMPLATE_ID = "iaas_console"


class Cluster(StatusMixin, NKSAnswer):
    """A cluster as listed or fetched (the list answer carries fewer fields).

    An unreadable field is None (a list: None, not empty) and named in `unreadable`.
    """

    uuid: str
    name: str | None = None
    status: str | None = None
    status_reason: str | None = None
    health_status: str | None = None  # documented FRESH/STALE/ROTTEN; examples: HEALTHY
    health_status_reason: Any = None  # raw: read it through `health_reason`
    api_address: str | None = None
    coe_version: str | None = None
    node_count: OptLooseInt = None
    node_addresses: AddressList = []
    master_addresses: AddressList = []
    flavor_id: str | None = None
    keypair: str | None = None
    stack_id: str | None = None
    project_id: str | None = None
    user_id: str | None = None
    fixed_network: str | None = None
    fixed_subnet: str | None = None
    floating_ip_enabled: OptLooseBool = None
    cluster_template_id: str | None = None
    create_timeout: OptLooseInt = None
    created_at: OptTimestamp = None
    updated_at: OptTimestamp = None
    labels: Annotated[ClusterLabels, empty_as_shared(ClusterLabels)] = Field(
        default_factory=ClusterLabels.empty
    )

    @property
    def kubernetes_version(self) -> str | None:
        """The control plane's version: `labels.kube_tag`, else `coe_version`."""
        return self.labels.kube_tag or self.coe_version

    @property
    def health(self) -> Freshness | None:
        """`health_status` when it is one of the documented values; None otherwise (absent,
        or another value such as the examples' `HEALTHY`, kept in `health_status`)."""
        return freshness(self.health_status)

    @property
    def health_reason(self) -> HealthReason | None:
        """`health_status_reason` parsed (nested or flat dotted keys); None when absent."""
        return HealthReason.parse(self.health_status_reason)

    @property
    def platform_version(self) -> str | None:
        """The control plane's NKS platform version (`labels.platform_version`)."""
        return self.labels.platform_version

    @property
    def upgradable_versions(self) -> list[str] | None:
        """Versions the control plane can move to (`labels.upgradable_kube_versions`, a
        hint); None when NKS does not show them."""
        return self.labels.upgradable_kube_versions


class Addon(NKSModel):
    """An add-on installed at creation, e.g. `calico` with options `{"mode": "vxlan"}`; a
    catalogue name and version (`NKSClient.list_addon_catalogue`)."""

    name: str
    version: str
    options: dict[str, str] | None = None  # string values, as NHN's provider sends them


class ClusterCreateRequest(NKSModel):
    """The body of "Create a Cluster" (`cluster_template_id` is always "iaas_console").

    `addons` and `api_ep_ipacl` are newer than the guide (docs/nks-api-notes.md,
    "Create"): sent only when set. The current edition's settings (node labels, metric
    autoscaler, floating IP auto-bind, `ca_pod_replicas`, control-plane logs, `skm`) are
    labels (`ClusterCreateLabels`).
    """

    name: str
    keypair: str
    flavor_id: str
    fixed_network: str
    fixed_subnet: str
    labels: ClusterCreateLabels
    node_count: LooseInt = 1  # documented as String, sent as a number
    cluster_template_id: Literal["iaas_console"] = "iaas_console"
    create_timeout: OptLooseInt = None  # minutes
    addons: list[Addon] | None = None
    api_ep_ipacl: IPACLUpdate | None = None


class ResizeRequest(NKSModel):
    nodegroup: str
    node_count: LooseInt
    nodes_to_remove: list[str] | None = None


class CNIUpdateRequest(NKSModel):
    cni: str = "calico"
    pod_cidr: str
    pod_subnet: OptLabelInt = None  # documented as String
    num_buffer_nodes: OptLooseInt = None
    num_max_unavailable_nodes: OptLooseInt = None


def _ipacl_enable(value: bool) -> str:
    return "true" if value else "false"


# The guide: `enable` "can be set to either 'true' or 'false'".
IPACLEnable = Annotated[
    LooseBool, PlainSerializer(_ipacl_enable, return_type=str, when_used="json-unless-none")
]


IPACLAction = Literal["ALLOW", "DENY"]


class IPACLTarget(NKSModel):
    """One address or CIDR; the guide's `descripion` typo is read too."""

    cidr_address: str
    description: str | None = Field(
        default=None, validation_alias=AliasChoices("description", "descripion")
    )


class IPACLUpdate(NKSModel):
    """The body of "Enforce IP Access Control" (`action` is the guide's "Endpoint stage ID")."""

    enable: IPACLEnable
    action: IPACLAction | None = None
    ipacl_targets: list[IPACLTarget] | None = None


class IPACL(NKSAnswer):
    """The API endpoint's IP access control; `enable` False means open to all.

    An unreadable `enable` or target list is None (unknown), never False or empty.
    """

    cluster_uuid: str | None = None
    enable: OptLooseBool = False
    action: str | None = None
    ipacl_targets: Annotated[list[IPACLTarget] | None, NullAsEmptyList] = []


class CertificateRenewal(NKSModel):
    term_of_validity: LooseInt  # years, 1..5


class ServiceGatewayUpdate(NKSModel):
    """Both gateways, always: the guide requires both (the unchanged one at its value)."""

    ncr_sgw: str
    obs_sgw: str


ClusterCreateRequest.model_rebuild()
