"""Shared pieces of the CRD models: camelCase wire names and small reusable types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# NKS names: <= 20 characters, [a-z0-9-], start with a letter, end with a letter or digit.
NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$"
VERSION_PATTERN = r"^v\d+\.\d+\.\d+$"
K8S_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"

NKSName = Annotated[str, Field(pattern=NAME_PATTERN, min_length=1, max_length=20)]
KubernetesVersion = Annotated[str, Field(pattern=VERSION_PATTERN, max_length=32)]
UUIDish = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
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
