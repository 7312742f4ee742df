"""The NKSCluster custom resource: one NKS cluster with its default worker group."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from nks_operator.api.base import (
    K8S_NAME_PATTERN,
    LABEL_NAME_RULE,
    AdoptionPolicy,
    CRDModel,
    DeletionPolicy,
    KubernetesVersion,
    LabelKey,
    LabelValue,
    LocalObjectReference,
    NKSName,
    SecretKeyReference,
    UUIDString,
    is_label_name,
    map_key_error,
)
from nks_operator.api.status import ResourceStatus, StatusModel
from nks_operator.api.worker import WorkerSpec

REGIONS = ("kr1", "kr2", "kr3")


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


# NHN writes regions upper case ("KR1"): either case is accepted, the model holds lower case.
Region = Annotated[
    Literal["kr1", "kr2", "kr3"],
    BeforeValidator(_lower),
    WithJsonSchema({"type": "string", "enum": [*REGIONS, *(r.upper() for r in REGIONS)]}),
]
CNI = Literal["calico", "calico-ebpf"]
CIDR = Annotated[str, Field(pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$", max_length=18)]
IPOrCIDR = Annotated[str, Field(pattern=r"^\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?$", max_length=18)]

# Argo CD cluster Secret labels are Kubernetes labels; ApplicationSet cluster generators
# select on a few, so 32 is plenty and keeps one registration from bloating the Secret.
ARGOCD_LABELS_MAX = 32
# Add-on options are a few settings each (NKS documents `mode: vxlan` for calico): 16 per
# add-on, names like a label name, values a word or a short list.
ADDON_OPTIONS_MAX = 16
ADDON_OPTION_VALUE_MAX_LENGTH = 256


def _check_option_name(key: str) -> str:
    if not is_label_name(key):
        raise map_key_error("add-on option name", key, LABEL_NAME_RULE)
    return key


AddonOptionName = Annotated[str, AfterValidator(_check_option_name)]
AddonOptionValue = Annotated[str, Field(max_length=ADDON_OPTION_VALUE_MAX_LENGTH)]


class Network(CRDModel):
    vpc_network_id: Annotated[UUIDString, Field(alias="vpcNetworkID")]
    """VPC network UUID the nodes attach to (immutable)."""
    subnet_id: Annotated[UUIDString, Field(alias="subnetID")]
    """VPC subnet UUID of the nodes (immutable)."""
    external_network_id: Annotated[UUIDString | None, Field(alias="externalNetworkID")] = None
    """UUID of the VPC network attached to the internet gateway; needed when the subnet's
    router is attached to an internet gateway (immutable)."""
    external_subnet_ids: Annotated[
        list[UUIDString], Field(alias="externalSubnetIDs", max_length=16)
    ] = Field(default_factory=list)
    """Subnets of the internet gateway network (immutable)."""
    pods_network_cidr: Annotated[CIDR | None, Field(alias="podsNetworkCIDR")] = None
    """Pod network CIDR, e.g. 10.100.0.0/16; prefix length at most 24. Set at creation;
    changing it is only possible together with a CNI change."""
    pods_network_subnet: Annotated[int | None, Field(ge=20, le=28)] = None
    """Per-node pod subnet prefix length, 20..28 and at least the pod CIDR's prefix + 2."""
    service_cluster_ip_range: Annotated[CIDR | None, Field(alias="serviceClusterIPRange")] = None
    """Service ClusterIP range, e.g. 10.254.0.0/16 (immutable)."""

    @property
    def has_external_network(self) -> bool:
        """An internet gateway network with subnets: what a public endpoint needs."""
        return self.external_network_id is not None and bool(self.external_subnet_ids)

    cni: CNI | None = None
    """CNI of the cluster: calico (Calico-VXLAN, NKS's default) or calico-ebpf. A cluster
    still on Flannel is moved to Calico when this says calico."""


class IPAccessControlTarget(CRDModel):
    cidr: IPOrCIDR
    """An IP address or CIDR."""
    description: Annotated[str | None, Field(max_length=255)] = None
    """Free text shown in NKS."""


class IPAccessControl(CRDModel):
    enabled: bool = False
    """Restrict access to the Kubernetes API endpoint by source IP."""
    action: Literal["ALLOW", "DENY"] = "ALLOW"
    """ALLOW: only the targets may connect. DENY: the targets may not."""
    targets: Annotated[list[IPAccessControlTarget], Field(max_length=100)] = Field(
        default_factory=list
    )
    """Addresses the action applies to (at most 100)."""


