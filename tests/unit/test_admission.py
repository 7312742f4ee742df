"""The admission webhook's decisions: the operator's own messages, immutable fields on UPDATE."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from nks_operator.api import NKSClusterSpec
from nks_operator.api.problems import format_validation_error
from nks_operator.reconcile import validation
from nks_operator.reconcile.admission import review_cluster, review_nodegroup
from tests.unit.specs import CLUSTER_SPEC, NODEGROUP_SPEC, _merge

CLUSTER_ID = "0b6c8a30-5e4b-4bb4-a3c1-1b1d1bd7d1a0"
NETWORKS = [
    {
        "networkID": "33333333-3333-4333-8333-333333333333",
        "subnetID": "44444444-4444-4444-8444-444444444444",
    }
]
GROUP_ID = "9d1c5f6e-1f2a-4c3b-8d4e-5f6a7b8c9d0e"
CREATED = {"clusterID": CLUSTER_ID, "kubernetesVersion": "v1.29.3"}
GROUP_CREATED = {"nodeGroupID": GROUP_ID, "clusterID": CLUSTER_ID}


def spec(**changes: Any) -> dict[str, Any]:
    return _merge(CLUSTER_SPEC, changes)


def group(**changes: Any) -> dict[str, Any]:
    return _merge(NODEGROUP_SPEC, changes)


def update(changes: dict[str, Any], status: dict[str, Any] | None = None) -> list[str]:
    """Problems of an UPDATE from the base spec to the base spec with `changes`."""
    return review_cluster(
        spec(**changes), spec(), "demo", old_status=CREATED if status is None else status
    )


# -- CREATE: the operator's validation, word for word ------------------------------------


def test_valid_cluster_is_admitted() -> None:
    assert review_cluster(spec(), None, "demo") == []


def test_create_reports_the_operators_exact_messages() -> None:
    bad = spec(
        network={
            "serviceClusterIPRange": "169.254.0.0/16",
            "podsNetworkCIDR": "10.100.0.0/21",
            "podsNetworkSubnet": 22,
        }
    )
    found = review_cluster(bad, None, "demo")
    expected = validation.cluster_problems(
        NKSClusterSpec.model_validate(bad), "demo", None, for_create=True
    )
    assert found == expected
    assert (
        "spec.network.serviceClusterIPRange 169.254.0.0/16 overlaps the link-local range "
        "169.254.0.0/16" in found
    )
    assert any(p.startswith("spec.network.podsNetworkSubnet 22 must be at least") for p in found)


def test_metadata_name_too_long_for_nks() -> None:
    assert review_cluster(spec(), None, "a-very-long-cluster-name") == [
        "metadata.name (as clusterName) 'a-very-long-cluster-name' is longer than 20 "
        "characters (NKS limit); set it explicitly"
    ]
    assert review_cluster(spec(clusterName="short"), None, "a-very-long-cluster-name") == []


def test_unknown_name_is_left_to_the_operator() -> None:
    """generateName: no name yet at admission time."""
    assert review_cluster(spec(), None, "") == []
    assert review_cluster(spec(clusterName="Bad_Name"), None, "") != []


def test_model_errors_are_formatted_like_the_operators() -> None:
    bad = spec(defaultWorker={"autoscaler": {"enabled": True, "minNodes": 5, "maxNodes": 2}})
    with pytest.raises(ValidationError) as error:
        NKSClusterSpec.model_validate(bad)
    found = review_cluster(bad, None, "demo")
    assert found == format_validation_error(error.value)
    assert found[0].startswith("spec.defaultWorker.autoscaler: Value error, autoscaler.minNodes")


def test_unknown_field_is_refused() -> None:
    assert review_cluster(spec(keyPair="x"), None, "demo") == [
        "spec.keyPair: Extra inputs are not permitted"
    ]


def test_map_keys_and_sizes_are_refused_naming_the_field() -> None:
    """Map keys have no CRD schema on Kubernetes 1.20: the model's check is the one that
    refuses them, here at admission as in the operator (issue 17, "Bounded")."""
    bad_key = spec(argocd={"enabled": True, "labels": {"team a": "x"}})
    assert review_cluster(bad_key, None, "demo") == [
        "spec.argocd.labels.team a.[key]: 'team a' is not a valid Kubernetes label key: "
        "the name must be 1..63 characters of letters, digits, '-', '_' and '.', beginning "
        "and ending with a letter or digit"
    ]
    too_many = {"argocd": {"labels": {f"k{i}": "v" for i in range(33)}}}
    assert update(too_many) == [
        "spec.argocd.labels: Dictionary should have at most 32 items after validation, not more"
    ]
    option = {"addons": [{"name": "calico", "version": "v1", "options": {"mode!": "vxlan"}}]}
    (problem,) = review_cluster(spec(**option), None, "demo")
    assert problem.startswith("spec.addons.0.options.mode!.[key]: 'mode!' is not a valid add-on")


def test_unsupported_version_is_not_checked_without_nks() -> None:
    assert review_cluster(spec(kubernetesVersion="v1.99.0"), None, "demo") == []


# -- UPDATE -------------------------------------------------------------------------------


def test_unchanged_spec_is_admitted_even_when_invalid() -> None:
    """kopf's finalizer and annotation writes must never be blocked by an old problem."""
    old = spec(network={"serviceClusterIPRange": "169.254.0.0/16"})
    assert review_cluster(copy.deepcopy(old), old, "demo", old_status=CREATED) == []


