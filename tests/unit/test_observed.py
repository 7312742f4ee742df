"""NKS answers -> status fields, immutable-field drift and task-history Events."""

from __future__ import annotations

from typing import Any

from nks_operator.nks.models import Cluster, NodeGroup, TaskEvent
from nks_operator.reconcile import observed, phase, task_events
from tests.unit.specs import cluster_spec

DETAILS_WIRE = {
    "uuid": "c1",
    "name": "demo",
    "status": "CREATE_COMPLETE",
    "status_reason": None,
    "health_status": "HEALTHY",
    "api_address": "https://c1.example:6443",
    "keypair": "my-keypair",
    "fixed_network": "eb212079-b6ec-430c-ba57-14280a457bcb",
    "fixed_subnet": "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90",
    "node_count": 3,
    "node_addresses": ["192.168.0.5"],
    "labels": {
        "kube_tag": "v1.29.3",
        "master_lb_floating_ip_enabled": "true",
        "strict_sg_rules": "False",
        "certificate_expiry": "2031-01-01",
        "cni_driver": "calico",
    },
}
WORKER_WIRE = {
    "uuid": "w1",
    "name": "default-worker",
    "node_count": 2,
    "image_id": "f462a2a5-ba24-46d6-b7a1-9a9febcd3cfc",
    "node_addresses": ["192.168.0.7", "192.168.0.8"],
    "labels": {
        "availability_zone": "kr2-pub-b",
        "boot_volume_type": "General HDD",
        "boot_volume_size": "50",
    },
}

DETAILS = Cluster.model_validate(DETAILS_WIRE)
WORKER = NodeGroup.model_validate(WORKER_WIRE)


def test_status_fields_prefer_the_default_worker() -> None:
    fields = observed.cluster_status_fields(DETAILS, WORKER)
    assert fields["node_count"] == 2
    assert fields["node_addresses"] == ["192.168.0.7", "192.168.0.8"]
    assert fields["kubernetes_version"] == "v1.29.3"
    assert fields["certificate_expiry"] == "2031-01-01"
    assert fields["api_address"] == "https://c1.example:6443"


def test_no_drift_when_spec_matches() -> None:
    assert (
        observed.cluster_drift(
            cluster_spec(apiEndpoint={"publicIP": True}), "demo", DETAILS, WORKER
        )
        == []
    )


def test_external_subnets_compare_as_a_set_and_publicip_follows_the_network() -> None:
    first, second = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
    network = {"externalNetworkID": "cccccccc-cccc-4ccc-8ccc-cccccccccccc"}
    details = DETAILS.model_copy(deep=True)
    details.labels.external_network_id = network["externalNetworkID"]
    details.labels.external_subnet_ids = [second.upper(), first]  # NKS's order and case
    spec = cluster_spec(network={**network, "externalSubnetIDs": [first, second]})
    assert observed.cluster_drift(spec, "demo", details, WORKER) == []  # publicIP unset: public
    moved = cluster_spec(network={**network, "externalSubnetIDs": [first]})
    [drift] = observed.cluster_drift(moved, "demo", details, WORKER)
    assert drift.field == "spec.network.externalSubnetIDs"


def test_drift_names_each_immutable_field() -> None:
    spec = cluster_spec(
        keypair="other",
        network={"subnetID": "35e220b6-92f9-4c0f-99db-5246daa5a8ae"},
        apiEndpoint={"publicIP": False},
        defaultWorker={"availabilityZone": "kr2-pub-a"},
    )
    found = observed.cluster_drift(spec, "demo", DETAILS, WORKER)
    assert [d.field for d in found] == [
        "spec.keypair",
        "spec.network.subnetID",
        "spec.apiEndpoint.publicIP",
        "spec.defaultWorker.availabilityZone",
    ]
    assert all(d.message.startswith(f"{d.field} is immutable") for d in found)


def test_unknown_values_are_never_drift() -> None:
    odd: dict[str, Any] = {**DETAILS_WIRE, "keypair": None}
    odd["labels"] = {**DETAILS_WIRE["labels"], "master_lb_floating_ip_enabled": "maybe"}
    spec = cluster_spec(keypair="other", apiEndpoint={"publicIP": False})
    assert observed.cluster_drift(spec, "demo", Cluster.model_validate(odd), WORKER) == []


def test_phase_mapping() -> None:
    assert phase.phase_for("CREATE_IN_PROGRESS") == "Provisioning"
    assert phase.phase_for("CREATE_COMPLETE") == "Ready"
    assert phase.phase_for("UPDATE_IN_PROGRESS") == "Updating"
    assert phase.phase_for("UPDATE_IN_PROGRESS", upgrading=True) == "Upgrading"
    assert phase.phase_for("DELETE_IN_PROGRESS") == "Deleting"
    assert phase.phase_for("UPDATE_FAILED") == "Failed"
    assert phase.is_in_progress("SOMETHING_NEW")  # unknown values count as in progress
    assert phase.is_stable("RESUME_COMPLETE")
    # A rollback: stable again, but what was asked did not happen.
    assert phase.is_stable("ROLLBACK_COMPLETE") and not phase.is_success("ROLLBACK_COMPLETE")
    assert phase.is_failed("ROLLBACK_FAILED") and phase.is_rolled_back("ROLLBACK_FAILED")


