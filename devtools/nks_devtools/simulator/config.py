"""Settings of one simulator instance: timings, credentials, versions, quotas, faults.

One pydantic model so the CLI, the tests and the admin endpoint `PATCH /_sim/config` all
build and change it the same way (and a password is a `SecretStr`, never printed).
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from nks_devtools.simulator.faults import FaultSettings
from nks_operator.nks.operations import Operation

DEFAULT_DELAYS: dict[str, float] = {
    # Real NKS timings (docs/nks-api-notes.md, "Timings"): ~10 min to create a cluster,
    # ~5 min for the rest.
    Operation.CREATE_CLUSTER: 600.0,
    Operation.DELETE_CLUSTER: 300.0,
    Operation.CREATE_NODEGROUP: 300.0,
    Operation.DELETE_NODEGROUP: 300.0,
}
DEFAULT_OPERATION_DELAY = 300.0

DEFAULT_SUPPORTED_K8S: dict[str, bool] = {
    "v1.17.6": False,
    "v1.18.19": False,
    "v1.19.13": False,
    "v1.20.12": False,
    "v1.21.6": False,
    "v1.22.3": False,
    "v1.23.3": False,
    "v1.24.3": False,
    "v1.25.4": False,
    "v1.26.3": False,
    "v1.27.3": True,
    "v1.28.3": True,
    "v1.29.3": True,
    "v1.30.3": True,
    "v1.31.4": True,
}


class Credential(BaseModel):
    """One accepted identity login (tenant, user, API password)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    username: str
    password: SecretStr

    @classmethod
    def parse(cls, text: str) -> Credential:
        """Parse `TENANT:USER:PASSWORD` (the password may itself contain colons)."""
        parts = text.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError("credentials must look like TENANT:USER:PASSWORD")
        return cls(tenant_id=parts[0], username=parts[1], password=SecretStr(parts[2]))


StatusDuringChange = Literal["update_in_progress", "unchanged"]


