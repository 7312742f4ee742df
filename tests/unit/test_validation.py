"""The guide's rules that the CRD schema cannot express."""

from __future__ import annotations

import pytest

from nks_operator.reconcile import validation
from tests.unit.specs import cluster_spec, nodegroup_spec

SUPPORTED = {"v1.26.3": False, "v1.27.3": True, "v1.28.3": True, "v1.29.3": True}


def problems(**changes: object) -> list[str]:
    return validation.cluster_problems(cluster_spec(**changes), "demo", SUPPORTED, for_create=True)


def test_valid_spec_has_no_problems() -> None:
    assert problems() == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("a" * 21, "longer than 20"),
        ("1abc", "start with a letter"),
        ("abc-", "start with a letter"),
        ("ABC", "start with a letter"),
        ("abcdef12-3456-7890-abcd-ef1234567890"[:20], None),
    ],
)
def test_name_rules(name: str, fragment: str | None) -> None:
    found = validation.nks_name_problems("spec.clusterName", name)
    if fragment is None:
        assert found == []
    else:
        assert any(fragment in p for p in found), found


def test_uuid_like_name_refused() -> None:
    found = validation.nks_name_problems("x", "0123456789abcdef0123456789abcdef")
    assert found  # too long and UUID-like: refused either way


def test_metadata_name_too_long_is_reported_when_no_cluster_name() -> None:
    found = validation.cluster_problems(
        cluster_spec(), "a-very-long-metadata-name-here", SUPPORTED, for_create=True
    )
    assert any("metadata.name" in p and "20" in p for p in found)


@pytest.mark.parametrize(
    ("network", "fragment"),
    [
        ({"podsNetworkCIDR": "169.254.0.0/16"}, "link-local"),
        ({"podsNetworkCIDR": "198.18.0.0/20"}, "198.18.0.0/19"),
        ({"serviceClusterIPRange": "10.0.0.0/25"}, "smaller than /24"),
        ({"podsNetworkCIDR": "10.0.0.0/16", "serviceClusterIPRange": "10.0.128.0/17"}, "overlaps"),
        ({"podsNetworkCIDR": "10.100.0.5/16"}, "host bits"),
        ({"podsNetworkCIDR": "10.100.0.0/22", "podsNetworkSubnet": 23}, "prefix + 2"),
    ],
)
def test_cidr_rules(network: dict[str, object], fragment: str) -> None:
    found = problems(network=network)
    assert any(fragment in p for p in found), found


def test_guides_normal_example_is_valid() -> None:
    assert problems(network={"podsNetworkCIDR": "10.100.0.0/22", "podsNetworkSubnet": 24}) == []


def test_docker_bridge_only_for_old_versions() -> None:
    supported = {**SUPPORTED, "v1.23.3": True}
    old = validation.cluster_problems(
        cluster_spec(kubernetesVersion="v1.23.3", network={"podsNetworkCIDR": "172.17.0.0/16"}),
        "demo",
        supported,
        for_create=True,
    )
    new = problems(network={"podsNetworkCIDR": "172.17.0.0/16"})
    assert any("Docker bridge" in p for p in old)
    assert not any("Docker bridge" in p for p in new)


def test_versions() -> None:
    assert any("not a version NKS supports" in p for p in problems(kubernetesVersion="v1.99.0"))
    assert any("no longer be used" in p for p in problems(kubernetesVersion="v1.26.3"))
    # An existing cluster may stay on a version no longer offered for new clusters.
    existing = validation.cluster_problems(
        cluster_spec(kubernetesVersion="v1.26.3"), "demo", SUPPORTED, for_create=False
    )
    assert existing == []


def test_autoscaler_bounds_and_encryption_pairs() -> None:
    found = problems(
        defaultWorker={
            "nodeCount": 5,
            "autoscaler": {"enabled": True, "minNodes": 1, "maxNodes": 3},
            "bootVolume": {"type": "General HDD", "sizeGB": 50, "keyID": "k"},
        }
    )
    assert any("within autoscaler" in p for p in found)
    assert any("keyID and appKeySecretRef" in p for p in found)


def test_ip_acl_enabled_without_targets() -> None:
    found = problems(apiEndpoint={"ipAccessControl": {"enabled": True}})
    assert any("targets is empty" in p for p in found)


def test_nodegroup_reserved_names_and_duplicates() -> None:
    node = "593e4aee-697f-4808-aa5b-d3c8703795ff"
    spec = nodegroup_spec(stoppedNodes=[node, node])
    found = validation.nodegroup_problems(spec, "default-worker", SUPPORTED, for_create=True)
    assert any("reserved" in p for p in found)
    assert any("more than once" in p for p in found)


def test_addons_listed_twice() -> None:
    addon = {"name": "calico", "version": "v3.28.2-nks1"}
    assert problems(addons=[addon, {**addon, "version": "v3.29.0-nks1"}]) == [
        "spec.addons lists 'calico' more than once"
    ]
