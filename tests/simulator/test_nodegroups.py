"""Node group operations: create/delete, stop/start, autoscaler, upgrade, user script,
flavor - each with its lifecycle and task-history entry."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nks_devtools.simulator import SimulatorConfig
from tests.simulator.helpers import FLAVOR, FLAVOR_2, IMAGE, Nks, assert_error, nodegroup_body


@pytest.fixture
def simulator_config() -> SimulatorConfig:
    return SimulatorConfig(delay=0.15)


async def _last_event(nks: Nks, cpath: str) -> dict[str, Any]:
    return (await nks.json(f"{cpath}/events"))["events"][-1]


async def test_create_list_get_delete(nks: Nks, cpath: str) -> None:
    response = await nks.post(
        f"{cpath}/nodegroups", nodegroup_body("added-nodegroup", node_count=2)
    )
    assert response.status_code == 202
    created = response.json()
    for field in (
        "uuid",
        "cluster_id",
        "flavor_id",
        "image_id",
        "labels",
        "links",
        "max_node_count",
        "min_node_count",
        "name",
        "node_count",
        "project_id",
        "role",
    ):
        assert field in created, field
    assert (created["name"], created["role"], created["node_count"]) == (
        "added-nodegroup",
        "worker",
        2,
    )
    assert (created["min_node_count"], created["max_node_count"]) == (1, None)
    path = f"{cpath}/nodegroups/{created['uuid']}"
    assert (await nks.json(path))["status"] == "CREATE_IN_PROGRESS"
    assert (await nks.json(cpath))["status"] == "CREATE_COMPLETE"  # the cluster itself is stable

    done = await nks.wait_status(path, "CREATE_COMPLETE")
    assert "nodes" not in done and len(done["node_addresses"]) == 2  # the guide's fields only
    assert len(await nks.nodes(path)) == 2
    assert done["labels"]["kube_tag"] == "v1.28.3" and done["image_id"] == IMAGE
    assert done["is_default"] is False and isinstance(done["id"], int)
    listed = (await nks.json(f"{cpath}/nodegroups"))["nodegroups"]
    assert [ng["name"] for ng in listed] == ["default-worker", "added-nodegroup"]
    assert set(listed[0]) == {
        "flavor_id",
        "image_id",
        "is_default",
        "max_node_count",
        "min_node_count",
        "name",
        "node_count",
        "role",
        "stack_id",
        "status",
        "uuid",
    }
    assert (await nks.json(cpath))["node_count"] == 4  # all worker nodes
    assert (await nks.json(f"{cpath}/nodegroups/added-nodegroup"))["uuid"] == created["uuid"]

    response = await nks.delete(path)
    assert response.status_code == 204
    assert (await nks.json(path))["status"] == "DELETE_IN_PROGRESS"
    await nks.wait_gone(path)
    assert [e["type"] for e in (await nks.json(f"{cpath}/events"))["events"]] == [
        "CLUSTER_CREATE",
        "NODEGROUP_CREATE",
        "NODEGROUP_DELETE",
    ]
    event = await _last_event(nks, cpath)
    assert (event["resource_type"], event["resource_name"], event["state"]) == (
        "nodegroup",
        "added-nodegroup",
        "SUCCESS",
    )


async def test_stop_and_start_nodes(nks: Nks, cpath: str) -> None:
    ng_path = f"{cpath}/nodegroups/default-worker"
    nodes = await nks.nodes(ng_path)
    target = nodes[0]["uuid"]
    response = await nks.post(f"{ng_path}/stop_node", {"node_list": target})
    worker_uuid = (await nks.json(ng_path))["uuid"]
    assert response.status_code == 202 and response.json() == {"uuid": worker_uuid}
    assert (await nks.json(ng_path))["status"] == "UPDATE_IN_PROGRESS"
    await nks.wait_status(ng_path, "UPDATE_COMPLETE")
    assert {n["uuid"]: n["status"] for n in await nks.nodes(ng_path)}[target] == "SHUTOFF"
    (server,) = await nks.servers(status="SHUTOFF")
    assert (server["id"], server["OS-EXT-STS:power_state"]) == (target, 4)
    # The current edition's name (the copy's with the `task_names` knob, test_settings.py).
    assert (await _last_event(nks, cpath))["type"] == "NODEGROUP_NODE_ACTION_STOP_NODE"
    reason = (await nks.json(cpath))["health_status_reason"]
    assert reason["nodegroup-stats.default-worker"] == f"{len(nodes) - 1}:1"
    assert reason["nodegroup.node_status.default-worker"] == "NOT_READY_NODE_EXIST"

    assert (await nks.post(f"{ng_path}/start_node", {"node_list": target})).status_code == 202
    await nks.wait_status(ng_path, "UPDATE_COMPLETE")
    assert all(n["status"] == "ACTIVE" for n in await nks.nodes(ng_path))
    assert await nks.servers(status="SHUTOFF") == []
    assert (await _last_event(nks, cpath))["type"] == "NODEGROUP_NODE_ACTION_START_NODE"


async def test_autoscaler_get_and_set(nks: Nks, cpath: str) -> None:
    path = f"{cpath}/nodegroups/default-worker/autoscale"
    current = await nks.json(path)
    assert current["ca_enable"] is False and isinstance(current["ca_max_node_count"], int)
    body = {
        "ca_enable": True,
        "ca_max_node_count": 8,
        "ca_min_node_count": 2,
        "ca_scale_down_delay_after_add": 30,
        "ca_scale_down_enable": True,
        "ca_scale_down_unneeded_time": 20,
        "ca_scale_down_util_thresh": 40,
    }
    response = await nks.post(path, body)
    assert response.status_code == 202 and set(response.json()) == {"uuid"}
    assert (await nks.json(path))["ca_enable"] is False  # applied when the update completes
    await nks.wait_status(f"{cpath}/nodegroups/default-worker", "UPDATE_COMPLETE")
    after = await nks.json(path)
    assert {k: after[k] for k in body} == body
    group = await nks.json(f"{cpath}/nodegroups/default-worker")
    assert (group["min_node_count"], group["max_node_count"]) == (2, 8)
    assert group["labels"]["ca_enable"] == "True"
    assert (await nks.json(cpath))["labels"]["ca_max_node_count"] == "8"  # default worker
    assert (await _last_event(nks, cpath))["type"] == "NODEGROUP_SET_CLUSTER_AUTOSCALER"


async def test_autoscaler_accepts_strings_too(nks: Nks, cpath: str) -> None:
    path = f"{cpath}/nodegroups/default-worker/autoscale"
    body = {"ca_enable": "True", "ca_min_node_count": "1", "ca_max_node_count": "3"}
    assert (await nks.post(path, body)).status_code == 202
    await nks.wait_status(f"{cpath}/nodegroups/default-worker", "UPDATE_COMPLETE")
    assert (await nks.json(path))["ca_max_node_count"] == 3


async def test_upgrade_control_plane_then_workers(nks: Nks, cpath: str) -> None:
    master = f"{cpath}/nodegroups/default-master"
    worker = f"{cpath}/nodegroups/default-worker"
    added = await nks.create_nodegroup(cpath.rsplit("/", 1)[1], "extra")
    response = await nks.post(f"{master}/upgrade", {"version": "v1.29.3"})
    assert response.status_code == 202 and set(response.json()) == {"uuid"}
    assert (await nks.json(cpath))["status"] == "UPDATE_IN_PROGRESS"
    done = await nks.wait_status(cpath, "UPDATE_COMPLETE")
    assert done["labels"]["kube_tag"] == "v1.29.3" == done["coe_version"]
    event = await _last_event(nks, cpath)
    assert (event["type"], event["resource_name"]) == ("NODEGROUP_UPGRADE", "default-master")

    # The control plane cannot move again until every worker group has caught up.
    assert_error(await nks.post(f"{master}/upgrade", {"version": "v1.30.3"}), 400, "worker")
    body = {"version": "v1.29.3", "num_buffer_nodes": 1, "num_max_unavailable_nodes": 1}
    assert (await nks.post(f"{worker}/upgrade", body)).status_code == 202
    assert (await nks.json(worker))["status"] == "UPDATE_IN_PROGRESS"
    assert (await nks.json(cpath))["status"] == "UPDATE_COMPLETE"  # the cluster is not touched
    assert (await nks.wait_status(worker, "UPDATE_COMPLETE"))["labels"]["kube_tag"] == "v1.29.3"
    assert_error(await nks.post(f"{master}/upgrade", {"version": "v1.30.3"}), 400, "extra")
    extra = f"{cpath}/nodegroups/{added['uuid']}"
    assert (await nks.post(f"{extra}/upgrade", {"version": "v1.29.3"})).status_code == 202
    await nks.wait_status(extra, "UPDATE_COMPLETE")
    assert (await nks.post(f"{master}/upgrade", {"version": "v1.30.3"})).status_code == 202
    assert (await nks.wait_status(cpath, "UPDATE_COMPLETE"))["labels"]["kube_tag"] == "v1.30.3"


async def test_user_script(nks: Nks, cpath: str) -> None:
    path = f"{cpath}/nodegroups/default-worker"
    response = await nks.post(f"{path}/userscript", {"contents": "#!/bin/bash\necho hi"})
    assert response.status_code == 202
    assert (await nks.json(path))["status"] == "UPDATE_IN_PROGRESS"
    done = await nks.wait_status(path, "UPDATE_COMPLETE")
    assert done["labels"]["user_script_v2"] == "#!/bin/bash\necho hi"
    assert (await _last_event(nks, cpath))["type"] == "NODEGROUP_USERSCRIPT_UPDATE"


async def test_flavor_change(nks: Nks, cpath: str) -> None:
    path = f"{cpath}/nodegroups/default-worker"
    body = {
        "type": "flavor_id",
        "flavor_id": FLAVOR_2,
        "num_buffer_nodes": 1,
        "num_max_unavailable_nodes": 1,
    }
    response = await nks.patch(path, body)
    assert response.status_code == 202 and set(response.json()) == {"uuid"}
    assert (await nks.json(path))["flavor_id"] == FLAVOR  # changes when the roll-out ends
    done = await nks.wait_status(path, "UPDATE_COMPLETE")
    assert done["flavor_id"] == FLAVOR_2
    assert (await nks.json(cpath))["flavor_id"] == FLAVOR_2  # the default worker's flavor
    assert (await _last_event(nks, cpath))["type"] == "NODEGROUP_UPDATE_FLAVOR"


async def test_admin_state_shows_control_plane_and_nodes(
    http: httpx.AsyncClient, cluster: dict[str, Any]
) -> None:
    state = (await http.get("/_sim/state")).json()
    (entry,) = state["tenants"]["tenant-a"]["clusters"]
    assert [ng["name"] for ng in entry["nodegroups"]] == ["default-master", "default-worker"]
    nodes = entry["nodegroups"][1]["nodes"]
    assert len(nodes) == 2 and set(nodes[0]) == {"uuid", "name", "address", "status"}
    assert entry["events"][0]["type"] == "CLUSTER_CREATE"