class SimulatorConfig(BaseModel):
    """Everything that makes one simulator behave differently from another."""

    model_config = ConfigDict(validate_assignment=True)

    delay: float | None = Field(
        default=None, ge=0, description="Seconds every asynchronous operation takes; overrides"
    )
    delays: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_DELAYS))
    default_delay: float = Field(default=DEFAULT_OPERATION_DELAY, ge=0)
    credentials: list[Credential] = Field(default_factory=list)
    token_ttl: float = Field(default=12 * 3600.0, gt=0)
    region: str = "KR1"
    supported_k8s: dict[str, bool] = Field(default_factory=lambda: dict(DEFAULT_SUPPORTED_K8S))
    max_clusters_per_tenant: int | None = Field(default=None, ge=0)
    max_nodes_per_group: int = Field(default=10, ge=1)
    default_subnet_cidr: str = "192.168.0.0/24"
    subnets: dict[str, str] = Field(
        default_factory=dict, description="VPC subnet UUID -> CIDR, for the guide's CIDR rules"
    )
    busy_behaviour: Literal["reject", "accept_and_drop"] = "reject"
    # NKS behaviours no source confirms (docs/nks-api-notes.md, "Simulator knobs"): tests
    # run the operator against each variant.
    certificate_renewal_status: StatusDuringChange = Field(
        default="update_in_progress",
        description="Whether the cluster shows UPDATE_IN_PROGRESS while a certificate renews",
    )
    service_gateway_status: StatusDuringChange = Field(
        default="update_in_progress",
        description="Whether the cluster shows UPDATE_IN_PROGRESS while a gateway changes",
    )
    record_unlisted_tasks: bool = Field(
        default=False,
        description="Record tasks for IP ACL, gateway and certificate changes, with the type "
        "names of NHN's newer guide; the guide lists none",
    )
    empty_list_label: Literal["", "[]"] = Field(
        default="[]",
        description="How answers show extra_volumes / extra_security_groups nobody set "
        '(Live: "[]"; "" has no named source)',
    )
    # The current edition (docs/nks-api-notes.md, "The current edition" and "Simulator
    # knobs"): each default is what the notes judge most likely for today's service.
    task_names: Literal["current", "copy"] = Field(
        default="current",
        description="Task type names recorded and listed in /v1/supports: the current "
        "edition's or the older guide copy's",
    )
    supported_event_type_shape: Literal["grouped", "flat"] = Field(
        default="grouped",
        description="/v1/supports' supported_event_type: grouped by cluster_events / "
        "nodegroup_events (both tables, the copy's example) or one map (the CE's example)",
    )
    list_default_master: bool = Field(
        default=False,
        description="Whether the node group list shows default-master (contested: a CLI "
        "measured against the live service says no; upstream Magnum lists it)",
    )
    kube_version_status: Literal["NEED_K8S_UPGRADE", "NEED_UPGRADE"] = Field(
        default="NEED_K8S_UPGRADE",
        description="kube_version_status of a cluster or group behind (Live / the examples)",
    )
    health_reason_form: Literal["flat", "nested"] = Field(
        default="flat",
        description="health_status_reason with flat dotted keys (Live) or nested objects",
    )
    mba_enable_form: Literal["boolean", "string"] = Field(
        default="boolean",
        description="How the mba_* labels show `enable` (Live: a JSON boolean); the PATCH "
        'takes either (its table says Boolean, its example sends "True")',
    )
    setting_labels: Literal["shown", "hidden"] = Field(
        default="shown",
        description="Whether answers show the k8s_node_labels, fip_* and control_plane_log "
        "labels (no answer table lists them: unknown)",
    )
    setting_change_status: StatusDuringChange = Field(
        default="update_in_progress",
        description="Whether the node group (control-plane log: the cluster) shows "
        "UPDATE_IN_PROGRESS during a node label, metric autoscaler, floating IP or "
        "control-plane log change (unknown)",
    )
    addon_change_status: StatusDuringChange = Field(
        default="unchanged",
        description="Whether the cluster shows UPDATE_IN_PROGRESS while an add-on is "
        "installed, updated or removed (unknown; the add-on has its own status)",
    )
    addon_options: Literal["accepted", "refused"] = Field(
        default="accepted",
        description="Whether add-on install / update take `options` (contested: the CE "
        "bodies have none, the user guide says they take options)",
    )
    addon_paths: Literal["either", "with_slash", "without_slash"] = Field(
        default="either",
        description="The add-on list and install paths, which the CE writes with a trailing "
        "slash: served in both forms, only with it (the CE), or only without it (how a CLI "
        "used against the live service lists); unknown which holds",
    )
    cni_update_api: bool = Field(
        default=False,
        description="Whether POST .../actions/cni_update exists (the copy's API; the current "
        "edition removed it: 404)",
    )
    public_endpoint_rule: Literal["current", "copy"] = Field(
        default="current",
        description='master_lb_floating_ip_enabled "True" only with an external network '
        "and subnets (`current`, the CE) or without that condition (`copy`, G:439)",
    )
    platform_version: str = Field(
        default="1.202602.0", description="The NKS platform version new clusters get"
    )
    page_max_limit: int = Field(default=1000, ge=1)
    call_log_size: int = Field(default=100_000, ge=0)
    faults: FaultSettings = Field(default_factory=FaultSettings)
    seed: int | None = Field(
        default=None,
        description="Seed of ids and random choices; unset: unique ids in every run, as NKS's "
        "are (two simulators must never hand out the same cluster UUID)",
    )

    @field_validator("delays")
    @classmethod
    def _known_operations(cls, value: dict[str, float]) -> dict[str, float]:
        known = {op.value for op in Operation}
        for name, seconds in value.items():
            if name not in known:
                raise ValueError(f"unknown operation {name!r} in delays")
            if seconds < 0:
                raise ValueError("delays must not be negative")
        return {str(k): float(v) for k, v in value.items()}

    @field_validator("default_subnet_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        ipaddress.ip_network(value)
        return value

    @field_validator("subnets")
    @classmethod
    def _subnet_cidrs(cls, value: dict[str, str]) -> dict[str, str]:
        for cidr in value.values():
            ipaddress.ip_network(cidr)
        return value

    def delay_for(self, operation: Operation | str) -> float:
        """How long the asynchronous part of `operation` takes."""
        if self.delay is not None:
            return self.delay
        return self.delays.get(str(operation), self.default_delay)

    def subnet_cidr(self, subnet_id: str) -> ipaddress.IPv4Network:
        """The CIDR of a VPC subnet; the simulator cannot ask the VPC API, so it is configured."""
        net = ipaddress.ip_network(self.subnets.get(subnet_id, self.default_subnet_cidr))
        assert isinstance(net, ipaddress.IPv4Network)
        return net

    def accepts_any_credentials(self) -> bool:
        return not self.credentials
