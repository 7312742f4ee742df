"""Floating IP auto-bind of a node group: new nodes get a free floating IP on one subnet's
interface (NKS creates none: scaling can fail when none is free).

At create: the labels `fip_auto_bind_enable` (`"True"`/`"False"`), `fip_bind_subnet`,
`fip_selector` (`nks.models.labels`). Change: `PATCH ... type: fip_auto_bind`, whose
`fip_auto_bind_enable` is a JSON boolean. Changes reach only nodes created afterwards;
whether it can be changed after create at all is contested, and how answers show it is
unknown (docs/nks-api-notes.md, "Floating IP auto-bind").
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator

from nks_operator.nks.models.base import LooseBool, NKSModel


class FloatingIPAutoBind(NKSModel):
    """`fip_bind_subnet`: the cluster's default subnet or one of the group's additional
    subnets (needed when enabled); `fip_selector`: which floating IPs may be used (none:
    any)."""

    fip_auto_bind_enable: LooseBool
    fip_bind_subnet: str | None = None
    fip_selector: str | None = None

    @model_validator(mode="after")
    def _subnet_when_enabled(self) -> Self:
        if self.fip_auto_bind_enable and not self.fip_bind_subnet:
            raise ValueError("floating IP auto-bind needs fip_bind_subnet when enabled")
        return self


class FloatingIPAutoBindUpdate(NKSModel):
    """The body of "Change Floating IP Auto-assignment Configuration of a Node Group"; the
    answer is `{"uuid": <node group>}`, the task `NODEGROUP_UPDATE_FIP_AUTO_BIND`."""

    type: Literal["fip_auto_bind"] = "fip_auto_bind"
    fip_auto_bind_update_info: FloatingIPAutoBind