def test_changed_spec_is_validated_in_full() -> None:
    found = update({"network": {"podsNetworkCIDR": "198.18.0.0/24"}})
    assert found == [
        "spec.network.podsNetworkCIDR 198.18.0.0/24 overlaps 198.18.0.0/19, which NKS uses "
        "internally"
    ]


def test_keypair_change_of_an_existing_cluster_is_refused() -> None:
    assert update({"keypair": "other"}) == [
        "spec.keypair is immutable: it was 'my-keypair', the change asks for 'other'"
    ]


def test_immutable_fields_are_free_before_the_cluster_exists_in_nks() -> None:
    """NKS refused the create (say, no such key pair): fixing the field must be possible."""
    assert update({"keypair": "other", "region": "kr1"}, status={}) == []
    assert update({"keypair": "other"}, status={"phase": "Failed"}) == []


def test_a_create_in_flight_counts_as_existing() -> None:
    status = {"creation": {"name": "demo", "requestedAt": "2026-01-01T00:00:00Z"}}
    assert update({"keypair": "other"}, status=status) != []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"clusterName": "renamed"},
            "spec.clusterName is immutable: it was 'demo', the change asks for 'renamed'",
        ),
        ({"region": "kr1"}, "spec.region is immutable: it was 'kr2', the change asks for 'kr1'"),
        (
            {"network": {"vpcNetworkID": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"}},
            "spec.network.vpcNetworkID is immutable",
        ),
        (
            {"network": {"subnetID": "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"}},
            "spec.network.subnetID is immutable",
        ),
        (
            {"network": {"externalNetworkID": "cccccccc-cccc-4ccc-8ccc-cccccccccccc"}},
            "spec.network.externalNetworkID is immutable: it was unset, the change asks for "
            "'cccccccc-cccc-4ccc-8ccc-cccccccccccc'",
        ),
        (
            {"network": {"externalSubnetIDs": ["dddddddd-dddd-4ddd-8ddd-dddddddddddd"]}},
            "spec.network.externalSubnetIDs is immutable",
        ),
        (
            {"network": {"serviceClusterIPRange": "10.254.0.0/16"}},
            "spec.network.serviceClusterIPRange is immutable",
        ),
        (
            {"apiEndpoint": {"publicIP": True}},
            "spec.apiEndpoint.publicIP is immutable: it was False, the change asks for True",
        ),
        ({"strictSecurityGroupRules": True}, "spec.strictSecurityGroupRules is immutable"),
        (
            {"defaultWorker": {"imageID": "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"}},
            "spec.defaultWorker.imageID is immutable",
        ),
        (
            {"defaultWorker": {"availabilityZone": "kr2-pub-a"}},
            "spec.defaultWorker.availabilityZone is immutable",
        ),
        (
            {"defaultWorker": {"bootVolume": {"sizeGB": 100}}},
            "spec.defaultWorker.bootVolume.sizeGB is immutable: it was 50, the change asks for 100",
        ),
        (
            {"defaultWorker": {"bootVolume": {"type": "General SSD"}}},
            "spec.defaultWorker.bootVolume.type is immutable",
        ),
        (
            {"defaultWorker": {"additionalNetworks": NETWORKS}},
            "spec.defaultWorker.additionalNetworks is immutable: it was [], the change asks for "
            f"{NETWORKS}",
        ),
        (
            {
                "defaultWorker": {
                    "extraSecurityGroups": [
                        {
                            "targetSubnetID": "55555555-5555-4555-8555-555555555555",
                            "securityGroupIDs": ["66666666-6666-4666-8666-666666666666"],
                        }
                    ]
                }
            },
            "spec.defaultWorker.extraSecurityGroups is immutable",
        ),
    ],
)
def test_immutable_cluster_fields(changes: dict[str, Any], expected: str) -> None:
    found = update(changes)
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


