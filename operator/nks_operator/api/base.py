"""Shared pieces of the CRD models: camelCase wire names and small reusable types."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

# NKS names: <= 20 characters, [a-z0-9-], start with a letter, end with a letter or digit.
NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$"
VERSION_PATTERN = r"^v\d+\.\d+\.\d+$"
K8S_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"

NKSName = Annotated[str, Field(pattern=NAME_PATTERN, min_length=1, max_length=20)]
KubernetesVersion = Annotated[str, Field(pattern=VERSION_PATTERN, max_length=32)]
# Fields the guide types as UUID (VPC network/subnet, flavor, image, security group,
# service gateway, node instance): refused before any NKS call unless they are one - by
# the CRD schema (pattern) and by the model, with a message naming the expected form.
UUID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
_UUID = re.compile(UUID_PATTERN)


def _check_uuid(value: str) -> str:
    if not _UUID.match(value):
        raise PydanticCustomError(
            "uuid", "must be a UUID (8-4-4-4-12 hexadecimal digits, as NKS lists it)"
        )
    return value


UUIDString = Annotated[
    str,
    AfterValidator(_check_uuid),
    WithJsonSchema({"type": "string", "pattern": UUID_PATTERN, "minLength": 36, "maxLength": 36}),
]
DeletionPolicy = Literal["Delete", "Retain"]
# ByName: an NKS resource already named as this one's NKS name is adopted, not refused.
AdoptionPolicy = Literal["ByName"]

# Kubernetes label syntax (k8s.io/apimachinery/pkg/util/validation: IsQualifiedName,
# IsValidLabelValue). A key is an optional DNS subdomain prefix (<= 253) and "/", then a
# name (<= 63); a value is <= 63 characters, possibly empty.
LABEL_NAME_MAX_LENGTH = 63
LABEL_PREFIX_MAX_LENGTH = 253
LABEL_VALUE_MAX_LENGTH = 63
LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_NAME_RULE = (
    "the name must be 1..63 characters of letters, digits, '-', '_' and '.', "
    "beginning and ending with a letter or digit"
)


def map_key_error(kind: str, key: str, rule: str) -> PydanticCustomError:
    """The error for a map key that breaks its rule: it names the key (a CRD schema on
    Kubernetes 1.20 cannot bound keys, so the models check them, before any NKS call)."""
    return PydanticCustomError(
        "map_key",
        "{key} is not a valid {kind}: {rule}",
        {"key": repr(key), "kind": kind, "rule": rule},
    )


def is_label_name(name: str) -> bool:
    """Whether `name` is the name part of a Kubernetes label key (see LABEL_NAME_RULE)."""
    return 0 < len(name) <= LABEL_NAME_MAX_LENGTH and _LABEL_NAME.fullmatch(name) is not None


def label_key_problem(key: str) -> str | None:
    """What keeps `key` from being a Kubernetes label key; None when it is one."""
    parts = key.split("/")
    if len(parts) > 2:
        return "at most one '/' (between the prefix and the name)"
    if len(parts) == 2:
        prefix = parts[0]
        if not (0 < len(prefix) <= LABEL_PREFIX_MAX_LENGTH and _DNS_SUBDOMAIN.fullmatch(prefix)):
            return (
                "the prefix before '/' must be a DNS subdomain: at most 253 characters of "
                "lower case letters, digits, '-' and '.', each part beginning and ending "
                "with a letter or digit"
            )
    return None if is_label_name(parts[-1]) else LABEL_NAME_RULE


def _check_label_key(key: str) -> str:
    problem = label_key_problem(key)
    if problem is not None:
        raise map_key_error("Kubernetes label key", key, problem)
    return key


LabelKey = Annotated[str, AfterValidator(_check_label_key)]
"""A Kubernetes label key, checked by the model (the CRD schema holds only the type)."""
LabelValue = Annotated[str, Field(max_length=LABEL_VALUE_MAX_LENGTH, pattern=LABEL_VALUE_PATTERN)]
"""A Kubernetes label value: at most 63 characters, empty or beginning and ending with a
letter or digit, with '-', '_' and '.' between."""


class CRDModel(BaseModel):
    """Base of every CRD model: camelCase on the wire, unknown fields refused.

    `extra="forbid"` mirrors the structural schema, which prunes unknown fields; the
    operator reports them instead of silently ignoring a typo.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_attribute_docstrings=True,
    )


class LocalObjectReference(CRDModel):
    name: Annotated[str, Field(min_length=1, max_length=253, pattern=K8S_NAME_PATTERN)]
    """Name of an object in the same namespace as this resource."""


class SecretKeyReference(CRDModel):
    name: Annotated[str, Field(min_length=1, max_length=253, pattern=K8S_NAME_PATTERN)]
    """Name of a Secret in the same namespace as this resource."""
    key: Annotated[str, Field(min_length=1, max_length=253)]
    """Key in the Secret's data."""
