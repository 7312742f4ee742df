"""Payload models read NKS's quirky shapes and write the guide's wire shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from nks_operator.nks import (
    IPACL,
    AutoscalerConfig,
    Cluster,
    ClusterCreateLabels,
    ClusterLabels,
    NodeGroup,
    NodeGroupCreateLabels,
    NodeGroupLabels,
    Supports,
    TaskEvent,
)
from nks_operator.nks.models import is_failed, is_in_progress, is_stable, version_key

# The guide's "Get a Cluster" example, with its invalid `{{...}}` made valid JSON.
GUIDE_CLUSTER = {
    "api_address": "https://2b778d83-kr2-k8s.container.cloud.toast.com:6443",
    "cluster_template_id": "b4503d97-6012-499d-a31a-5200f94a7890",
    "coe_version": "v1.23.3",
    "container_version": "1.12.6",
    "create_timeout": 60,
    "created_at": "2021-08-05T01:48:39+00:00",
    "docker_volume_size": None,
    "fixed_network": "eb212079-b6ec-430c-ba57-14280a457bcb",
    "fixed_subnet": "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90",
    "flavor_id": "6ef27f21-c774-4c0e-84ff-7dd4a762571f",
    "floating_ip_enabled": False,
    "health_status": "HEALTHY",
    "health_status_reason": {"test-k8s-default-w-bnga636xulqk-node-0.Ready": "True", "api": "ok"},
    "keypair": "test-keypair",
    "labels": {
        "availability_zone": "kr2-pub-b",
        "cert_manager_api": "True",
        "clusterautoscale": "nodegroupfeature",
        "etcd_volume_size": "10",
        "external_network_id": "751b8227-7b45-440a-9349-dbf829d0aba5",
        "external_subnet_id_list": "59ddc195-76b1-431d-9693-f09880747dc6:7a1e0a9d-0000",
        "additional_network_id_list": "",
        "kube_tag": "v1.23.3",
        "kube_version_status": "NEED_UPGRADE",
        "master_lb_floating_ip_enabled": "true",
        "strict_sg_rules": "True",
        "node_image": "f462a2a5-ba24-46d6-b7a1-9a9febcd3cfc",
        "service_cluster_ip_range": "10.254.0.0/16",
        "pods_network_cidr": "10.100.0.0/16",
        "pods_network_subnet": "24",
    },
    "links": [{"href": "https://example/v1/clusters/2b778d83", "rel": "self"}],
    "name": "test-k8s",
    "node_addresses": ["192.168.0.5"],
    "node_count": 1,
    "project_id": "1ffeaca9bbf94ab1aa9cffdec29a258a",
    "stack_id": "7f497472-9729-4b89-9124-1c097335b856",
    "status": "CREATE_COMPLETE",
    "status_reason": None,
    "updated_at": "2021-08-05T04:39:49+00:00",
    "user_id": "12ba32bebc414c4992a2c9be3952a64c",
    "uuid": "2b778d83-8b67-45b1-920e-b0c5ad5c2f30",
}


def test_guide_cluster_example() -> None:
    cluster = Cluster.model_validate(GUIDE_CLUSTER)
    labels = cluster.labels
    assert cluster.kubernetes_version == "v1.23.3"
    assert cluster.health_status == "HEALTHY"
    assert cluster.node_addresses == ["192.168.0.5"]
    assert cluster.created_at == datetime(2021, 8, 5, 1, 48, 39, tzinfo=UTC)
    assert cluster.is_stable and not cluster.is_in_progress
    assert labels.external_subnet_ids == [
        "59ddc195-76b1-431d-9693-f09880747dc6",
        "7a1e0a9d-0000",
    ]
    assert labels.additional_network_ids == []
    assert labels.master_lb_floating_ip_enabled is True
    assert labels.cert_manager_api is True
    assert labels.pods_network_subnet == 24
    # Unknown fields are dropped as they are read, top level and in labels: nothing reads
    # them, and the poller holds thousands of answers.
    assert cluster.model_extra is None and labels.model_extra is None
    assert "container_version" not in cluster.model_dump()
    assert "etcd_volume_size" not in labels.model_dump()


def test_cluster_nullable_fields() -> None:
    cluster = Cluster.model_validate(
        {"uuid": "u", "labels": None, "node_addresses": None, "node_count": "3"}
    )
    assert cluster.labels == ClusterLabels()
    assert cluster.node_addresses == []
    assert cluster.node_count == 3
    assert cluster.kubernetes_version is None
    assert cluster.is_in_progress  # no status yet


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("True", True),
        ("true", True),
        ("TRUE", True),
        (True, True),
        (1, True),
        ("1", True),
        ("False", False),
        ("false", False),
        (False, False),
        (0, False),
        ("", None),
        ("maybe", None),
        (None, None),
    ],
)
def test_label_booleans(raw: object, expected: bool | None) -> None:
    assert ClusterLabels.model_validate({"ca_enable": raw}).ca_enable is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(10, 10), ("10", 10), (" 7 ", 7), ("10.0", 10), (10.0, 10), ("", None), ("x", None)],
)
def test_label_numbers(raw: object, expected: int | None) -> None:
    assert ClusterLabels.model_validate({"ca_max_node_count": raw}).ca_max_node_count == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("a:b:c", ["a", "b", "c"]), ("a", ["a"]), ("", []), ("a::b:", ["a", "b"]), (["x"], ["x"])],
)
def test_colon_joined_lists(raw: object, expected: list[str]) -> None:
    labels = ClusterLabels.model_validate({"additional_subnet_id_list": raw})
    assert labels.additional_subnet_ids == expected


def test_label_wire_shapes_round_trip() -> None:
    wire = {
        "ca_enable": "True",
        "ca_max_node_count": "5",
        "external_subnet_id_list": "a:b",
        "pods_network_subnet": 24,
    }
    assert ClusterLabels.model_validate({**wire, "custom_label": "x"}).to_wire() == wire


def test_a_request_sends_labels_it_does_not_model() -> None:
    labels = NodeGroupCreateLabels.model_validate(
        {
            "availability_zone": "kr1-pub-a",
            "boot_volume_type": "General SSD",
            "boot_volume_size": 20,
            "custom_label": "sent",
        }
    )
    assert labels.to_wire()["custom_label"] == "sent"


def test_extra_volumes_and_groups_encoded_as_strings() -> None:
    labels = ClusterLabels.model_validate(
        {
            "extra_volumes": '[{"volume_type": "General SSD", "volume_size": "30"}]',
            "extra_security_groups": [{"target_subnet": "s", "security_group_ids": "a,b"}],
        }
    )
    assert labels.extra_volumes is not None and labels.extra_volumes[0].volume_size == 30
    assert labels.extra_security_groups is not None
    assert labels.extra_security_groups[0].security_group_ids == ["a", "b"]


def test_create_labels_require_the_guides_required_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        ClusterCreateLabels.model_validate({"availability_zone": "kr1-pub-a"})
    missing = {e["loc"][0] for e in caught.value.errors()}
    assert missing == {
        "node_image",
        "boot_volume_type",
        "boot_volume_size",
        "kube_tag",
        "master_lb_floating_ip_enabled",
    }


def test_nodegroup_guide_example() -> None:
    group = NodeGroup.model_validate(
        {
            "cluster_id": "96742ac4",
            "id": 2697,
            "is_default": False,
            "labels": {"ca_enable": "True", "ca_min_node_count": "2", "kube_tag": "v1.19.13"},
            "max_node_count": 10,
            "min_node_count": 2,
            "name": "default-worker",
            "node_addresses": ["192.168.0.40", "192.168.0.19"],
            "node_count": 2,
            "role": "worker",
            "status": "UPDATE_COMPLETE",
            "status_reason": "Stack UPDATE completed successfully",
            "uuid": "018b06c5",
            "version": None,
        }
    )
    assert group.kubernetes_version == "v1.19.13"
    assert group.labels.ca_enable is True
    assert group.labels.ca_min_node_count == 2
    assert group.is_stable
    assert group.model_extra is None  # `id` is not modelled: dropped


def test_autoscaler_accepts_strings_and_json_values() -> None:
    config = AutoscalerConfig.model_validate(
        {"ca_enable": "False", "ca_max_node_count": "10", "ca_scale_down_util_thresh": 50}
    )
    assert config.ca_enable is False
    assert config.ca_max_node_count == 10
    assert config.ca_scale_down_util_thresh == 50


def test_ipacl_disabled_answer() -> None:
    acl = IPACL.model_validate({"cluster_uuid": "u", "enable": "false", "ipacl_targets": None})
    assert acl.enable is False
    assert acl.ipacl_targets == []


def test_timestamps_are_utc_even_without_offset() -> None:
    event = TaskEvent.model_validate(
        {"uuid": "e", "created_at": "2024-01-30T01:31:06", "updated_at": "not a time"}
    )
    assert event.created_at == datetime(2024, 1, 30, 1, 31, 6, tzinfo=UTC)
    assert event.updated_at is None


@pytest.mark.parametrize(
    ("status", "stable", "failed", "in_progress"),
    [
        ("CREATE_COMPLETE", True, False, False),
        ("UPDATE_IN_PROGRESS", False, False, True),
        ("DELETE_FAILED", False, True, False),
        ("ROLLBACK_COMPLETE", True, False, False),  # idle again (the operation failed)
        ("ROLLBACK_FAILED", False, True, False),
        ("ROLLBACK_IN_PROGRESS", False, False, True),
        ("SOMETHING_NEW", False, False, True),
        (None, False, False, True),
    ],
)
def test_status_helpers(status: str | None, stable: bool, failed: bool, in_progress: bool) -> None:
    assert (is_stable(status), is_failed(status), is_in_progress(status)) == (
        stable,
        failed,
        in_progress,
    )


def test_supports_versions_sort_numerically() -> None:
    supports = Supports.model_validate(
        {"supported_k8s": {"v1.9.0": "True", "v1.10.1": False, "v1.30.3": True}}
    )
    assert supports.versions == ["v1.9.0", "v1.10.1", "v1.30.3"]
    assert supports.creatable_versions == ["v1.9.0", "v1.30.3"]
    assert version_key("garbage") < version_key("v0.0.1")


def test_request_models_reject_unreadable_required_values() -> None:
    with pytest.raises(ValidationError) as caught:
        ClusterCreateLabels(
            availability_zone="kr1-pub-a",
            node_image="img",
            boot_volume_type="General SSD",
            boot_volume_size="big",  # type: ignore[arg-type]
            kube_tag="v1.28.3",
            master_lb_floating_ip_enabled="perhaps",  # type: ignore[arg-type]
        )
    assert {e["loc"][0] for e in caught.value.errors()} == {
        "boot_volume_size",
        "master_lb_floating_ip_enabled",
    }


# -- what an answer costs: one fields record for answers of the same shape ---------------


def _answer(uuid: str, **labels: str) -> dict[str, object]:
    return {"uuid": uuid, "name": "prod", "status": "CREATE_COMPLETE", "labels": labels}


def test_answers_of_the_same_shape_share_their_record_of_set_fields() -> None:
    first = Cluster.model_validate(_answer("c-1", kube_tag="v1.29.3", ca_enable="true"))
    second = Cluster.model_validate(_answer("c-2", kube_tag="v1.30.3", ca_enable="false"))
    assert first.model_fields_set is second.model_fields_set
    assert first.labels.model_fields_set is second.labels.model_fields_set
    assert first.model_fields_set == {"uuid", "name", "status", "labels"}
    assert first.labels.model_fields_set == {"kube_tag", "ca_enable"}
    other = Cluster.model_validate({"uuid": "c-3"})
    assert other.model_fields_set == {"uuid"}
    assert first.model_dump(exclude_unset=True)["labels"] == {
        "kube_tag": "v1.29.3",
        "ca_enable": True,
    }


def test_answers_read_cleanly_share_their_private_record() -> None:
    first = Cluster.model_validate(_answer("c-1", kube_tag="v1.29.3"))
    second = Cluster.model_validate(_answer("c-2", kube_tag="v1.30.3"))
    odd = Cluster.model_validate({**_answer("c-3"), "node_count": "many"})
    assert first.__pydantic_private__ is second.__pydantic_private__
    assert first.labels.__pydantic_private__ is second.__pydantic_private__
    assert odd.__pydantic_private__ is not first.__pydantic_private__
    assert first.unreadable == {} and odd.unreadable == {"node_count": "expected a whole number"}
    with pytest.raises(TypeError, match="read-only"):
        first._unreadable = {"assigned": "no"}
    assert second.unreadable == {}
    assert first.model_copy(deep=True).unreadable == {}


def test_an_empty_answer_part_is_one_shared_object() -> None:
    listed = NodeGroup.model_validate({"uuid": "g-1"})  # a list entry: no labels
    empty = NodeGroup.model_validate({"uuid": "g-2", "labels": None})
    assert listed.labels is empty.labels is NodeGroupLabels.empty()
    assert listed.labels == NodeGroupLabels() and listed.labels.model_fields_set == set()
    assert Cluster.model_validate({"uuid": "c"}).labels is ClusterLabels.empty()
    assert NodeGroupLabels.model_validate({"kube_tag": "v1.30.3"}) is not listed.labels


def test_a_repeated_metric_policy_text_is_read_once() -> None:
    off = '{"enable": false, "max_node_count": 10, "rules_operator": "OR", "rules": []}'
    rule = '{"metric": "GROUP_CPU_USAGE", "threshold": 80, "duration": 5}'
    on = f'{{"enable": true, "rules": [{rule}]}}'
    first = NodeGroupLabels.model_validate({"mba_scale_out": off})
    second = NodeGroupLabels.model_validate({"mba_scale_out": off, "mba_scale_in": on})
    assert first.mba_scale_out is second.mba_scale_out
    assert first.mba_scale_out is not None and first.mba_scale_out.max_node_count == 10
    assert second.mba_scale_in is not None and second.mba_scale_in.enable is True
    assert second.mba_scale_in is not second.mba_scale_out
    as_value = NodeGroupLabels.model_validate({"mba_scale_out": json.loads(off)})
    assert as_value.mba_scale_out == first.mba_scale_out
    assert as_value.mba_scale_out is not first.mba_scale_out


def test_a_shared_answer_is_copied_not_assigned_to() -> None:
    first = Cluster.model_validate(_answer("c-1", kube_tag="v1.29.3"))
    second = Cluster.model_validate(_answer("c-2", kube_tag="v1.29.3"))
    with pytest.raises(TypeError, match="read-only"):
        first.status_reason = "assigned"
    assert "status_reason" not in second.model_fields_set
    copy = first.model_copy(update={"status_reason": "copied"})
    assert copy.status_reason == "copied" and "status_reason" in copy.model_fields_set
    assert "status_reason" not in first.model_fields_set | second.model_fields_set
    deep = first.model_copy(deep=True)
    deep.status_reason = "a deep copy is its own"
    assert "status_reason" not in second.model_fields_set


def test_request_models_stay_assignable() -> None:
    labels = NodeGroupCreateLabels(
        availability_zone="kr1-pub-a", boot_volume_type="General SSD", boot_volume_size=20
    )
    labels.ca_enable = True
    assert "ca_enable" in labels.model_fields_set


def test_a_problem_two_levels_down_is_named_by_its_path() -> None:
    odd = '{"enable": false, "delay": "soon", "rules": []}'
    first = NodeGroup.model_validate({"uuid": "g-1", "labels": {"mba_scale_out": odd}})
    second = NodeGroup.model_validate({"uuid": "g-2", "labels": {"mba_scale_out": odd}})
    assert first.labels.mba_scale_out is second.labels.mba_scale_out  # read once, shared
    expected = {"labels.mba_scale_out.delay": "expected a whole number"}
    assert first.unreadable == expected and second.unreadable == expected
    assert NodeGroup.model_validate({"uuid": "g-3"}).unreadable == {}
