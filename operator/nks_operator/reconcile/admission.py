"""What the validating admission webhook refuses: the operator's own checks, before storage.

The webhook answers with the same text the operator would later put in the `Ready`
condition, so a refusal at `kubectl apply` time and a refusal at reconcile time read alike.
Nothing here calls NKS (an admission answer must be fast and must not depend on NKS being
reachable), so the checks that need NKS - supported versions, drift against what NKS
actually runs - stay with the operator, which remains the backstop for everything.

Immutable fields are only enforced once the resource exists in NKS (or its create call may
be in flight): before that, changing them is harmless, and refusing would trap a user
whose create NKS refused, say for a key pair that does not exist. A field the operator
already reports as drifted from NKS may change too, since reverting it is the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from nks_operator.api.annotations import CREATE_REQUESTED_ANNOTATION
from nks_operator.api.cluster import NKSClusterSpec, NKSClusterStatus
from nks_operator.api.nodegroup import NKSNodeGroupSpec, NKSNodeGroupStatus
from nks_operator.api.problems import format_validation_error
from nks_operator.api.status import ResourceStatus
from nks_operator.api.worker import WorkerSpec
from nks_operator.reconcile import immutability, validation, versions

Change = tuple[str, str]  # (field, message)
M = TypeVar("M", bound=BaseModel)
_NAME_FIELDS = ("metadata.name (as clusterName)", "metadata.name (as nodeGroupName)")


def review_cluster(
    new_spec: Mapping[str, Any],
    old_spec: Mapping[str, Any] | None,
    name: str,
    *,
    old_status: Mapping[str, Any] | None = None,
    old_annotations: Mapping[str, str] | None = None,
) -> list[str]:
    """Problems with an NKSCluster CREATE (`old_spec` None) or UPDATE; empty: admit.

    `name` is metadata.name ("" when not known yet, e.g. with generateName); `old_status`
    and `old_annotations` are the stored object's: they say whether the cluster exists in
    NKS (or its create call may be in flight).
    """
    if old_spec is not None and dict(new_spec) == dict(old_spec):
        return []  # metadata, finalizers, annotations: never blocked by an old problem
    try:
        new = NKSClusterSpec.model_validate(new_spec)
    except ValidationError as error:
        return format_validation_error(error)
    problems = _without_unknown_name(
        validation.cluster_problems(new, name, None, for_create=old_spec is None), name
    )
    if old_spec is None:
        return problems
    old = _parse(NKSClusterSpec, old_spec)
    status = _parse(NKSClusterStatus, old_status or {}) or NKSClusterStatus()
    moved = immutability.managed_id_changed(
        immutability.CLUSTER_ID, status.cluster_id, new.cluster_id
    )
    problems += [moved] if moved else []
    problems += _downgrade("spec.kubernetesVersion", new.kubernetes_version, status, "cluster's")
    if old is None or not _exists_in_nks(status, status.cluster_id, old_annotations):
        return problems
    changes: list[Change] = []
    _compare(changes, "spec.clusterName", old.cluster_name or name, new.cluster_name or name)
    for field in ("region", "keypair", "strict_security_group_rules"):
        _compare_field(changes, "spec", old, new, field)
    for field in ("vpc_network_id", "subnet_id", "external_network_id", "service_cluster_ip_range"):
        _compare_field(changes, "spec.network", old.network, new.network, field)
    # A set, as the operator compares it with NKS: reordering it changes nothing.
    _compare(
        changes,
        "spec.network.externalSubnetIDs",
        sorted(i.lower() for i in old.network.external_subnet_ids),
        sorted(i.lower() for i in new.network.external_subnet_ids),
    )
    _compare(changes, "spec.apiEndpoint.publicIP", old.public_endpoint, new.public_endpoint)
    _compare_field(changes, "spec", old, new, "etcd_encryption")
    _compare_worker(changes, "spec.defaultWorker", old.default_worker, new.default_worker)
    return problems + _except_drifted(changes, status)


def review_nodegroup(
    new_spec: Mapping[str, Any],
    old_spec: Mapping[str, Any] | None,
    name: str,
    *,
    old_status: Mapping[str, Any] | None = None,
    old_annotations: Mapping[str, str] | None = None,
) -> list[str]:
    """Problems with an NKSNodeGroup CREATE or UPDATE; see `review_cluster`."""
    if old_spec is not None and dict(new_spec) == dict(old_spec):
        return []
    try:
        new = NKSNodeGroupSpec.model_validate(new_spec)
    except ValidationError as error:
        return format_validation_error(error)
    problems = _without_unknown_name(
        validation.nodegroup_problems(new, name, None, for_create=old_spec is None), name
    )
    if old_spec is None:
        return problems
    old = _parse(NKSNodeGroupSpec, old_spec)
    status = _parse(NKSNodeGroupStatus, old_status or {}) or NKSNodeGroupStatus()
    moved = immutability.managed_id_changed(
        immutability.NODE_GROUP_ID, status.node_group_id, new.node_group_id
    )
    problems += [moved] if moved else []
    if new.kubernetes_version is not None:
        problems += _downgrade(
            "spec.kubernetesVersion", new.kubernetes_version, status, "node group's"
        )
    if old is None or not _exists_in_nks(status, status.node_group_id, old_annotations):
        return problems
    changes: list[Change] = []
    _compare(changes, "spec.clusterRef.name", old.cluster_ref.name, new.cluster_ref.name)
    _compare(
        changes, "spec.nodeGroupName", old.node_group_name or name, new.node_group_name or name
    )
    _compare_worker(changes, "spec", old, new)
    return problems + _except_drifted(changes, status)


# -- helpers -------------------------------------------------------------------------------


def _parse(model: type[M], data: Mapping[str, Any]) -> M | None:
    """The model, or None for data an older version stored that no longer validates."""
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _without_unknown_name(problems: list[str], name: str) -> list[str]:
    """With generateName the name is not known at admission time: the operator checks it."""
    if name:
        return problems
    return [p for p in problems if not p.startswith(_NAME_FIELDS)]


def _exists_in_nks(
    status: ResourceStatus, nks_id: str | None, annotations: Mapping[str, str] | None
) -> bool:
    return (
        nks_id is not None
        or status.creation is not None
        or CREATE_REQUESTED_ANNOTATION in (annotations or {})
    )


def _downgrade(field: str, version: str, status: ResourceStatus, whose: str) -> list[str]:
    """NKS cannot downgrade: compared with the version NKS runs, as the operator does.

    Comparing with the previous spec instead would forbid taking back a version raise that
    never happened (say one NKS does not support), leaving the resource stuck.
    """
    actual = status.kubernetes_version
    if actual and versions.compare(version, actual) < 0:
        return [f"{field} {version} is older than the {whose} {actual}: NKS cannot downgrade"]
    return []


def _show(value: Any) -> str:
    return "unset" if value is None else repr(value)


def _compare(changes: list[Change], field: str, old: Any, new: Any) -> None:
    """One message per changed leaf: nested objects are compared field by field."""
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in dict.fromkeys([*old, *new]):
            _compare(changes, f"{field}.{key}", old.get(key), new.get(key))
        return
    changes.append(
        (field, f"{field} is immutable: it was {_show(old)}, the change asks for {_show(new)}")
    )


def _dump(model: BaseModel, field: str) -> tuple[str, Any]:
    """(camelCase wire name, JSON value) of a model field, defaults filled in."""
    info = type(model).model_fields[field]
    value = getattr(model, field)
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, mode="json")
    elif isinstance(value, list):
        value = [
            v.model_dump(by_alias=True, mode="json") if isinstance(v, BaseModel) else v
            for v in value
        ]
    return info.alias or field, value


def _compare_field(
    changes: list[Change], prefix: str, old: BaseModel, new: BaseModel, field: str
) -> None:
    wire, old_value = _dump(old, field)
    _, new_value = _dump(new, field)
    _compare(changes, f"{prefix}.{wire}", old_value, new_value)


def _compare_worker(changes: list[Change], prefix: str, old: WorkerSpec, new: WorkerSpec) -> None:
    for field in (
        "image_id",
        "availability_zone",
        "boot_volume",
        "additional_networks",
        "extra_security_groups",
    ):
        _compare_field(changes, prefix, old, new, field)
    _compare_extra_volumes(changes, f"{prefix}.extraVolumes", old, new)


def _compare_extra_volumes(
    changes: list[Change], field: str, old: WorkerSpec, new: WorkerSpec
) -> None:
    """Extra volumes stay as created; only a volume's size may grow (NKS never shrinks one)."""
    before, after = old.extra_volumes, new.extra_volumes
    if len(before) != len(after):
        changes.append(
            (
                field,
                f"{field} is immutable: it had {len(before)} volume(s), the change asks for "
                f"{len(after)} (volumes cannot be added or removed)",
            )
        )
        return
    for index, (was, now) in enumerate(zip(before, after, strict=True)):
        item = f"{field}[{index}]"
        if now.size_gb < was.size_gb:
            changes.append(
                (
                    f"{item}.sizeGB",
                    f"{item}.sizeGB may only grow: it was {was.size_gb}, the change asks for "
                    f"{now.size_gb}",
                )
            )
        exclude = {"size_gb"}
        _compare(
            changes,
            item,
            was.model_dump(by_alias=True, mode="json", exclude=exclude),
            now.model_dump(by_alias=True, mode="json", exclude=exclude),
        )


def _except_drifted(changes: list[Change], status: ResourceStatus) -> list[str]:
    """Drop changes to fields the operator reports as differing from NKS (`status.drift`):
    changing those back is the fix."""
    drifted = set(status.drift or ())

    def is_drifted(field: str) -> bool:
        return any(
            field == d or field.startswith(f"{d}.") or d.startswith(f"{field}.") for d in drifted
        )

    return [message for field, message in changes if not is_drifted(field)]