class APIEndpoint(CRDModel):
    public_ip: Annotated[bool | None, Field(alias="publicIP")] = None
    """Give the Kubernetes API endpoint a public address (immutable). Default: public when
    `network.externalNetworkID` and `externalSubnetIDs` are set (NKS allows a public
    endpoint only then), private otherwise."""
    ip_access_control: IPAccessControl | None = None
    """IP access control of the API endpoint; absent means not managed by the operator.
    When enabled it is also sent with the cluster create, so the endpoint is never open
    in between."""


class Certificate(CRDModel):
    validity_years: Annotated[int, Field(ge=1, le=5)] = 5
    """Validity of a renewed cluster certificate, in years."""
    auto_renew: bool = True
    """Renew the certificate automatically `renewBeforeDays` before it expires."""
    renew_before_days: Annotated[int, Field(ge=1, le=365)] = 30
    """How long before expiry the automatic renewal happens."""


class ServiceGateways(CRDModel):
    ncr: UUIDString | None = None
    """Service gateway UUID of type NCR (container registry), in the cluster's VPC."""
    obs: UUIDString | None = None
    """Service gateway UUID of type OBS (object storage), in the cluster's VPC."""


class ArgoCDRegistration(CRDModel):
    enabled: bool = False
    """Register the cluster with Argo CD by writing an Argo CD cluster Secret into the
    Argo CD namespace the admin configured (never one a resource names). The admin also
    decides which namespaces may register, and which projects and label keys they may
    use (docs/security.md)."""
    name: Annotated[str | None, Field(max_length=253)] = None
    """Cluster name shown in Argo CD; default `<namespace>/<metadata.name>`."""
    project: Annotated[str | None, Field(max_length=253)] = None
    """Argo CD project the cluster is scoped to; by default the admin allows only the
    project named like this resource's namespace."""
    labels: Annotated[dict[LabelKey, LabelValue], Field(max_length=ARGOCD_LABELS_MAX)] = Field(
        default_factory=dict
    )
    """Extra labels on the Secret (Argo CD ApplicationSet cluster generators select on
    them); only keys the admin allows. At most 32, in Kubernetes label syntax: a key is
    an optional DNS subdomain prefix (at most 253 characters) and `/`, then a name of at
    most 63 letters, digits, `-`, `_` and `.`, beginning and ending with a letter or
    digit; a value is at most 63 such characters, or empty."""


ResolveConflicts = Literal["none", "overwrite", "preserve"]


class Addon(CRDModel):
    name: Annotated[
        str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    ]
    """Add-on name as NKS's add-on catalogue lists it, e.g. calico or coredns."""
    version: Annotated[str, Field(min_length=1, max_length=64)]
    """Add-on version as NKS's add-on catalogue lists it, e.g. v3.28.2-nks1. Changing it
    updates the add-on."""
    options: (
        Annotated[dict[AddonOptionName, AddonOptionValue], Field(max_length=ADDON_OPTIONS_MAX)]
        | None
    ) = None
    """Add-on specific options, e.g. mode: vxlan for calico, checked against the
    catalogue's option schemas (known names, choices, integers). Sent with the install and
    with each update when given; absent leaves NKS's values. An option the catalogue marks
    not updatable cannot change once installed. At most 16; a name is at most 63 letters,
    digits, `-`, `_` and `.`, beginning and ending with a letter or digit; a value at most
    256 characters."""
    resolve_conflicts: ResolveConflicts | None = None
    """How an install or update treats fields of the add-on's Kubernetes objects changed on
    the cluster: overwrite (take the add-on's values; what NHN advises for version changes,
    and what absent means), preserve (keep the changed values; fails on one that cannot be
    kept) or none (fail on any conflict)."""


class LogAndCrashSearch(CRDModel):
    app_key_secret_ref: SecretKeyReference
    """Secret key holding the Log & Crash Search app key (never put it in the spec). A
    changed key is sent to NKS again (the operator keeps only a keyed hash of it)."""


class ObjectStorageLogs(CRDModel):
    api_url: Annotated[
        str, Field(alias="apiURL", min_length=9, max_length=1024, pattern=r"^https://\S+$")
    ]
    """Where the logs go: the Object Storage API URL, the container, then the path wanted,
    e.g. https://kr1-api-object-storage.nhncloudservice.com/v1/AUTH_<tenant>/<container>/logs.
    The container must exist and NKS's system account needs write access to it."""
    store_as: Literal["gzip", "text"] | None = None
    """gzip or text; absent: NKS's default."""


class ControlPlaneLog(CRDModel):
    enabled: bool = False
    """Ship the logs of kube-apiserver, kube-scheduler and kube-controller-manager; false
    stops shipping."""
    destination: Literal["lncs", "obs"] | None = None
    """lncs: Log & Crash Search (needs `lncs`); obs: Object Storage (needs `obs`). Required
    when enabled."""
    service_gateway_id: Annotated[UUIDString | None, Field(alias="serviceGatewayID")] = None
    """Service gateway UUID of the destination's kind, in the cluster's VPC; required when
    enabled."""
    upload_interval_minutes: Annotated[int | None, Field(ge=1, le=60)] = None
    """How often the logs are uploaded, 1..60 minutes; absent: NKS's default (10)."""
    lncs: LogAndCrashSearch | None = None
    """Log & Crash Search settings (destination lncs)."""
    obs: ObjectStorageLogs | None = None
    """Object Storage settings (destination obs)."""


