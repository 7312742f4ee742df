"""NKSOwnership: the operator's record of which resource manages an NKS cluster or node group.

One object per NKS resource, cluster-scoped and named after the NKS id, so that one NKS
cluster or node group has exactly one managing NKSCluster / NKSNodeGroup in the whole
management cluster: a second resource naming the same id (by `clusterID`, by name, or
through a forged status) is refused, whatever its namespace, shard or operator replica.
Creating the object is the atomic step (the apiserver refuses a second one of the same
name). Only the operator writes these; tenants' roles never include them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from nks_operator.api.base import K8S_NAME_PATTERN, CRDModel, UUIDString


class OwnerReference(CRDModel):
    kind: Literal["NKSCluster", "NKSNodeGroup"]
    """Kind of the managing resource."""
    namespace: Annotated[
        str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    ]
    """Its namespace."""
    name: Annotated[str, Field(min_length=1, max_length=253, pattern=K8S_NAME_PATTERN)]
    """Its name."""
    uid: Annotated[str, Field(min_length=1, max_length=64)]
    """Its metadata.uid: a resource re-created under the same name is another resource."""


class NKSOwnershipSpec(CRDModel):
    """Which resource manages one NKS cluster or node group."""

    resource: Literal["cluster", "nodegroup"]
    """What the NKS id names."""
    nks_id: Annotated[UUIDString, Field(alias="nksID")]
    """The NKS cluster or node group UUID."""
    owner: OwnerReference
    """The NKSCluster or NKSNodeGroup that manages it."""