@pytest.mark.parametrize(
    "changes",
    [
        {"credentialsRef": {"name": "other-credentials"}},
        {"defaultWorker": {"nodeCount": 5, "flavorID": "11111111-1111-4111-8111-111111111111"}},
        {"kubernetesVersion": "v1.30.1"},
        {"clusterName": "demo"},  # the name it already had through metadata.name
        # The default (private: no external network), now explicit.
        {"apiEndpoint": {"publicIP": False}},
        {"deletionPolicy": "Retain", "certificate": {"validityYears": 2}},
    ],
)
def test_mutable_cluster_fields(changes: dict[str, Any]) -> None:
    assert update(changes) == []


def test_external_subnets_are_a_set_and_the_endpoint_follows_the_network() -> None:
    subnets = ["aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"]
    external = {"externalNetworkID": "cccccccc-cccc-4ccc-8ccc-cccccccccccc"}
    old = spec(network={**external, "externalSubnetIDs": subnets})
    reordered = spec(network={**external, "externalSubnetIDs": subnets[::-1]})
    assert review_cluster(reordered, old, "demo", old_status=CREATED) == []
    # Unset publicIP follows the network (public here): saying so explicitly changes nothing,
    # saying the opposite is a change of an immutable field.
    explicit = spec(
        network={**external, "externalSubnetIDs": subnets}, apiEndpoint={"publicIP": True}
    )
    assert review_cluster(explicit, old, "demo", old_status=CREATED) == []
    private = spec(
        network={**external, "externalSubnetIDs": subnets}, apiEndpoint={"publicIP": False}
    )
    (problem,) = review_cluster(private, old, "demo", old_status=CREATED)
    assert problem.startswith("spec.apiEndpoint.publicIP is immutable: it was True")


def test_a_public_endpoint_needs_an_external_network_at_create() -> None:
    problems = review_cluster(spec(apiEndpoint={"publicIP": True}), None, "demo")
    assert any("publicIP true needs spec.network.externalNetworkID" in p for p in problems)
    assert review_cluster(spec(), None, "demo") == []  # unset: private, valid


def test_every_changed_field_is_named() -> None:
    found = update(
        {
            "keypair": "other",
            "region": "kr1",
            "defaultWorker": {"imageID": "ffffffff-ffff-4fff-8fff-ffffffffffff"},
        }
    )
    assert [p.split(" ", 1)[0] for p in found] == [
        "spec.region",
        "spec.keypair",
        "spec.defaultWorker.imageID",
    ]


def test_extra_volumes_may_only_grow() -> None:
    volume = {"type": "General SSD", "sizeGB": 100, "mountPath": "/data"}
    old = spec(defaultWorker={"extraVolumes": [volume]})

    def change(volumes: list[dict[str, Any]]) -> list[str]:
        return review_cluster(
            spec(defaultWorker={"extraVolumes": volumes}), old, "demo", old_status=CREATED
        )

    assert change([{**volume, "sizeGB": 200}]) == []
    assert change([{**volume, "sizeGB": 50}]) == [
        "spec.defaultWorker.extraVolumes[0].sizeGB may only grow: it was 100, the change asks "
        "for 50"
    ]
    assert change([]) == [
        "spec.defaultWorker.extraVolumes is immutable: it had 1 volume(s), the change asks for 0 "
        "(volumes cannot be added or removed)"
    ]
    assert change([volume, volume])[0].startswith("spec.defaultWorker.extraVolumes is immutable")
    assert change([{**volume, "mountPath": "/other"}]) == [
        "spec.defaultWorker.extraVolumes[0].mountPath is immutable: it was '/data', the change "
        "asks for '/other'"
    ]


def test_cluster_id_cannot_point_elsewhere_once_managed() -> None:
    other = "11111111-2222-3333-4444-555555555555"
    assert update({"clusterID": other}) == [
        f"spec.clusterID is immutable: this resource manages {CLUSTER_ID}, the spec asks for "
        f"{other}"
    ]
    assert update({"clusterID": CLUSTER_ID}) == []
    # Not adopted yet (no credentials, say): pointing at another cluster is still possible.
    old = spec(clusterID=CLUSTER_ID)
    assert review_cluster(spec(clusterID=other), old, "demo", old_status={}) == []


