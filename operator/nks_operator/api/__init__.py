"""Pydantic models of the CRDs: the single source of truth for the CRD YAML and the operator."""

from nks_operator.api.cluster import NKSCluster, NKSClusterSpec, NKSClusterStatus
from nks_operator.api.nodegroup import NKSNodeGroup, NKSNodeGroupSpec, NKSNodeGroupStatus
from nks_operator.api.resources import CLUSTER, GROUP, NODEGROUP, RESOURCES, VERSION, Resource
from nks_operator.api.status import Condition, CreationIntent, LastOperation

__all__ = [
    "CLUSTER",
    "GROUP",
    "NODEGROUP",
    "RESOURCES",
    "VERSION",
    "Condition",
    "CreationIntent",
    "LastOperation",
    "NKSCluster",
    "NKSClusterSpec",
    "NKSClusterStatus",
    "NKSNodeGroup",
    "NKSNodeGroupSpec",
    "NKSNodeGroupStatus",
    "Resource",
]
