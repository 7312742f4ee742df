"""Status fields shared by both kinds: phase, conditions and the NKS view."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, WithJsonSchema, model_validator

from nks_operator.api.base import CRDModel
from nks_operator.api.operations import OperationType, operation_type

Phase = Literal[
    "Pending", "Provisioning", "Ready", "Updating", "Upgrading", "Deleting", "Failed", "Paused"
]


class StatusModel(CRDModel):
    # The operator reads status back that an older version may have written: keep
    # unknown fields instead of failing (status is never user input).
    model_config = ConfigDict(**(CRDModel.model_config | {"extra": "ignore"}))


# The rules of metav1.Condition (k8s.io/apimachinery/pkg/apis/meta/v1/types.go), so that
# tools reading conditions generically (kstatus, Argo CD, kubectl wait) find what they expect.
CONDITION_TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
REASON_MAX_LENGTH = 1024
MESSAGE_MAX_LENGTH = 32768


class Condition(StatusModel):
    type: Annotated[str, Field(pattern=CONDITION_TYPE_PATTERN, max_length=316)]
    """Condition type: Ready, Synced, ..."""
    status: Literal["True", "False", "Unknown"]
    """Whether the condition holds."""
    reason: Annotated[
        str, Field(pattern=REASON_PATTERN, min_length=1, max_length=REASON_MAX_LENGTH)
    ]
    """CamelCase reason, stable for automation."""
    message: Annotated[str, Field(max_length=MESSAGE_MAX_LENGTH)]
    """Human-readable detail; never empty (the reason when there is nothing more to say)."""
    last_transition_time: AwareDatetime
    """When `status` last changed (RFC 3339)."""
    observed_generation: Annotated[int | None, Field(ge=0)] = None
    """metadata.generation the condition was computed for."""

    @model_validator(mode="before")
    @classmethod
    def _message_defaults_to_reason(cls, data: Any) -> Any:
        # An empty message is stored as no message at all (status_dict drops "", which
        # some apiservers read as null), and releases before `message` was required wrote
        # conditions without one: either way the reason is the message.
        if isinstance(data, dict) and not data.get("message") and data.get("reason"):
            return {**data, "message": data["reason"]}
        return data


class LastOperation(StatusModel):
    # A type this version does not send (an older release's) is kept as read: status is
    # never rejected; the schema stays a plain string for the same reason.
    type: Annotated[
        OperationType | str,
        Field(union_mode="left_to_right"),
        WithJsonSchema({"type": "string"}),
    ]
    """The NKS operation, e.g. CLUSTER_CREATE, CLUSTER_RESIZE, NODEGROUP_UPGRADE."""
    state: Literal["Requested", "InProgress", "Succeeded", "Failed"]
    """Where it stands."""
    target: str | None = None
    """Node group the operation acts on (`default-master` for the control plane,
    `addon/<name>` for an add-on)."""
    task_id: Annotated[str | None, Field(alias="taskID")] = None
    """NKS task (event) UUID when known."""
    started_at: str | None = None
    """When the operator sent it (RFC 3339)."""
    since_task_id: Annotated[int | None, Field(alias="sinceTaskID")] = None
    """Highest NKS task id before the call: a newer task of this type proves it started."""
    message: str = ""
    """NKS's detail, if any."""
    generation: int | None = None
    """metadata.generation it was sent for: a failed operation is retried only after the
    spec changes."""
    attempt: int = 1
    """How many times it was sent for this change: NKS may accept a request and never start
    it, and the operator sends it once more before it reports that as a failure."""
    refused: bool | None = None
    """True when NKS refused the call itself (an HTTP 4xx answer): nothing started, and
    Synced shows `OperationRefused` until the spec changes."""

    @property
    def operation(self) -> OperationType | None:
        """The type as an operation this version knows; None: an older release's."""
        return operation_type(self.type)


class CreationIntent(StatusModel):
    """Written before the create call, so that a restart adopts what a lost response created."""

    name: str
    """Name the resource was created with in NKS."""
    requested_at: str
    """When the create call was about to be sent (RFC 3339)."""
    signature: str | None = None
    """The operator's HMAC over the resource's UID and the fields above: an annotation
    written by anyone else is not the operator's record, and is never acted on."""


class SentSetting(StatusModel):
    """What the operator last sent for a node group setting NKS's answers may not show."""

    digest: str
    """Digest of the value sent (at creation or in a change)."""
    state: Literal["Sent", "Unconfirmed", "Confirmed"]
    """Sent: on its way, NKS has not completed it yet. Unconfirmed: NKS completed it (or
    the create that carried it) but its answers do not show the setting, so the operator
    cannot confirm it; the same value is not sent again. Confirmed: NKS's answers show the
    value."""


class ResourceStatus(StatusModel):
    observed_generation: int | None = None
    """metadata.generation last acted on."""
    phase: Phase | None = None
    """Pending, Provisioning, Ready, Updating, Upgrading, Deleting, Failed or Paused."""
    nks_status: str | None = None
    """Raw NKS status, e.g. CREATE_COMPLETE."""
    status_reason: str | None = None
    """NKS's reason for that status."""
    health_status: str | None = None
    """NKS health status (opaque string)."""
    kubernetes_version: str | None = None
    """Kubernetes version NKS reports."""
    node_count: int | None = None
    """Number of nodes NKS reports (of the default worker group for a cluster)."""
    node_addresses: list[str] = Field(default_factory=list)
    """Node IP addresses NKS reports."""
    last_operation: LastOperation | None = None
    """The last operation the operator sent to NKS."""
    creation: CreationIntent | None = None
    """Written by versions before 0.2 while a create call may be in flight; no longer read
    (status is not proof of what the operator did: the intent is now the signed
    `nks.nhncloud.com/create-requested` annotation)."""
    user_script_generation: int | None = None
    """metadata.generation a user script change was last sent for: a script NKS still
    reports differently afterwards is reported, never sent again until the spec changes."""
    sent_settings: dict[str, SentSetting] | None = None
    """Node group settings the operator sent (nodeLabels, metricAutoscaler,
    floatingIPAutoBind; of the default worker for an NKSCluster) and whether NKS shows
    them."""
    drift: list[str] | None = None
    """Immutable fields whose spec differs from what NKS has (changing them back is
    allowed; the admission webhook reads this)."""
    last_task_id: Annotated[int | None, Field(alias="lastTaskID")] = None
    """Highest NKS task-history id already posted as an Event."""
    conditions: Annotated[
        list[Condition],
        Field(
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            }
        ),
    ] = Field(default_factory=list)
    """Ready, Synced and others, at most one of each type."""
