"""Cluster operations: shapes and asynchronous lifecycles, each with its task history."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest
import yaml

from nks_devtools.simulator import SimulatorConfig
from tests.simulator.helpers import (
    FLAVOR,
    SGW_1,
    SGW_2,
    SUBNET,
    Nks,
    assert_error,
    cluster_body,
)

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
def simulator_config() -> SimulatorConfig:
    # Long enough to observe *_IN_PROGRESS reliably, short enough for a fast suite.
    return SimulatorConfig(delay=0.15)


async def test_create_runs_in_progress_then_complete(nks: Nks) -> None:
    response = await nks.post("/v1/clusters", cluster_body("test-k8s", node_count=2))
    assert response.status_code == 202
    assert set(response.json()) == {"uuid"}
    uuid = response.json()["uuid"]
    assert UUID.match(uuid)
    path = f"/v1/clusters/{uuid}"

    creating = await nks.json(path)
    assert creating["status"] == "CREATE_IN_PROGRESS"
    assert creating["api_address"] is None and creating["node_addresses"] == []
    assert creating["health_status"] is None
    groups = {g["name"]: g for g in (await nks.json(f"{path}/nodegroups"))["nodegroups"]}
    # The control plane is not listed by default (`list_default_master`).
    assert set(groups) == {"default-worker"}
    assert groups["default-worker"]["status"] == "CREATE_IN_PROGRESS"
    (event,) = await nks.events(uuid)
    assert (event["type"], event["state"], event["resource_type"]) == (
        "CLUSTER_CREATE",
        "IN_PROGRESS",
        "cluster",
    )

    done = await nks.wait_status(path, "CREATE_COMPLETE")
    assert done["status_reason"] == "Stack CREATE completed successfully"
    assert done["api_address"].startswith("https://") and done["api_address"].endswith(":6443")
    assert done["health_status"] == "FRESH"
    assert done["node_count"] == 2 and len(done["node_addresses"]) == 2
    assert all(a.startswith("192.168.0.") for a in done["node_addresses"])
    assert ISO.match(done["created_at"]) and ISO.match(done["updated_at"])
    assert done["project_id"] == "tenant-a"
    groups = {g["name"]: g for g in (await nks.json(f"{path}/nodegroups"))["nodegroups"]}
    worker = groups["default-worker"]
    assert worker["status"] == "CREATE_COMPLETE" and worker["node_count"] == 2
    (event,) = await nks.events(uuid)
    assert event["state"] == "SUCCESS" and event["contents"] is None


async def test_cluster_document_has_the_guides_fields(cluster: dict[str, Any]) -> None:
    for field in (
        "uuid",
        "name",
        "flavor_id",
        "keypair",
        "node_count",
        "stack_id",
        "status",
        "status_reason",
        "api_address",
        "project_id",
        "fixed_network",
        "fixed_subnet",
        "node_addresses",
        "created_at",
        "updated_at",
        "labels",
        "links",
        "health_status",
        "cluster_template_id",
        "create_timeout",
        "coe_version",
        "user_id",
    ):
        assert field in cluster, field
    labels = cluster["labels"]
    assert all(isinstance(v, str) for v in labels.values())
    for key in (
        "kube_tag",
        "availability_zone",
        "node_image",
        "external_network_id",
        "external_subnet_id_list",
        "cert_manager_api",
        "master_lb_floating_ip_enabled",
        "strict_sg_rules",
        "cni_driver",
        "service_cluster_ip_range",
        "pods_network_cidr",
        "pods_network_subnet",
        "term_of_validity",
        "certificate_expiry",
    ):
        assert key in labels, key
    assert labels["kube_tag"] == "v1.28.3" == cluster["coe_version"]
    assert labels["cni_driver"] == "calico"
    assert (labels["pods_network_cidr"], labels["pods_network_subnet"]) == ("10.100.0.0/16", "24")
    assert labels["service_cluster_ip_range"] == "10.254.0.0/16"
    assert cluster["flavor_id"] == FLAVOR and cluster["fixed_subnet"] == SUBNET
    rels = {link["rel"]: link["href"] for link in cluster["links"]}
    assert rels["self"].endswith(f"/v1/clusters/{cluster['uuid']}")
    assert rels["bookmark"].endswith(f"/clusters/{cluster['uuid']}")


async def test_list_has_the_summary_fields(nks: Nks, cluster: dict[str, Any]) -> None:
    (entry,) = (await nks.json("/v1/clusters"))["clusters"]
    assert set(entry) == {
        "cluster_template_id",
        "create_timeout",
        "docker_volume_size",
        "flavor_id",
        "health_status",
        "keypair",
        "labels",
        "links",
        "name",
        "node_count",
        "stack_id",
        "status_reason",  # the current edition lists it
        "status",
        "uuid",
    }
    assert entry["uuid"] == cluster["uuid"] and entry["status"] == "CREATE_COMPLETE"


async def test_get_by_name_and_ambiguous_names(nks: Nks, cluster: dict[str, Any]) -> None:
    assert (await nks.json("/v1/clusters/test-k8s"))["uuid"] == cluster["uuid"]
    second = await nks.post("/v1/clusters", cluster_body("test-k8s"))
    assert second.status_code == 202  # names are not unique
    assert_error(
        await nks.get("/v1/clusters/test-k8s"), 409, "Multiple clusters exist with same name"
    )
    assert (await nks.get(f"/v1/clusters/{second.json()['uuid']}")).status_code == 200
    assert_error(await nks.get("/v1/clusters/no-such-cluster"), 404)


async def test_delete_then_gone(nks: Nks, cluster: dict[str, Any], http: httpx.AsyncClient) -> None:
    path = f"/v1/clusters/{cluster['uuid']}"
    response = await nks.delete(path)
    assert response.status_code == 204 and response.content == b""
    assert (await nks.json(path))["status"] == "DELETE_IN_PROGRESS"
    worker = (await nks.json(f"{path}/nodegroups"))["nodegroups"][0]
    assert worker["status"] == "DELETE_IN_PROGRESS"
    events = await nks.events(cluster["uuid"])
    assert [e["type"] for e in events] == ["CLUSTER_CREATE", "CLUSTER_DELETE"]
    await nks.wait_gone(path)
    assert (await nks.json("/v1/clusters"))["clusters"] == []
    assert_error(await nks.get(f"{path}/nodegroups"), 404)
    assert_error(await nks.delete(path), 404)
    state = (await http.get("/_sim/state")).json()["tenants"]["tenant-a"]
    assert state["clusters"] == [] and state["deleted"][0]["uuid"] == cluster["uuid"]


async def test_resize_up_and_down_with_nodes_to_remove(nks: Nks, cpath: str) -> None:
    ng_path = f"{cpath}/nodegroups/default-worker"
    before = await nks.json(ng_path)
    assert len(await nks.nodes(ng_path)) == 2
    response = await nks.post(
        f"{cpath}/actions/resize", {"node_count": 4, "nodegroup": "default-worker"}
    )
    assert response.status_code == 202 and response.json() == {"uuid": cpath.rsplit("/", 1)[1]}
    assert (await nks.json(cpath))["status"] == "UPDATE_IN_PROGRESS"
    during = await nks.json(ng_path)
    assert (during["status"], during["node_count"]) == ("UPDATE_IN_PROGRESS", 2)
    grown = await nks.wait_status(ng_path, "UPDATE_COMPLETE")
    nodes = await nks.nodes(ng_path)
    assert grown["node_count"] == 4 and len(nodes) == 4
    assert (await nks.json(cpath))["node_count"] == 4

    keep = nodes[0]["uuid"]
    remove = [n["uuid"] for n in nodes[1:]]
    body = {"node_count": 1, "nodegroup": before["uuid"], "nodes_to_remove": remove}
    assert (await nks.post(f"{cpath}/actions/resize", body)).status_code == 202
    await nks.wait_status(ng_path, "UPDATE_COMPLETE")
    assert [n["uuid"] for n in await nks.nodes(ng_path)] == [keep]
    types = [e["type"] for e in await nks.events(cpath.rsplit("/", 1)[1])]
    assert types.count("CLUSTER_RESIZE") == 2
    resize_event = (await nks.events(cpath.rsplit("/", 1)[1]))[-1]
    assert (resize_event["resource_type"], resize_event["resource_name"]) == (
        "nodegroup",
        "default-worker",
    )


async def test_scale_in_without_names_removes_some_nodes(nks: Nks, cpath: str) -> None:
    body = {"node_count": 1, "nodegroup": "default-worker"}
    assert (await nks.post(f"{cpath}/actions/resize", body)).status_code == 202
    ng_path = f"{cpath}/nodegroups/default-worker"
    shrunk = await nks.wait_status(ng_path, "UPDATE_COMPLETE")
    (node,) = await nks.nodes(ng_path)
    assert shrunk["node_addresses"] == [node["address"]]
    assert [s["id"] for s in await nks.servers()] == [node["uuid"]]


def _decoded_kubeconfig(text: str) -> dict[str, Any]:
    config = yaml.safe_load(text)
    assert config["kind"] == "Config" and config["current-context"] == "default"
    for blob in (
        config["clusters"][0]["cluster"]["certificate-authority-data"],
        config["users"][0]["user"]["client-certificate-data"],
        config["users"][0]["user"]["client-key-data"],
    ):
        assert base64.b64decode(blob).startswith(b"-----BEGIN ")
    return config


async def test_kubeconfig_changes_after_certificate_renewal(
    nks: Nks, cluster: dict[str, Any], cpath: str
) -> None:
    first = (await nks.json(f"{cpath}/config"))["config"]
    config = _decoded_kubeconfig(first)
    assert config["clusters"][0]["cluster"]["server"] == cluster["api_address"]
    assert config["clusters"][0]["name"] == "test-k8s"
    assert (await nks.json(f"{cpath}/config"))["config"] == first  # stable between reads

    old_expiry = cluster["labels"]["certificate_expiry"]
    response = await nks.patch(f"/v1/certificates/{cluster['uuid']}", {"term_of_validity": 2})
    assert response.status_code == 202 and response.json() == {"uuid": cluster["uuid"]}
    assert (await nks.json(cpath))["status"] == "UPDATE_IN_PROGRESS"
    renewed = await nks.wait_status(cpath, "UPDATE_COMPLETE")
    assert renewed["labels"]["term_of_validity"] == "2"
    assert renewed["labels"]["certificate_expiry"] < old_expiry  # 2 years instead of 5
    second = (await nks.json(f"{cpath}/config"))["config"]
    assert second != first
    _decoded_kubeconfig(second)
    # The guide lists no task type for a renewal: the new expiry and kubeconfig tell.
    assert [e["type"] for e in await nks.events(cluster["uuid"])] == ["CLUSTER_CREATE"]


async def test_kubeconfig_only_once_created(nks: Nks) -> None:
    uuid = (await nks.post("/v1/clusters", cluster_body("fresh"))).json()["uuid"]
    assert_error(await nks.get(f"/v1/clusters/{uuid}/config"), 400, "CREATE_IN_PROGRESS")


async def test_private_endpoint_has_an_address(nks: Nks) -> None:
    cluster = await nks.create_cluster("private", master_lb_floating_ip_enabled="false")
    assert re.fullmatch(r"https://192\.168\.0\.\d+:6443", cluster["api_address"])


async def test_cni_change_from_flannel(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str
) -> None:
    body = {
        "cni": "calico",
        "pod_cidr": "10.200.0.0/16",
        "num_buffer_nodes": 1,
        "num_max_unavailable_nodes": 1,
    }
    # Gone from the current edition: 404 unless the knob brings the copy's API back.
    assert_error(await nks.post(f"{cpath}/actions/cni_update", body), 404)
    assert (await http.patch("/_sim/config", json={"cni_update_api": True})).status_code == 200
    assert_error(await nks.post(f"{cpath}/actions/cni_update", body), 400, "only Flannel")
    await http.patch(
        f"/_sim/clusters/{cluster['uuid']}", json={"labels": {"cni_driver": "flannel"}}
    )
    response = await nks.post(f"{cpath}/actions/cni_update", body)
    assert response.status_code == 202 and response.json() == {"uuid": cluster["uuid"]}
    assert (await nks.json(cpath))["status"] == "UPDATE_IN_PROGRESS"
    done = await nks.wait_status(cpath, "UPDATE_COMPLETE")
    assert done["labels"]["cni_driver"] == "calico"
    assert done["labels"]["pods_network_cidr"] == "10.200.0.0/16"
    assert done["labels"]["pods_network_subnet"] == "24"
    assert (await nks.events(cluster["uuid"]))[-1]["type"] == "CLUSTER_CNI_UPDATE"


async def test_ip_acl_set_and_get(nks: Nks, cluster: dict[str, Any], cpath: str) -> None:
    assert await nks.json(f"{cpath}/api_ep_ipacl") == {
        "cluster_uuid": cluster["uuid"],
        "enable": "false",
    }
    body = {
        "enable": "True",
        "action": "ALLOW",
        "ipacl_targets": [
            {"cidr_address": "192.168.0.5"},
            {"cidr_address": "10.10.22.3/24", "description": "Your Friends"},
        ],
    }
    response = await nks.post(f"{cpath}/api_ep_ipacl", body)
    assert response.status_code == 200 and response.json() == {"uuid": cluster["uuid"]}
    assert await nks.json(f"{cpath}/api_ep_ipacl") == {
        "cluster_uuid": cluster["uuid"],
        "enable": "true",
        "action": "ALLOW",
        "ipacl_targets": body["ipacl_targets"],
    }
    assert (await nks.json(cpath))["labels"]["api_ep_ipacl_enable"] == "true"
    # No task type for it in the guide: reading the ACL back is the confirmation.
    assert [e["type"] for e in await nks.events(cluster["uuid"])] == ["CLUSTER_CREATE"]
    assert (await nks.post(f"{cpath}/api_ep_ipacl", {"enable": "false"})).status_code == 200
    assert (await nks.json(f"{cpath}/api_ep_ipacl"))["enable"] == "false"


async def test_service_gateway_change(nks: Nks) -> None:
    cluster = await nks.create_cluster("with-sgw", ncr_sgw=SGW_1, obs_sgw=SGW_1)
    path = f"/v1/clusters/{cluster['uuid']}"
    response = await nks.post(f"{path}/actions/update_sgw", {"ncr_sgw": SGW_2, "obs_sgw": SGW_2})
    assert response.status_code == 202 and response.json() == {"uuid": cluster["uuid"]}
    assert (await nks.json(path))["status"] == "UPDATE_IN_PROGRESS"
    done = await nks.wait_status(path, "UPDATE_COMPLETE")
    assert (done["labels"]["ncr_sgw"], done["labels"]["obs_sgw"]) == (SGW_2, SGW_2)
    assert [e["type"] for e in await nks.events(cluster["uuid"])] == ["CLUSTER_CREATE"]


@pytest.mark.parametrize(
    "body",
    [{"ncr_sgw": SGW_2}, {"obs_sgw": SGW_2}, {}, {"ncr_sgw": SGW_2, "obs_sgw": "not-a-uuid"}],
)
async def test_service_gateway_change_needs_both_gateways(nks: Nks, body: dict[str, str]) -> None:
    cluster = await nks.create_cluster("with-sgw", ncr_sgw=SGW_1, obs_sgw=SGW_1)
    path = f"/v1/clusters/{cluster['uuid']}"
    assert_error(await nks.post(f"{path}/actions/update_sgw", body), 400, "sgw")
    assert (await nks.json(path))["status"] == "CREATE_COMPLETE"  # nothing started


async def test_service_gateway_only_if_set_at_creation(nks: Nks, cpath: str) -> None:
    body = {"ncr_sgw": SGW_2, "obs_sgw": SGW_1}
    assert_error(await nks.post(f"{cpath}/actions/update_sgw", body), 400, "created without")


async def test_event_get_by_uuid(nks: Nks, cluster: dict[str, Any]) -> None:
    (listed,) = await nks.events(cluster["uuid"])
    event = await nks.json(f"/v1/clusters/{cluster['uuid']}/events/{listed['uuid']}")
    assert event == listed
    assert set(event) == {
        "id",
        "uuid",
        "project_id",
        "cluster_uuid",
        "cluster_name",
        "resource_uuid",
        "resource_name",
        "resource_type",
        "type",
        "state",
        "contents",
        "created_at",
        "updated_at",
    }
    assert isinstance(event["id"], int) and event["cluster_name"] == "test-k8s"
    assert_error(await nks.get(f"/v1/clusters/{cluster['uuid']}/events/{cluster['uuid']}"), 404)


async def test_supports(nks: Nks) -> None:
    supports = await nks.json("/v1/supports")
    versions = supports["supported_k8s"]
    assert versions["v1.26.3"] is False and versions["v1.27.3"] is True
    assert sum(versions.values()) >= 4
    events = supports["supported_event_type"]
    assert events["cluster_events"]["CLUSTER_CREATE"] == "Create a cluster"
    assert "NODEGROUP_UPGRADE" in events["nodegroup_events"]
    assert "CLUSTER_RESIZE" in events["nodegroup_events"]
