"""Answers shaped like the guide's examples, today's API beyond the guide, the compute view
of the nodes, outcome controls and the knobs for what no source confirms
(docs/nks-api-notes.md)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from nks_devtools.simulator import SimulatorConfig
from tests.simulator.helpers import (
    SGW_1,
    SGW_2,
    Nks,
    assert_error,
    cluster_body,
    nodegroup_body,
)

GUIDE_CLUSTER_EVENTS = {
    "CLUSTER_CREATE",
    "CLUSTER_DELETE",
    "CLUSTER_HANDOVER",
    "CLUSTER_CNI_UPDATE",
}
GUIDE_NODEGROUP_EVENTS = {
    "NODEGROUP_CREATE",
    "NODEGROUP_DELETE",
    "CLUSTER_RESIZE",
    "NODEGROUP_UPDATE_FLAVOR",
    "NODEGROUP_UPGRADE",
    "NODEGROUP_USERSCRIPT_UPDATE",
    "NODEGROUP_SET_CLUSTER_AUTOSCALER",
    "NODEGROUP_NODE_ACTION_NODE_START",
    "NODEGROUP_NODE_ACTION_NODE_STOP",
}
ACL = {"enable": "true", "action": "ALLOW", "ipacl_targets": [{"cidr_address": "10.0.0.0/8"}]}


@pytest.fixture
def simulator_config() -> SimulatorConfig:
    return SimulatorConfig(delay=0.05)


async def configure(http: httpx.AsyncClient, **changes: Any) -> None:
    assert (await http.patch("/_sim/config", json=changes)).status_code == 200


# -- labels ----------------------------------------------------------------------------


async def test_labels_are_a_string_map_like_the_guides_examples(
    nks: Nks, cluster: dict[str, Any], cpath: str
) -> None:
    labels = cluster["labels"]
    assert all(isinstance(v, str) for v in labels.values()), labels
    for extra in (
        "clusterautoscale",
        "etcd_volume_size",
        "flavor_type",
        "hypervisor_type",
        "login_username",
        "os_arch",
        "os_distro",
        "os_type",
        "os_version",
        "project_domain",
        "server_group_meta",
        "kube_version_status",
        "certificate_expiry",
        "api_ep_ipacl_enable",
    ):
        assert extra in labels, extra
    # Text labels nobody set are answered as "", the list ones as "[]" (Live; the knob below
    # gives "", the shape that used to fail).
    for empty in ("user_script_v2", "additional_network_id_list", "additional_subnet_id_list"):
        assert labels[empty] == "", empty
    for empty in ("extra_volumes", "extra_security_groups"):
        assert labels[empty] == "[]", empty
    group = await nks.json(f"{cpath}/nodegroups/default-worker")
    assert all(isinstance(v, str) for v in group["labels"].values())
    assert group["labels"]["ca_image"] and group["labels"]["user_script_v2"] == ""


async def test_list_labels_set_at_creation_are_json_text(nks: Nks) -> None:
    volumes = [{"volume_type": "General SSD", "volume_size": 30}]
    cluster = await nks.create_cluster("vols", extra_volumes=volumes, pods_network_subnet=24)
    assert json.loads(cluster["labels"]["extra_volumes"]) == volumes
    assert cluster["labels"]["pods_network_subnet"] == "24"


async def test_empty_list_labels_as_empty_text_knob(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str
) -> None:
    await configure(http, empty_list_label="")
    labels = (await nks.json(cpath))["labels"]
    assert (labels["extra_volumes"], labels["extra_security_groups"]) == ("", "")


# -- node groups -----------------------------------------------------------------------


@pytest.mark.parametrize("listed_master", [False, True])
async def test_default_master_listing_knob_and_no_answer_has_a_node_list(
    nks: Nks, http: httpx.AsyncClient, cpath: str, listed_master: bool
) -> None:
    await configure(http, list_default_master=listed_master)
    listed = (await nks.json(f"{cpath}/nodegroups"))["nodegroups"]
    master = [("default-master", "master")] if listed_master else []
    assert [(g["name"], g["role"]) for g in listed] == [*master, ("default-worker", "worker")]
    assert_error(await nks.get(f"{cpath}/nodegroups/default-master"), 403)
    worker = await nks.json(f"{cpath}/nodegroups/default-worker")
    assert "nodes" not in worker and len(worker["node_addresses"]) == 2
    created = (await nks.post(f"{cpath}/nodegroups", nodegroup_body("pool"))).json()
    assert "nodes" not in created and all("nodes" not in g for g in listed)


async def test_node_groups_may_have_no_nodes(nks: Nks, cpath: str) -> None:
    pool = await nks.create_nodegroup(cpath.rsplit("/", 1)[1], "spare", node_count=0)
    assert (pool["node_count"], pool["node_addresses"]) == (0, [])
    resize = {"nodegroup": "spare", "node_count": 2}
    assert (await nks.post(f"{cpath}/actions/resize", resize)).status_code == 202
    await nks.wait_status(f"{cpath}/nodegroups/spare", "UPDATE_COMPLETE")
    assert (
        await nks.post(f"{cpath}/actions/resize", {**resize, "node_count": 0})
    ).status_code == 202
    done = await nks.wait_status(f"{cpath}/nodegroups/spare", "UPDATE_COMPLETE")
    assert done["node_addresses"] == []
    zero = {"nodegroup": "default-worker", "node_count": 0}
    assert_error(await nks.post(f"{cpath}/actions/resize", zero), 400, "between 1 and")


# -- task history ----------------------------------------------------------------------


async def test_only_the_guides_task_types(nks: Nks, http: httpx.AsyncClient) -> None:
    await configure(http, task_names="copy")
    supports = await nks.json("/v1/supports")
    assert set(supports["supported_event_type"]["cluster_events"]) == GUIDE_CLUSTER_EVENTS
    assert set(supports["supported_event_type"]["nodegroup_events"]) == GUIDE_NODEGROUP_EVENTS

    cluster = await nks.create_cluster("tasks", ncr_sgw=SGW_1, obs_sgw=SGW_1)
    path = f"/v1/clusters/{cluster['uuid']}"
    assert (await nks.post(f"{path}/api_ep_ipacl", ACL)).status_code == 200
    assert (
        await nks.patch(f"/v1/certificates/{cluster['uuid']}", {"term_of_validity": 1})
    ).status_code == 202
    await nks.wait_status(path, "UPDATE_COMPLETE")
    body = {"ncr_sgw": SGW_2, "obs_sgw": SGW_1}
    assert (await nks.post(f"{path}/actions/update_sgw", body)).status_code == 202
    done = await nks.wait_for(path, lambda d: d["labels"]["ncr_sgw"] == SGW_2)
    assert done["status"] == "UPDATE_COMPLETE"
    events = await nks.events(cluster["uuid"])
    assert [e["type"] for e in events] == ["CLUSTER_CREATE"]
    listed = GUIDE_CLUSTER_EVENTS | GUIDE_NODEGROUP_EVENTS
    assert {e["type"] for e in events} <= listed


async def test_unlisted_tasks_knob_records_the_newer_guides_types(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str
) -> None:
    await configure(http, record_unlisted_tasks=True)
    assert (await nks.post(f"{cpath}/api_ep_ipacl", ACL)).status_code == 200
    await nks.patch(f"/v1/certificates/{cluster['uuid']}", {"term_of_validity": 1})
    await nks.wait_for(cpath, lambda d: d["status"] == "UPDATE_COMPLETE")
    types = [e["type"] for e in await nks.events(cluster["uuid"])]
    assert types == ["CLUSTER_CREATE", "CLUSTER_API_EP_IPACL_UPDATE", "CLUSTER_ROTATE_CERTIFICATE"]
    listed = (await nks.json("/v1/supports"))["supported_event_type"]["cluster_events"]
    assert {"CLUSTER_API_EP_IPACL_UPDATE", "CLUSTER_UPDATE_SGW"} <= set(listed)


@pytest.mark.parametrize("mode", ["update_in_progress", "unchanged"])
async def test_certificate_renewal_status_knob(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str, mode: str
) -> None:
    await configure(http, certificate_renewal_status=mode)
    await http.post("/_sim/hold-next", json={"cluster": cluster["uuid"]})
    first = (await nks.json(f"{cpath}/config"))["config"]
    response = await nks.patch(f"/v1/certificates/{cluster['uuid']}", {"term_of_validity": 1})
    assert response.status_code == 202
    during = await nks.json(cpath)
    expected = "UPDATE_IN_PROGRESS" if mode == "update_in_progress" else "CREATE_COMPLETE"
    assert during["status"] == expected
    assert during["labels"]["certificate_expiry"] == cluster["labels"]["certificate_expiry"]
    # Busy either way: one operation at a time.
    resize = {"nodegroup": "default-worker", "node_count": 3}
    assert_error(await nks.post(f"{cpath}/actions/resize", resize), 400, "in progress")
    await http.post("/_sim/finish-operations", json={"cluster": cluster["uuid"]})
    after = await nks.json(cpath)
    assert after["labels"]["certificate_expiry"] < cluster["labels"]["certificate_expiry"]
    assert (await nks.json(f"{cpath}/config"))["config"] != first


@pytest.mark.parametrize("mode", ["update_in_progress", "unchanged"])
async def test_service_gateway_status_knob(nks: Nks, http: httpx.AsyncClient, mode: str) -> None:
    await configure(http, service_gateway_status=mode)
    cluster = await nks.create_cluster("sgw", ncr_sgw=SGW_1, obs_sgw=SGW_1)
    path = f"/v1/clusters/{cluster['uuid']}"
    await http.post("/_sim/hold-next", json={"operation": "update_service_gateway"})
    body = {"ncr_sgw": SGW_1, "obs_sgw": SGW_2}
    assert (await nks.post(f"{path}/actions/update_sgw", body)).status_code == 202
    during = await nks.json(path)
    assert during["status"] == (
        "UPDATE_IN_PROGRESS" if mode == "update_in_progress" else "CREATE_COMPLETE"
    )
    assert during["labels"]["obs_sgw"] == SGW_1  # lands when the change is done
    await http.post("/_sim/finish-operations", json={"operation": "update_service_gateway"})
    assert (await nks.json(path))["labels"]["obs_sgw"] == SGW_2


async def test_knobs_are_validated(http: httpx.AsyncClient) -> None:
    assert (
        await http.patch("/_sim/config", json={"service_gateway_status": "maybe"})
    ).status_code == 400
    config = (await http.get("/_sim/config")).json()
    assert config["certificate_renewal_status"] == "update_in_progress"
    assert config["record_unlisted_tasks"] is False and config["empty_list_label"] == "[]"


# -- outcomes --------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["rollback_complete", "rollback_failed"])
async def test_an_operation_can_end_rolled_back(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str, outcome: str
) -> None:
    injection = {"cluster": "test-k8s", "outcome": outcome, "reason": "Resource CREATE failed"}
    assert (await http.post("/_sim/fail-next", json=injection)).status_code == 200
    resize = {"nodegroup": "default-worker", "node_count": 3}
    assert (await nks.post(f"{cpath}/actions/resize", resize)).status_code == 202
    status = outcome.upper()
    group = await nks.wait_status(f"{cpath}/nodegroups/default-worker", status)
    assert (group["status_reason"], group["node_count"]) == ("Resource CREATE failed", 2)
    task = (await nks.events(cluster["uuid"]))[-1]
    assert (task["type"], task["state"], task["contents"]) == (
        "CLUSTER_RESIZE",
        "FAIL",
        "Resource CREATE failed",
    )


async def test_a_cluster_create_can_roll_back(nks: Nks, http: httpx.AsyncClient) -> None:
    await http.post("/_sim/fail-next", json={"outcome": "rollback_complete"})
    uuid = (await nks.post("/v1/clusters", cluster_body("doomed"))).json()["uuid"]
    done = await nks.wait_status(f"/v1/clusters/{uuid}", "ROLLBACK_COMPLETE")
    assert done["status_reason"] == "Injected failure" and done["api_address"] is None


async def test_hold_next_keeps_an_operation_in_progress(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str
) -> None:
    held = {"cluster": cluster["uuid"], "operation": "resize_cluster", "outcome": "rollback_failed"}
    assert (await http.post("/_sim/hold-next", json=held)).status_code == 200
    resize = {"nodegroup": "default-worker", "node_count": 3}
    assert (await nks.post(f"{cpath}/actions/resize", resize)).status_code == 202
    (pending,) = (await http.get("/_sim/state")).json()["pending_operations"]
    assert (pending["held"], pending["due_in"], pending["outcome"]) == (
        True,
        None,
        "rollback_failed",
    )
    finished = await http.post("/_sim/finish-operations", json={"operation": "resize_cluster"})
    assert finished.json() == {"finished": 1}
    assert (await nks.json(cpath))["status"] == "ROLLBACK_FAILED"


async def test_outcome_controls_are_validated(http: httpx.AsyncClient) -> None:
    bad = await http.post("/_sim/fail-next", json={"outcome": "exploded"})
    assert bad.status_code == 400 and "outcome" in bad.json()["error"]
    assert (await http.post("/_sim/hold-next", json={"bogus": 1})).status_code == 400


# -- today's create fields -------------------------------------------------------------


async def test_create_accepts_addons_and_an_ip_acl(nks: Nks, http: httpx.AsyncClient) -> None:
    body = cluster_body("today")
    body["addons"] = [
        {"name": "calico", "version": "v3.28.2-nks1", "options": {"mode": "vxlan"}},
        {"name": "coredns", "version": "1.8.4-nks1"},
    ]
    body["api_ep_ipacl"] = ACL
    response = await nks.post("/v1/clusters", body)
    assert response.status_code == 202
    uuid = response.json()["uuid"]
    acl = await nks.json(f"/v1/clusters/{uuid}/api_ep_ipacl")  # in force at once
    assert {k: acl[k] for k in ("enable", "action", "ipacl_targets")} == ACL
    state = (await http.get("/_sim/state")).json()["tenants"]["tenant-a"]["clusters"][0]
    assert state["labels"]["api_ep_ipacl_enable"] == "true"


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"addons": {"name": "calico"}}, "addons must be a list"),
        ({"addons": [{"name": "calico"}]}, "version"),
        ({"addons": [{"name": "calico", "version": "v1", "options": {"mode": 1}}]}, "options"),
        ({"addons": [{"name": "a", "version": "1"}, {"name": "a", "version": "2"}]}, "twice"),
        ({"addons": [{"name": "a", "version": "1", "extra": True}]}, "Unknown attribute"),
        ({"api_ep_ipacl": {"enable": "true", "action": "ALLOW"}}, "ipacl_targets"),
        ({"api_ep_ipacl": "on"}, "JSON object"),
    ],
)
async def test_create_refuses_odd_addons_and_acls(
    nks: Nks, extra: dict[str, Any], fragment: str
) -> None:
    assert_error(await nks.post("/v1/clusters", {**cluster_body("odd"), **extra}), 400, fragment)
    assert (await nks.json("/v1/clusters"))["clusters"] == []


# -- compute ---------------------------------------------------------------------------


async def test_the_token_lists_a_compute_endpoint(nks: Nks, http: httpx.AsyncClient) -> None:
    from tests.simulator.helpers import issue_token

    catalog = (await issue_token(http, "tenant-a")).json()["access"]["serviceCatalog"]
    compute = next(s for s in catalog if s["type"] == "compute")
    assert compute["name"] == "nova"
    kr1 = next(e for e in compute["endpoints"] if e["region"] == "KR1")
    assert kr1["publicURL"].endswith("/v2/tenant-a")


async def test_servers_are_the_worker_nodes(nks: Nks, cluster: dict[str, Any], cpath: str) -> None:
    servers = await nks.servers()
    assert len(servers) == 2
    group = await nks.json(f"{cpath}/nodegroups/default-worker")
    addresses = {s["addresses"][next(iter(s["addresses"]))][0]["addr"] for s in servers}
    assert addresses == set(group["node_addresses"])
    server = servers[0]
    assert server["status"] == "ACTIVE" and server["OS-EXT-STS:power_state"] == 1
    (entry,) = next(iter(server["addresses"].values()))
    assert (entry["version"], entry["OS-EXT-IPS:type"]) == (4, "fixed")
    assert server["name"].startswith("test-k8s-default-w")  # the guide's example form
    assert server["flavor"]["id"] == group["flavor_id"] and server["tenant_id"] == "tenant-a"
    reason = (await nks.json(cpath))["health_status_reason"]
    assert reason["nodegroup-stats.default-worker"] == f"{len(servers)}:0"


async def test_server_filters_and_pages(nks: Nks, http: httpx.AsyncClient, cpath: str) -> None:
    first = await nks.servers()
    assert [s["name"] for s in await nks.servers(name="node-1$")] == [
        s["name"] for s in first if s["name"].endswith("node-1")
    ]
    assert await nks.servers(status="SHUTOFF") == []
    assert await nks.servers(flavor="00000000-0000-4000-8000-000000000000") == []
    assert len(await nks.servers(image=first[0]["image"]["id"])) == 2
    page = await nks.client.get(
        f"/v2/{nks.tenant}/servers/detail", params={"limit": 1}, headers={"X-Auth-Token": nks.token}
    )
    body = page.json()
    (link,) = body["servers_links"]
    assert link["rel"] == "next" and f"marker={body['servers'][0]['id']}" in link["href"]
    rest = await nks.servers(marker=body["servers"][0]["id"])
    assert [s["id"] for s in body["servers"] + rest] == [s["id"] for s in first]
    bad = await nks.client.get(
        f"/v2/{nks.tenant}/servers/detail",
        params={"marker": "nope"},
        headers={"X-Auth-Token": nks.token},
    )
    assert bad.status_code == 400 and bad.json()["badRequest"]["code"] == 400


async def test_servers_of_another_project_or_without_a_token(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any]
) -> None:
    other = await http.get("/v2/tenant-b/servers/detail", headers={"X-Auth-Token": nks.token})
    assert other.status_code == 403 and "forbidden" in other.json()
    assert (await http.get("/v2/tenant-a/servers/detail")).status_code == 401
    calls = (await http.get("/_sim/calls?operation=list_servers")).json()
    assert [c["status"] for c in calls["log"]] == [403, 401]


async def test_faults_apply_to_the_compute_api(nks: Nks, http: httpx.AsyncClient) -> None:
    rule = {"operation": "list_servers", "action": "error", "status": 503, "count": 1}
    assert (await http.post("/_sim/faults", json=rule)).status_code == 200
    failed = await http.get(f"/v2/{nks.tenant}/servers/detail", headers={"X-Auth-Token": nks.token})
    assert failed.status_code == 503
    assert await nks.servers() == []
