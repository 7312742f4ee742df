"""Control-plane log shipping: kube-apiserver, kube-scheduler and kube-controller-manager
logs to Log & Crash Search (`lncs`) or Object Storage (`obs`).

Sent at create as the `control_plane_log` label (the object as JSON text: the project's
assumption, after NHN's provider) and changed with `PATCH /v1/clusters/{cluster}` type
`control_plane_log` (docs/nks-api-notes.md, "Control-plane log shipping"). The Log & Crash
Search app key is a secret: a SecretStr that reaches only the wire, never a repr, log or
error text (`nks.masking` scrubs it from error bodies that echo it).
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, model_validator

from nks_operator.nks.models.base import (
    JsonObjectText,
    JsonTextSerializer,
    LooseBool,
    NKSAnswer,
    NKSModel,
    OptLooseBool,
    OptLooseInt,
    WireSecret,
)

LogDestination = Literal["lncs", "obs"]
ObsStoreAs = Literal["gzip", "text"]
UPLOAD_INTERVAL_MINUTES = (1, 60)  # default 10


class ControlPlaneLog(NKSModel):
    """Where the control plane's logs go; `enable=False` alone turns shipping off.

    Enabled, it needs `type` and `sgw` (a service gateway of that kind), plus
    `lncs_appkey` for Log & Crash Search or `obs_api_url` (the full container path) for
    Object Storage.
    """

    enable: LooseBool
    type: LogDestination | None = None
    sgw: str | None = None
    upload_interval: Annotated[
        int | None, Field(ge=UPLOAD_INTERVAL_MINUTES[0], le=UPLOAD_INTERVAL_MINUTES[1])
    ] = None
    lncs_appkey: WireSecret | None = None
    obs_api_url: str | None = None
    obs_store_as: ObsStoreAs | None = None  # NKS's default is unknown

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> Self:
        if not self.enable:
            return self
        missing = [name for name in ("type", "sgw") if not getattr(self, name)]
        if self.type == "lncs" and self.lncs_appkey is None:
            missing.append("lncs_appkey")
        if self.type == "obs" and not self.obs_api_url:
            missing.append("obs_api_url")
        if missing:
            raise ValueError(f"enabled control-plane logs need {', '.join(missing)}")
        return self


class ControlPlaneLogUpdate(NKSModel):
    """The body of "Store Logs of Kubernetes Control Plane Components"; the answer is
    `{"uuid": <cluster>}`, the task `CLUSTER_UPDATE_CONTROL_PLANE_LOG`."""

    type: Literal["control_plane_log"] = "control_plane_log"
    control_plane_log: ControlPlaneLog


class ControlPlaneLogState(NKSAnswer):
    """The setting as a `control_plane_log` label may show it. No documented answer field
    shows it (unknown): the label is a hint when present."""

    enable: OptLooseBool = None
    type: str | None = None
    sgw: str | None = None
    upload_interval: OptLooseInt = None
    lncs_appkey: SecretStr | None = None
    obs_api_url: str | None = None
    obs_store_as: str | None = None


# Create: the checked object as JSON text. Answers: a JSON object or its text.
ControlPlaneLogLabel = Annotated[ControlPlaneLog | None, JsonObjectText, JsonTextSerializer]
ControlPlaneLogStateLabel = Annotated[
    ControlPlaneLogState | None, JsonObjectText, JsonTextSerializer
]