class EtcdEncryption(CRDModel):
    key_id: Annotated[str, Field(alias="keyID", min_length=1, max_length=128)]
    """Secure Key Manager symmetric key ID that encrypts the cluster's etcd (immutable)."""


class KubeconfigSecret(CRDModel):
    name: Annotated[str, Field(min_length=1, max_length=253, pattern=K8S_NAME_PATTERN)]
    """Name of the Secret (in this namespace) that receives the kubeconfig (key `value`).
    The operator writes only a Secret it created for this NKSCluster: an existing Secret
    of that name that is not its own is reported and left untouched."""


class NKSClusterSpec(CRDModel):
    """Desired state of an NKS cluster."""

    @property
    def public_endpoint(self) -> bool:
        """Whether the API endpoint is public: as set, else whether the network allows it."""
        if self.api_endpoint.public_ip is not None:
            return self.api_endpoint.public_ip
        return self.network.has_external_network

    cluster_name: NKSName | None = None
    """Name of the cluster in NKS; defaults to metadata.name (immutable). At most 20
    characters of [a-z0-9-], starting with a letter and ending with a letter or digit."""
    region: Region
    """NHN Cloud region: kr1 (Pangyo), kr2 (Pyeongchon) or kr3 (Gwangju), in either case
    (KR1 as NHN writes it) (immutable)."""
    credentials_ref: LocalObjectReference | None = None
    """Secret in this namespace with keys tenantId, username, password and optionally
    identityUrl and nksUrl. Absent: the operator's default credentials."""
    kubernetes_version: KubernetesVersion
    """Kubernetes version, e.g. v1.29.3, as listed by NKS's supported versions. Raising it
    upgrades the control plane, then the worker groups, one minor version at a time."""
    keypair: Annotated[str, Field(min_length=1, max_length=255)]
    """Name of the key pair installed on the default worker nodes (immutable)."""
    network: Network
    """Network placement of the cluster."""
    api_endpoint: APIEndpoint = Field(default_factory=APIEndpoint)
    """The Kubernetes API endpoint."""
    certificate: Certificate = Field(default_factory=Certificate)
    """Cluster certificate renewal."""
    service_gateways: ServiceGateways | None = None
    """Service gateways for NCR and OBS."""
    strict_security_group_rules: bool = False
    """Create only the required rules in the worker security group (immutable)."""
    default_worker: WorkerSpec
    """The `default-worker` node group created with the cluster."""
    addons: Annotated[list[Addon], Field(max_length=32)] = Field(default_factory=list)
    """Add-ons NKS installs and keeps at these versions: sent with the create, then
    installed, updated or uninstalled one operation at a time, each checked against NKS's
    add-on catalogue before any call. Add-ons never listed are left as NKS has them. An
    entry removed from the list is uninstalled when NKS's add-on types say its type is not
    mandatory; a mandatory one (cni, kube-dns) stays installed as NKS has it and is no
    longer managed (Warning `AddonNotRemoved`). Empty at creation lets NKS choose."""
    control_plane_log: ControlPlaneLog | None = None
    """Ship the control plane's logs to Log & Crash Search or Object Storage (sent with the
    create, changed afterwards); absent: not managed by the operator."""
    etcd_encryption: EtcdEncryption | None = None
    """Encrypt etcd with a Secure Key Manager key, set at creation only (immutable); NKS
    offers it from platform version 1.202602.0."""
    create_timeout_minutes: Annotated[int, Field(ge=10, le=1440)] = 60
    """How long NKS may take to create the cluster before it fails it."""
    kubeconfig_secret: KubeconfigSecret | None = None
    """Where to write the kubeconfig; default `<metadata.name>-kubeconfig`."""
    deletion_policy: DeletionPolicy = "Delete"
    """Delete: deleting this resource deletes the NKS cluster. Retain: leave it in NKS."""
    cluster_id: Annotated[UUIDString | None, Field(alias="clusterID")] = None
    """Adopt this existing NKS cluster (UUID) instead of creating one."""
    adoption: AdoptionPolicy | None = None
    """ByName: when NKS already has a cluster of this resource's NKS name (the manifests
    applied again on a new management cluster, a restore without status), manage that one
    instead of reporting ClusterNameInUse - as if its UUID were in clusterID. Unset: only
    clusterID adopts. A cluster another resource manages is never adopted."""
    argocd: ArgoCDRegistration | None = None
    """Opt-in registration of the cluster in Argo CD, kept current after certificate
    renewals and removed when the cluster is deleted."""