def test_task_events_posted_once_per_state() -> None:
    wire = [
        {"id": 1, "type": "CLUSTER_CREATE", "state": "SUCCESS", "resource_type": "cluster"},
        {
            "id": 2,
            "type": "CLUSTER_RESIZE",
            "state": "IN_PROGRESS",
            "resource_type": "nodegroup",
            "resource_uuid": "w1",
        },
        {
            "id": 3,
            "type": "CLUSTER_CNI_UPDATE",
            "state": "FAIL",
            "contents": "no",
            "resource_type": "cluster",
        },
    ]
    tasks = [TaskEvent.model_validate({"uuid": f"t{t['id']}", **t}) for t in wire]
    announced: set[tuple[int, str]] = set()
    events, mark = task_events.new_task_events(
        tasks, last_task_id=None, resource_uuid=None, resource_type="cluster", announced=announced
    )
    assert [(e.type, e.reason) for e in events] == [
        ("Normal", "NKSTaskSucceeded"),
        ("Warning", "NKSTaskFailed"),
    ]
    assert "no" in events[1].message
    assert mark == 1  # task 2 is unfinished: the watermark waits for it
    again, mark = task_events.new_task_events(
        tasks, last_task_id=mark, resource_uuid=None, resource_type="cluster", announced=announced
    )
    assert again == []  # task 3 stays above the watermark until 2 finishes: not re-posted
    ng_announced: set[tuple[int, str]] = set()
    ng, _ = task_events.new_task_events(
        tasks,
        last_task_id=1,
        resource_uuid="w1",
        resource_type="nodegroup",
        announced=ng_announced,
    )
    assert [e.reason for e in ng] == ["NKSTaskStarted"]
    ng, _ = task_events.new_task_events(
        tasks,
        last_task_id=1,
        resource_uuid="w1",
        resource_type="nodegroup",
        announced=ng_announced,
    )
    assert ng == []


def test_other_resources_tasks_leave_the_stored_watermark_alone() -> None:
    """A node group's finished tasks post nothing on its NKSCluster, so its lastTaskID is
    not rewritten for them (a status write per task otherwise); its own next task moves it
    past them."""
    wire = [
        {"id": 5, "type": "NODEGROUP_CREATE", "state": "SUCCESS", "resource_type": "nodegroup"},
        {"id": 6, "type": "NODEGROUP_DELETE", "state": "SUCCESS", "resource_type": "nodegroup"},
    ]
    tasks = [TaskEvent.model_validate({"uuid": f"t{t['id']}", **t}) for t in wire]
    announced: set[tuple[int, str]] = set()
    events, mark = task_events.new_task_events(
        tasks, last_task_id=4, resource_uuid=None, resource_type="cluster", announced=announced
    )
    assert events == [] and mark == 4
    own = {"id": 7, "type": "CLUSTER_UPDATE", "state": "SUCCESS", "resource_type": "cluster"}
    tasks.append(TaskEvent.model_validate({"uuid": "t7", **own}))
    events, mark = task_events.new_task_events(
        tasks, last_task_id=4, resource_uuid=None, resource_type="cluster", announced=announced
    )
    assert [e.reason for e in events] == ["NKSTaskSucceeded"] and mark == 7
    # First sight still takes the newest finished task: no history is replayed later.
    _, first = task_events.new_task_events(
        tasks[:2], last_task_id=None, resource_uuid=None, resource_type="cluster", announced=set()
    )
    assert first == 6


def test_the_start_of_an_operation_the_operator_announced_is_not_posted_again() -> None:
    """CreateRequested / OperationRequested said it; the task's end is still posted, and a
    task NKS runs for something else (the console, another edition's name aside) is too."""
    started = {"id": 8, "type": "NODEGROUP_CREATE", "state": "IN_PROGRESS"}
    other = {"id": 9, "type": "NODEGROUP_UPGRADE", "state": "IN_PROGRESS"}
    tasks = [
        TaskEvent.model_validate({"uuid": f"t{t['id']}", "resource_type": "nodegroup", **t})
        for t in (started, other)
    ]
    announced: set[tuple[int, str]] = set()
    events, _ = task_events.new_task_events(
        tasks,
        last_task_id=7,
        resource_uuid=None,
        resource_type="nodegroup",
        announced=announced,
        requested="NODEGROUP_CREATE",
    )
    assert [e.message for e in events] == ["NODEGROUP_UPGRADE in progress"]
    done = [TaskEvent.model_validate({**tasks[0].model_dump(), "state": "SUCCESS"}), tasks[1]]
    events, _ = task_events.new_task_events(
        done,
        last_task_id=7,
        resource_uuid=None,
        resource_type="nodegroup",
        announced=announced,
        requested="NODEGROUP_CREATE",
    )
    assert [e.reason for e in events] == ["NKSTaskSucceeded"]
