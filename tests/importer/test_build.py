"""Imported resources end to end in memory: mapping + the operator's own checks and plans.

The central property: for every NKS state the spec can express, the operator's planner
(reconcile/day2.py) run on the imported spec and the same NKS answers plans nothing, and
what the spec cannot express comes out paused, with the operation the operator would send.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from nks_operator.api import NKSClusterSpec, NKSNodeGroupSpec
from nks_operator.importer import build, verify
from nks_operator.importer.build import Result
from nks_operator.importer.mapping import Options
from nks_operator.importer.naming import Existing
from nks_operator.importer.nodes import Servers, node_states
from nks_operator.nks.models import NodeGroup
from tests.importer.answers import (
    CLUSTER_ID,
    acl_json,
    cluster_json,
    control_plane_json,
    inventory,
    nodegroup_json,
    record,
    running,
    server_id,
    server_json,
    servers,
)

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
OPTIONS = Options("kr2", "nks-credentials")
PAUSED = "nks.nhncloud.com/paused"
BATCH = "5b7cbe2b-6f0e-4f58-9f3e-8a4f8c3b9d10"
WEB = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
SCALER = {
    "ca_enable": "True",
    "ca_min_node_count": "2",
    "ca_max_node_count": "8",
    "ca_scale_down_enable": "True",
    "ca_scale_down_unneeded_time": "20",
    "ca_scale_down_util_thresh": "60",
    "ca_scale_down_delay_after_add": "15",
}


def run(*records: Any, existing: Existing | None = None, found: Servers | None = None) -> Result:
    return build.build(
        inventory(*records, servers=found),
        namespace="team",
        options=OPTIONS,
        existing=existing,
        now=NOW,
    )


def by_name(result: Result) -> dict[str, build.Imported]:
    return {item.name: item for item in result.resources}


def busy_project() -> Any:
    """A cluster with everything the spec models set away from its defaults."""
    labels = {
        **SCALER,
        "user_script_v2": "#!/bin/sh\necho default\n",
        "strict_sg_rules": "True",
        "ncr_sgw": "48f4ff38-d14b-4f34-a40c-705524e6a755",
        "obs_sgw": "23c550cb-6a5b-4eaa-903a-711c13316d91",
        "cni_driver": "calico-ebpf",
        "master_lb_floating_ip_enabled": "False",
        "term_of_validity": "2",
    }
    default = nodegroup_json(node_count=4, labels={k: v for k, v in labels.items() if "ca_" in k})
    default["labels"]["user_script_v2"] = labels["user_script_v2"]
    batch = nodegroup_json(
        "batch",
        BATCH,
        node_count=3,
        labels={**SCALER, "boot_volume_type": "General SSD", "boot_volume_size": "100"},
    )
    web = nodegroup_json(
        "web", WEB, node_count=5, labels={"kube_tag": "v1.28.3", "user_script_v2": "echo web"}
    )
    acl = acl_json(True, "ALLOW", [{"cidr_address": "10.0.0.0/8", "description": "office"}])
    return record(cluster_json(labels), [control_plane_json(), default, batch, web], acl)


def test_a_cluster_with_every_setting_imports_with_nothing_to_do() -> None:
    result = run(busy_project())
    assert result.errors == [] and result.skipped == []
    items = by_name(result)
    assert sorted(items) == ["shop", "shop-batch", "shop-web"]
    for item in result.resources:
        assert item.messages == [], (item.ref, item.messages)
        assert not item.paused and "annotations" not in item.manifest["metadata"]
    assert items["shop-web"].manifest["spec"]["kubernetesVersion"] == "v1.28.3"
    assert items["shop-batch"].manifest["spec"]["clusterRef"] == {"name": "shop"}


def test_the_manifests_are_complete_resources() -> None:
    cluster, batch = run(busy_project()).resources[:2]
    assert cluster.manifest["apiVersion"] == "nks.nhncloud.com/v1alpha1"
    assert cluster.manifest["kind"] == "NKSCluster"
    assert cluster.manifest["metadata"] == {"name": "shop", "namespace": "team"}
    assert batch.manifest["kind"] == "NKSNodeGroup"
    assert batch.ref == "NKSNodeGroup team/shop-batch"


@pytest.mark.parametrize(
    ("labels", "action"),
    [
        # The default worker cannot be pinned: the operator would upgrade it.
        ({"kube_tag": "v1.28.3"}, "upgrade default-worker from v1.28.3 to v1.29.3"),
        # A delay the spec cannot hold: the operator would rewrite the autoscaler.
        ({**SCALER, "ca_scale_down_delay_after_add": "2000"}, "enable the autoscaler"),
    ],
)
def test_what_the_spec_cannot_say_is_imported_paused(labels: dict[str, str], action: str) -> None:
    rec = record(groups=[control_plane_json(), nodegroup_json(labels=labels)])
    [item] = run(rec).resources
    assert item.paused
    assert item.manifest["metadata"]["annotations"] == {PAUSED: "true"}
    assert any(action in message and PAUSED in message for message in item.messages)


def test_a_node_group_that_cannot_be_represented_is_paused_alone() -> None:
    # A delay above the spec's maximum (1440): the operator would rewrite the autoscaler.
    labels = {**SCALER, "ca_scale_down_delay_after_add": "2000"}
    group = nodegroup_json("batch", BATCH, labels=labels)
    items = by_name(run(record(groups=[control_plane_json(), nodegroup_json(), group])))
    assert not items["shop"].paused
    assert items["shop-batch"].paused
    assert any("enable the autoscaler of batch" in m for m in items["shop-batch"].messages)


def test_a_node_group_without_nodes_imports_as_it_is() -> None:
    group = nodegroup_json("batch", BATCH, node_count=0, node_addresses=[])
    items = by_name(run(record(groups=[control_plane_json(), nodegroup_json(), group])))
    assert items["shop-batch"].manifest["spec"]["nodeCount"] == 0
    assert not items["shop-batch"].paused and items["shop-batch"].messages == []


POOL = ["192.168.0.50", "192.168.0.51", "192.168.0.52"]


def stopped_project(*extra: dict[str, Any]) -> Any:
    """`batch` with three nodes; the default worker has two others."""
    batch = nodegroup_json("batch", BATCH, node_count=3, node_addresses=POOL)
    return record(groups=[control_plane_json(), nodegroup_json(), batch, *extra])


def test_a_node_group_with_stopped_nodes_lists_them_and_is_left_as_it_is() -> None:
    rec = stopped_project()
    items = by_name(run(rec, found=running([rec], stopped=[POOL[1], "192.168.0.19"])))
    batch = items["shop-batch"]
    assert batch.manifest["spec"]["stoppedNodes"] == [server_id(POOL[1])]
    # The operator, given the same power states, neither starts nor stops a node.
    assert not batch.paused and batch.messages == []
    # The default worker's stopped node is said; its spec cannot list it.
    assert not items["shop"].paused
    assert [m for m in items["shop"].messages if server_id("192.168.0.19") in m]


def test_verify_sees_a_stopped_node_the_spec_does_not_list() -> None:
    """The safety net under the mapping: given the power states, the operator's planner
    reports the node it would start, so such a spec could only be imported paused."""
    rec = stopped_project()
    group = rec.nodegroups["batch"]
    nodes = node_states(group, running([rec], stopped=[POOL[1]]))
    [item] = [i for i in run(rec).resources if i.name == "shop-batch"]
    spec = NKSNodeGroupSpec.model_validate(item.manifest["spec"])  # all running: none listed
    findings = verify.nodegroup_findings(
        spec,
        "shop-batch",
        group,
        cluster_spec=NKSClusterSpec.model_validate(run(rec).resources[0].manifest["spec"]),
        cluster=rec.cluster,
        supported=inventory(rec).supported,
        nodes=nodes,
    )
    assert findings.writes == [f"start node(s) {server_id(POOL[1])} of batch"]


def test_a_stopped_node_the_spec_cannot_list_pauses_its_group() -> None:
    rec = stopped_project()
    found = servers(
        server_json(POOL[0]),
        server_json(POOL[1], "SHUTOFF", id="instance-7"),  # not a UUID: the spec refuses it
        server_json(POOL[2]),
        server_json("192.168.0.40"),
        server_json("192.168.0.19"),
    )
    batch = by_name(run(rec, found=found))["shop-batch"]
    assert batch.paused
    assert any("start node(s) instance-7" in m and PAUSED in m for m in batch.messages)


def test_power_states_that_cannot_be_read_pause_the_groups_with_nodes() -> None:
    empty = nodegroup_json("empty", WEB, node_count=0, node_addresses=[])
    rec = stopped_project(empty)
    result = run(rec, found=Servers(None, "compute API call failed: HTTP 403: Forbidden"))
    assert result.warnings and "HTTP 403" in result.warnings[0]
    items = by_name(result)
    assert not items["shop"].paused  # the operator never starts default-worker nodes
    assert items["shop-batch"].paused
    assert any("HTTP 403" in m and PAUSED in m for m in items["shop-batch"].messages)
    assert "stoppedNodes" not in items["shop-batch"].manifest["spec"]
    assert not items["shop-empty"].paused  # no node, nothing unknown


def test_values_nks_answered_unreadably_are_said_and_pause_the_resource() -> None:
    group = nodegroup_json("batch", BATCH, labels={"boot_volume_size": "big"})
    items = by_name(run(record(groups=[control_plane_json(), nodegroup_json(), group])))
    assert not items["shop"].paused
    batch = items["shop-batch"]
    assert batch.paused
    assert any(
        "could not read" in m and "labels.boot_volume_size" in m and PAUSED in m
        for m in batch.messages
    )


def test_node_groups_listed_unreadably_are_skipped_and_said() -> None:
    rec = record(groups=[control_plane_json(), nodegroup_json()])
    rec.unreadable_groups.append("ghost: uuid: Field required")
    result = run(rec)
    assert not result.resources[0].paused  # the default worker was read
    assert any("ghost: uuid: Field required" in line for line in result.skipped)
    rec = record(groups=[control_plane_json()])
    rec.unreadable_groups.append("an entry: uuid: Field required")
    [item] = run(rec).resources
    assert item.paused and any("may be default-worker" in m for m in item.messages)


def test_a_running_operation_imports_paused_with_a_warning() -> None:
    [item] = run(record(cluster_json(status="UPDATE_IN_PROGRESS"))).resources
    assert item.paused
    assert any("UPDATE_IN_PROGRESS" in m for m in item.messages)


def test_a_node_group_being_updated_is_paused() -> None:
    group = nodegroup_json("batch", BATCH, status="UPDATE_IN_PROGRESS")
    items = by_name(run(record(groups=[control_plane_json(), nodegroup_json(), group])))
    assert items["shop-batch"].paused and not items["shop"].paused


def test_a_cluster_being_created_imports_its_requested_values_with_a_warning() -> None:
    rec = record(
        cluster_json(status="CREATE_IN_PROGRESS"),
        [control_plane_json(), nodegroup_json(status="CREATE_IN_PROGRESS")],
    )
    [item] = run(rec).resources
    assert not item.paused
    assert any("being created with" in m for m in item.messages)


def test_a_failed_cluster_imports_with_a_warning() -> None:
    rec = record(cluster_json(status="UPDATE_FAILED", status_reason="quota"))
    [item] = run(rec).resources
    assert any("UPDATE_FAILED (quota)" in m for m in item.messages)


def test_a_cluster_being_deleted_is_skipped() -> None:
    result = run(record(cluster_json(status="DELETE_IN_PROGRESS")))
    assert result.resources == []
    assert "DELETE_IN_PROGRESS" in result.skipped[0]


def test_a_cluster_that_cannot_be_mapped_is_an_error() -> None:
    result = run(record(cluster_json(keypair=None)))
    assert result.resources == []
    assert CLUSTER_ID in result.errors[0] and "keypair" in result.errors[0]


def test_clusters_of_the_same_name_get_distinct_names() -> None:
    other_id = "aa11bb22-cc33-4d44-8e55-ff6677889900"
    first = record(groups=[control_plane_json(), nodegroup_json("batch", BATCH)])
    second = record(cluster_json(uuid=other_id), [control_plane_json(), nodegroup_json()])
    items = by_name(run(first, second))
    assert set(items) == {"shop-2b778d83", "shop-aa11bb22", "shop-2b778d83-batch"}
    assert items["shop-2b778d83"].manifest["spec"]["clusterName"] == "shop"
    assert items["shop-2b778d83-batch"].manifest["spec"]["clusterRef"] == {"name": "shop-2b778d83"}


def test_resources_that_already_manage_a_uuid_keep_their_name_and_are_left_alone() -> None:
    existing = Existing(clusters={"my-shop": CLUSTER_ID, "shop": None})
    items = by_name(run(busy_project(), existing=existing))
    assert items["my-shop"].exists
    assert items["my-shop"].manifest["spec"]["clusterName"] == "shop"
    assert not items["my-shop-batch"].exists
    assert items["my-shop-batch"].manifest["spec"]["clusterRef"] == {"name": "my-shop"}


def test_a_name_managing_another_cluster_is_not_taken_over() -> None:
    other = "00000000-0000-4000-8000-000000000000"
    existing = Existing(clusters={"shop": other}, nodegroups={"shop-batch": None})
    items = by_name(run(busy_project(), existing=existing))
    assert sorted(items) == ["shop-2b778d83", "shop-2b778d83-batch", "shop-2b778d83-web"]
    assert not any(item.exists for item in items.values())


def test_what_another_namespace_manages_is_skipped() -> None:
    existing = Existing(elsewhere={BATCH: "NKSNodeGroup other/batch"})
    result = run(busy_project(), existing=existing)
    assert "shop-batch" not in by_name(result)
    assert "NKSNodeGroup other/batch" in result.skipped[0]
    existing = Existing(elsewhere={CLUSTER_ID: "NKSCluster other/shop"})
    result = run(busy_project(), existing=existing)
    assert result.resources == []


def test_settled_reads_a_running_operation_as_ended() -> None:
    def status(value: str) -> str | None:
        return verify.settled(NodeGroup(uuid=BATCH, status=value)).status

    assert status("UPDATE_IN_PROGRESS") == "UPDATE_COMPLETE"
    assert status("CREATE_IN_PROGRESS") == "CREATE_COMPLETE"
    assert status("UPDATE_FAILED") == "UPDATE_FAILED"


def test_a_certificate_about_to_expire_is_not_renewed_by_the_import() -> None:
    soon = (NOW + datetime.timedelta(days=3)).isoformat()
    [item] = run(record(cluster_json({"certificate_expiry": soon}))).resources
    assert not item.paused  # auto-renewal off: the operator plans no renewal
    assert any("renew-certificate" in m for m in item.messages)