class AddonStatus(StatusModel):
    name: str
    """Add-on name."""
    type: str | None = None
    """Add-on type, e.g. cni, kube-dns, metrics-server."""
    version: str | None = None
    """Installed version, as NKS reports it."""
    status: str | None = None
    """NKS's status of the add-on, e.g. UPDATE_COMPLETE, UPDATE_IN_PROGRESS, UPDATE_FAILED."""
    message: str | None = None
    """NKS's reason for that status."""
    managed: bool = False
    """spec.addons lists it (or listed it, while its uninstall is pending)."""
    failed_generation: int | None = None
    """metadata.generation when the operator first saw this failure: the add-on is not
    installed or updated again until the spec changes."""


class ControlPlaneLogStatus(StatusModel):
    enabled: bool | None = None
    """Whether logs are shipped: as NKS shows it, else as the operator last applied it."""
    destination: str | None = None
    """lncs or obs, likewise."""
    settings_hash: str | None = None
    """Keyed hash (HMAC-SHA-256, the operator's signing key) of the settings NKS last
    confirmed, the app key included: a change of any of them, or of the key in its Secret,
    is sent again. The key itself is never stored."""
    sent_hash: str | None = None
    """The same for the settings last sent, until NKS confirms them."""


class NodeGroupHealth(StatusModel):
    name: str
    """Node group name."""
    node_status: str | None = None
    """NORMAL, NOT_READY_NODE_EXIST, ALL_NODES_NOT_READY, STALED_DATA or ROTTEN_DATA."""
    ready_nodes: int | None = None
    """Nodes Kubernetes reports Ready."""
    not_ready_nodes: int | None = None
    """Nodes Kubernetes reports not Ready."""


class ClusterHealth(StatusModel):
    freshness: str | None = None
    """FRESH, STALE or ROTTEN: how current NKS's view below is (absent when NKS reports
    another value; `healthStatus` has it as sent)."""
    refreshed_at: str | None = None
    """When NKS last refreshed these states (RFC 3339)."""
    api: str | None = None
    """OK or NOT_OK: whether the Kubernetes API answers."""
    api_status: str | None = None
    """NORMAL, K8S_API_NOT_WORKING, STALED_DATA or ROTTEN_DATA."""
    node_status: str | None = None
    """All nodes: NORMAL, NOT_READY_NODE_EXIST, ALL_NODES_NOT_READY, STALED_DATA or
    ROTTEN_DATA."""
    node_groups: list[NodeGroupHealth] | None = None
    """Per worker group: its node status and Ready / not Ready node counts."""


class NKSClusterStatus(ResourceStatus):
    """Observed state of an NKS cluster."""

    cluster_id: Annotated[str | None, Field(alias="clusterID")] = None
    """UUID of the cluster in NKS."""
    region: str | None = None
    """Region the cluster lives in (a later change of spec.region is refused)."""
    api_address: str | None = None
    """URL of the cluster's Kubernetes API."""
    certificate_expiry: str | None = None
    """When the cluster certificate expires, as NKS reports it."""
    cni: str | None = None
    """CNI NKS reports for the cluster."""
    kubeconfig_secret_name: str | None = None
    """Name of the Secret holding the kubeconfig (key `value`)."""
    certificate_renewal_request: str | None = None
    """Last value of the renew-certificate annotation that was acted on."""
    certificate_renewal_sent_at_expiry: str | None = None
    """The certificate expiry NKS showed when the last renewal was sent ("" when none): the
    renewal counts as done once NKS shows another expiry, the cluster updating, or a renewal
    task that ended well; until then a renewal NKS dropped is sent once more."""
    argocd_secret: str | None = None
    """`namespace/name` of the Argo CD cluster Secret the operator maintains."""
    addons: list[AddonStatus] | None = None
    """The add-ons NKS reports installed (read while spec.addons manages add-ons)."""
    control_plane_log: ControlPlaneLogStatus | None = None
    """Control-plane log shipping as last applied (while spec.controlPlaneLog is set)."""
    health: ClusterHealth | None = None
    """NKS's health view: freshness, the API and the nodes, per worker group."""
    upgradable_versions: list[str] | None = None
    """Kubernetes versions NKS says the control plane can move to next."""
    platform_version: str | None = None
    """The control plane's NKS platform version, e.g. 1.202602.0."""


class NKSCluster(CRDModel):
    """Kind NKSCluster (for typing the body the operator receives)."""

    model_config = CRDModel.model_config | {"extra": "ignore"}

    spec: NKSClusterSpec
    status: NKSClusterStatus = Field(default_factory=NKSClusterStatus)