def test_version_may_not_go_below_what_nks_runs() -> None:
    assert update({"kubernetesVersion": "v1.28.3"}) == [
        "spec.kubernetesVersion v1.28.3 is older than the cluster's v1.29.3: NKS cannot downgrade"
    ]


def test_a_version_raise_that_never_happened_can_be_taken_back() -> None:
    old = spec(kubernetesVersion="v1.99.0")  # NKS does not list it: nothing was upgraded
    assert review_cluster(spec(), old, "demo", old_status=CREATED) == []


def test_a_field_the_operator_reports_as_drifted_may_be_fixed() -> None:
    status = {**CREATED, "drift": ["spec.keypair", "spec.defaultWorker.bootVolume.type"]}
    changes = {
        "keypair": "real-key",
        "defaultWorker": {"bootVolume": {"type": "General SSD"}},
        "region": "kr1",
    }
    assert update(changes, status=status) == [
        "spec.region is immutable: it was 'kr2', the change asks for 'kr1'"
    ]


def test_a_create_intent_annotation_counts_as_existing() -> None:
    annotations = {"nks.nhncloud.com/create-requested": '{"name": "demo"}'}
    problems = review_cluster(spec(keypair="other"), spec(), "demo", old_annotations=annotations)
    assert problems == [
        "spec.keypair is immutable: it was 'my-keypair', the change asks for 'other'"
    ]


def test_an_old_spec_that_no_longer_validates_skips_the_immutable_checks() -> None:
    old = spec(unknownField=1)
    assert review_cluster(spec(keypair="other"), old, "demo", old_status=CREATED) == []


# -- node groups --------------------------------------------------------------------------


def group_update(changes: dict[str, Any], status: dict[str, Any] | None = None) -> list[str]:
    return review_nodegroup(
        group(**changes), group(), "pool", old_status=GROUP_CREATED if status is None else status
    )


def test_valid_node_group_is_admitted() -> None:
    assert review_nodegroup(group(), None, "pool") == []


def test_node_group_create_reports_the_operators_messages() -> None:
    assert review_nodegroup(group(), None, "default-worker") == [
        "metadata.name (as nodeGroupName) 'default-worker' is reserved by NKS"
    ]
    found = review_nodegroup(group(stoppedNodes=[CLUSTER_ID, CLUSTER_ID]), None, "pool")
    assert found == ["spec.stoppedNodes lists a node more than once"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"clusterRef": {"name": "other"}},
            "spec.clusterRef.name is immutable: it was 'demo', the change asks for 'other'",
        ),
        ({"nodeGroupName": "renamed"}, "spec.nodeGroupName is immutable: it was 'pool'"),
        ({"imageID": "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"}, "spec.imageID is immutable"),
        ({"availabilityZone": "kr2-pub-a"}, "spec.availabilityZone is immutable"),
        ({"bootVolume": {"sizeGB": 60}}, "spec.bootVolume.sizeGB is immutable"),
    ],
)
def test_immutable_node_group_fields(changes: dict[str, Any], expected: str) -> None:
    found = group_update(changes)
    assert len(found) == 1, found
    assert found[0].startswith(expected), found
    assert group_update(changes, status={}) == []


def test_node_group_mutable_fields() -> None:
    assert (
        group_update(
            {
                "nodeCount": 3,
                "flavorID": "22222222-2222-4222-8222-222222222222",
                "stoppedNodes": ["77777777-7777-4777-8777-777777777777"],
            }
        )
        == []
    )


def test_node_group_id_and_version() -> None:
    other = "11111111-2222-3333-4444-555555555555"
    assert group_update({"nodeGroupID": other}) == [
        f"spec.nodeGroupID is immutable: this resource manages {GROUP_ID}, the spec asks for "
        f"{other}"
    ]
    status = {**GROUP_CREATED, "kubernetesVersion": "v1.29.3"}
    assert group_update({"kubernetesVersion": "v1.28.3"}, status=status) == [
        "spec.kubernetesVersion v1.28.3 is older than the node group's v1.29.3: NKS cannot "
        "downgrade"
    ]
    assert group_update({"kubernetesVersion": "v1.29.3"}, status=status) == []
