"""The models accept the examples, refuse bad values with a useful message, and round-trip."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from nks_operator.api import (
    CLUSTER,
    NKSCluster,
    NKSClusterSpec,
    NKSNodeGroup,
    NKSNodeGroupSpec,
)
from nks_operator.api.crd import openapi_schema
from tests.api.helpers import EXAMPLES, example_documents, example_object, schema_nodes

CLUSTER_EXAMPLES = ["nkscluster-minimal.yaml", "nkscluster-full.yaml"]
# Adoption turns creation off, so the full example shows it only in a comment.
NOT_IN_FULL_EXAMPLE = {
    "spec.clusterID",
    # One log destination at a time: the example ships to Log & Crash Search and shows the
    # Object Storage settings in a comment.
    "spec.controlPlaneLog.obs",
    "spec.controlPlaneLog.obs.apiURL",
    "spec.controlPlaneLog.obs.storeAs",
}


def minimal_cluster() -> dict[str, Any]:
    return example_object("nkscluster-minimal.yaml", "NKSCluster")["spec"]


def nodegroup() -> dict[str, Any]:
    return example_object("nksnodegroup.yaml", "NKSNodeGroup")["spec"]


@pytest.mark.parametrize("file_name", CLUSTER_EXAMPLES)
def test_cluster_examples_are_valid(file_name: str) -> None:
    body = example_object(file_name, "NKSCluster")
    assert body["apiVersion"] == "nks.nhncloud.com/v1alpha1"
    assert "namespace" not in body["metadata"], "examples are applied with -n"
    cluster = NKSCluster.model_validate(body)
    assert cluster.spec.region == "kr2"
    assert cluster.spec.kubernetes_version == "v1.29.3"


def test_nodegroup_example_is_valid() -> None:
    body = example_object("nksnodegroup.yaml", "NKSNodeGroup")
    assert "namespace" not in body["metadata"]
    group = NKSNodeGroup.model_validate(body)
    cluster_name = example_object("nkscluster-minimal.yaml", "NKSCluster")["metadata"]["name"]
    assert group.spec.cluster_ref.name == cluster_name


def test_credentials_secret_example() -> None:
    (secret,) = example_documents("credentials-secret.yaml")
    assert (secret["kind"], secret["type"]) == ("Secret", "Opaque")
    assert set(secret["stringData"]) == {"tenantId", "username", "password"}
    cluster = example_object("nkscluster-minimal.yaml", "NKSCluster")
    assert cluster["spec"]["credentialsRef"]["name"] == secret["metadata"]["name"]
    text = (EXAMPLES / "credentials-secret.yaml").read_text(encoding="utf-8")
    assert "# identityUrl:" in text and "# nksUrl:" in text


def test_full_example_sets_every_field() -> None:
    spec = example_object("nkscluster-full.yaml", "NKSCluster")["spec"]
    schema = openapi_schema(CLUSTER)["properties"]["spec"]
    missing = []
    for path, _node in schema_nodes(schema, "spec"):
        value: Any = {"spec": spec}
        for step in path.replace("[]", ".[]").split("."):
            if step == "[]":
                value = value[0] if value else None
            elif step == "<key>":  # a map: any one of its entries
                value = next(iter(value.values()), None) if isinstance(value, dict) else None
            elif isinstance(value, dict):
                value = value.get(step)
            if value is None:
                break
        if value is None and path not in NOT_IN_FULL_EXAMPLE:
            missing.append(path)
    assert not missing, f"examples/nkscluster-full.yaml does not set {missing}"


def test_full_example_references_its_appkey_secret() -> None:
    documents = example_documents("nkscluster-full.yaml")
    secrets = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Secret"}
    spec = example_object("nkscluster-full.yaml", "NKSCluster")["spec"]
    worker = spec["defaultWorker"]
    for ref in (
        worker["bootVolume"]["appKeySecretRef"],
        worker["extraVolumes"][0]["appKeySecretRef"],
        spec["controlPlaneLog"]["lncs"]["appKeySecretRef"],
    ):
        assert ref["key"] in secrets[ref["name"]]["stringData"]


# -- round trips -----------------------------------------------------------------------------


def round_trip_cases() -> list[tuple[type[BaseModel], dict[str, Any]]]:
    cases: list[tuple[type[BaseModel], dict[str, Any]]] = [
        (NKSClusterSpec, example_object(name, "NKSCluster")["spec"]) for name in CLUSTER_EXAMPLES
    ]
    cases.append((NKSNodeGroupSpec, nodegroup()))
    return cases


@pytest.mark.parametrize(("model", "spec"), round_trip_cases())
def test_round_trip(model: type[BaseModel], spec: dict[str, Any]) -> None:
    parsed = model.model_validate(spec)
    # What the user wrote comes back unchanged, camelCase and all.
    assert parsed.model_dump(by_alias=True, exclude_unset=True, mode="json") == spec
    # And a full dump (as the operator would write it) parses to the same model.
    dumped = parsed.model_dump(by_alias=True, mode="json")
    assert model.model_validate(dumped) == parsed
    assert model.model_validate_json(parsed.model_dump_json(by_alias=True)) == parsed


# -- bad values ------------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def set_at(*path: str | int, value: Any) -> Mutation:
    def mutate(spec: dict[str, Any]) -> None:
        target: Any = spec
        for step in path[:-1]:
            target = target.setdefault(step, {}) if isinstance(step, str) else target[step]
        target[path[-1]] = value

    return mutate


CLUSTER_BAD: dict[str, tuple[Mutation, str]] = {
    "name starts with a digit": (set_at("clusterName", value="1demo"), "clusterName"),
    "name with upper case": (set_at("clusterName", value="Demo"), "clusterName"),
    "name with underscore": (set_at("clusterName", value="de_mo"), "clusterName"),
    "name ends with a dash": (set_at("clusterName", value="demo-"), "clusterName"),
    "name of 21 characters": (set_at("clusterName", value="a" * 21), "clusterName"),
    "empty name": (set_at("clusterName", value=""), "clusterName"),
    "unknown region": (set_at("region", value="jp1"), "region"),
    "VPC network not a UUID": (
        set_at("network", "vpcNetworkID", value="not-a-uuid"),
        "vpcNetworkID\n  must be a UUID",
    ),
    "subnet not a UUID": (set_at("network", "subnetID", value="subnet-1"), "subnetID"),
    "flavor not a UUID": (set_at("defaultWorker", "flavorID", value="m2.c4m8"), "flavorID"),
    "image not a UUID": (set_at("defaultWorker", "imageID", value="ubuntu-22.04"), "imageID"),
    "gateway not a UUID": (set_at("serviceGateways", "ncr", value="sgw-1"), "ncr"),
    "node to remove not a UUID": (
        set_at("defaultWorker", "nodesToRemove", value=["node-0"]),
        "nodesToRemove",
    ),
    "addon without version": (set_at("addons", value=[{"name": "calico"}]), "version"),
    "bad version": (set_at("kubernetesVersion", value="1.29"), "kubernetesVersion"),
    "nodeCount 0": (set_at("defaultWorker", "nodeCount", value=0), "nodeCount"),
    "nodeCount 101": (set_at("defaultWorker", "nodeCount", value=101), "nodeCount"),
    "boot volume too small": (set_at("defaultWorker", "bootVolume", "sizeGB", value=5), "sizeGB"),
    "podsNetworkSubnet 19": (set_at("network", "podsNetworkSubnet", value=19), "podsNetworkSubnet"),
    "CIDR not a CIDR": (set_at("network", "podsNetworkCIDR", value="10.0.0.0"), "podsNetworkCIDR"),
    "unknown CNI": (set_at("network", "cni", value="flannel"), "cni"),
    "unknown deletionPolicy": (set_at("deletionPolicy", value="Orphan"), "deletionPolicy"),
    "certificate 6 years": (set_at("certificate", "validityYears", value=6), "validityYears"),
    "ACL action": (set_at("apiEndpoint", "ipAccessControl", "action", value="ACCEPT"), "action"),
    "minNodes above maxNodes": (
        set_at(
            "defaultWorker", "autoscaler", value={"enabled": True, "minNodes": 5, "maxNodes": 3}
        ),
        "minNodes (5) exceeds maxNodes (3)",
    ),
    "unknown field (typo)": (set_at("kubernetesVersoin", value="v1.29.3"), "kubernetesVersoin"),
    "unknown nested field": (set_at("network", "subnetId", value="x"), "subnetId"),
    "missing region": (lambda spec: spec.pop("region"), "region"),
    "missing defaultWorker": (lambda spec: spec.pop("defaultWorker"), "defaultWorker"),
    "string for a number": (set_at("defaultWorker", "nodeCount", value="three"), "nodeCount"),
}


@pytest.mark.parametrize("case", sorted(CLUSTER_BAD))
def test_cluster_rejects(case: str) -> None:
    mutate, expected = CLUSTER_BAD[case]
    spec = copy.deepcopy(minimal_cluster())
    mutate(spec)
    with pytest.raises(ValidationError) as caught:
        NKSClusterSpec.model_validate(spec)
    assert expected in str(caught.value)


NODEGROUP_BAD: dict[str, tuple[Mutation, str]] = {
    "name too long": (set_at("nodeGroupName", value="n" * 21), "nodeGroupName"),
    "name pattern": (set_at("nodeGroupName", value="pool_1"), "nodeGroupName"),
    "no clusterRef": (lambda spec: spec.pop("clusterRef"), "clusterRef"),
    "clusterRef not a name": (set_at("clusterRef", "name", value="Bad Name"), "name"),
    "nodeCount -1": (set_at("nodeCount", value=-1), "nodeCount"),
    "stopped node not a UUID": (set_at("stoppedNodes", value=["n1"]), "stoppedNodes"),
    "rollout maxUnavailableNodes 0": (
        set_at("rollout", "maxUnavailableNodes", value=0),
        "maxUnavailableNodes",
    ),
    "four extra volumes": (
        set_at("extraVolumes", value=[{"type": "General HDD", "sizeGB": 10}] * 4),
        "extraVolumes",
    ),
    "minNodes above maxNodes": (
        set_at("autoscaler", value={"minNodes": 10, "maxNodes": 2}),
        "minNodes (10) exceeds maxNodes (2)",
    ),
    "bad version pin": (set_at("kubernetesVersion", value="latest"), "kubernetesVersion"),
}


@pytest.mark.parametrize("case", sorted(NODEGROUP_BAD))
def test_nodegroup_rejects(case: str) -> None:
    mutate, expected = NODEGROUP_BAD[case]
    spec = copy.deepcopy(nodegroup())
    mutate(spec)
    with pytest.raises(ValidationError) as caught:
        NKSNodeGroupSpec.model_validate(spec)
    assert expected in str(caught.value)


@pytest.mark.parametrize("name", ["a", "demo", "prod-kr2", "a1-b2", "a" * 20])
def test_good_names_pass(name: str) -> None:
    spec = {**minimal_cluster(), "clusterName": name}
    assert NKSClusterSpec.model_validate(spec).cluster_name == name
    assert NKSNodeGroupSpec.model_validate({**nodegroup(), "nodeGroupName": name})
