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
