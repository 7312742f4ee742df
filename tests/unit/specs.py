"""Spec builders for unit tests: a valid minimal spec, changed only where a test says."""

from __future__ import annotations

import copy
from typing import Any

from nks_operator.api import NKSClusterSpec, NKSNodeGroupSpec

CLUSTER_SPEC: dict[str, Any] = {
    "region": "kr2",
    "kubernetesVersion": "v1.29.3",
    "keypair": "my-keypair",
    "network": {
        "vpcNetworkID": "eb212079-b6ec-430c-ba57-14280a457bcb",
        "subnetID": "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90",
    },
    "defaultWorker": {
        "flavorID": "6ef27f21-c774-4c0e-84ff-7dd4a762571f",
        "imageID": "f462a2a5-ba24-46d6-b7a1-9a9febcd3cfc",
        "availabilityZone": "kr2-pub-b",
        "nodeCount": 2,
        "bootVolume": {"type": "General HDD", "sizeGB": 50},
    },
}

NODEGROUP_SPEC: dict[str, Any] = {
    "clusterRef": {"name": "demo"},
    "flavorID": "6ef27f21-c774-4c0e-84ff-7dd4a762571f",
    "imageID": "f462a2a5-ba24-46d6-b7a1-9a9febcd3cfc",
    "availabilityZone": "kr2-pub-b",
    "nodeCount": 1,
    "bootVolume": {"type": "General SSD", "sizeGB": 30},
}


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


def cluster_spec(**changes: Any) -> NKSClusterSpec:
    return NKSClusterSpec.model_validate(_merge(CLUSTER_SPEC, changes))


def nodegroup_spec(**changes: Any) -> NKSNodeGroupSpec:
    return NKSNodeGroupSpec.model_validate(_merge(NODEGROUP_SPEC, changes))
