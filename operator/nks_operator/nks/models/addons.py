"""Add-ons of the current edition: the types, NHN's catalogue (with each version's option
schemas), the add-ons installed on a cluster, and the install / update bodies.

docs/nks-api-notes.md, "Add-ons": types `cni` and `kube-dns` are mandatory (cannot be
removed); a catalogue entry is one version of one add-on; an installed add-on has a
`status` (`UPDATE_COMPLETE`, `UPDATE_FAILED` in the examples; the full set is unknown, so
other values count as in progress, like cluster statuses). Whether install and update
take `options` is contested: they are sent only when given.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from nks_operator.nks.models.base import (
    NKSAnswer,
    NKSModel,
    NullAsEmptyList,
    OptLooseBool,
    OptTimestamp,
)
from nks_operator.nks.models.status import StatusMixin

ResolveConflicts = Literal["none", "overwrite", "preserve"]
"""How an install or update treats fields the user changed in the add-on's objects:
`none` fails on a conflict, `overwrite` takes the add-on's values, `preserve` keeps the
user's (and fails on a field that cannot be kept). The user guide advises `overwrite` for
version changes."""

OptionType = Literal["STRING", "INTEGER", "SELECT"]
"""The documented `data_type` values; answers keep any other as text."""

ADDON_COMPLETE = "UPDATE_COMPLETE"
ADDON_FAILED = "UPDATE_FAILED"


def _option_text(value: Any) -> Any:
    """Option values as text (the catalogue types `default` String; NKS may answer numbers)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _option_map(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _option_text(v) for k, v in value.items()}
    return value


def _text_list(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_option_text(item) for item in value]
    return value


OptionText = Annotated[str | None, BeforeValidator(_option_text)]
OptionMap = Annotated[dict[str, str] | None, BeforeValidator(_option_map)]


class AddonType(NKSAnswer):
    """`GET /v1/addon_types/{type}`: a kind of add-on (`cni`, `kube-dns`, `metrics-server`,
    ...); a mandatory one is always installed and cannot be removed."""

    uuid: str
    name: str | None = None
    mandatory: OptLooseBool = None


class OptionSchema(NKSAnswer):
    """One option of a catalogue entry. `updatable` False: set at install only."""

    name: str
    data_type: str | None = None  # STRING, INTEGER or SELECT (OptionType); others as text
    default: OptionText = None
    updatable: OptLooseBool = None
    mandatory: OptLooseBool = None
    choices: Annotated[list[str] | None, BeforeValidator(_text_list), NullAsEmptyList] = []


class CatalogueAddon(NKSAnswer):
    """`GET /v1/addons/{uuid}`: one version of one add-on NHN offers. `uuid` is the entry's
    own id; `type` the type's name; `k8s_min_version` / `k8s_max_version` (internal) bound
    the Kubernetes versions it runs on (null: no bound)."""

    uuid: str
    type: str | None = None
    name: str | None = None
    version: str | None = None
    description: str | None = None
    deploy_target: str | None = None
    k8s_min_version: str | None = None
    k8s_max_version: str | None = None
    option_schemas: Annotated[list[OptionSchema] | None, NullAsEmptyList] = []

    def option(self, name: str) -> OptionSchema | None:
        return next((o for o in self.option_schemas or () if o.name == name), None)


class InstalledAddon(StatusMixin, NKSAnswer):
    """`GET /v1/clusters/{cluster}/addons/{addon}`: an add-on installed on a cluster. Read
    its `version` and `status` back to confirm an install or update."""

    uuid: str
    name: str | None = None
    type: str | None = None
    version: str | None = None
    options: OptionMap = None
    status: str | None = None
    status_reason: str | None = None
    project_id: str | None = None
    cluster_uuid: str | None = None
    cluster_name: str | None = None
    scope: str | None = None  # "cluster" in the examples
    target_uuid: str | None = None
    created_at: OptTimestamp = None
    updated_at: OptTimestamp = None


class AddonInstallRequest(NKSModel):
    """`POST /v1/clusters/{cluster}/addons/`: a catalogue name and version."""

    name: str
    version: str
    resolve_conflicts: ResolveConflicts
    options: dict[str, str] | None = None  # contested: sent only when given


class AddonUpdateRequest(NKSModel):
    """`PATCH /v1/clusters/{cluster}/addons/{addon}`: another catalogue version (or the same,
    to apply again after a failure)."""

    version: str
    resolve_conflicts: ResolveConflicts
    options: dict[str, str] | None = None  # contested: sent only when given
