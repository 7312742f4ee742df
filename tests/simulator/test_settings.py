"""The current edition's settings and answers: node labels, the metric autoscaler, floating
IP auto-bind, control-plane logs, create-time labels, the live labels and health, and
the knobs for what is contested or unknown (docs/nks-api-notes.md, "The current edition",
"Simulator knobs")."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from nks_devtools.simulator import SimulatorConfig
from tests.simulator.helpers import (
    EXTERNAL_NETWORK,
    EXTERNAL_SUBNET,
    SGW_1,
    SUBNET,
    Nks,
    assert_error,
    cluster_body,
    nodegroup_body,
)

OTHER_SUBNET = "0c7d8e5a-2f4b-4d1e-9a6b-5c3d2e1f0a9b"
ON = {
    "enable": True,
    "max_node_count": 5,
    "rules_operator": "OR",
    "delay": 5,
    "adjustment_count": 2,
    "rules": [{"metric": "GROUP_CPU_USAGE", "threshold": 80, "duration": 3}],
}
LNCS = {"enable": True, "type": "lncs", "sgw": SGW_1, "lncs_appkey": "lncs-app-key-0001"}


@pytest.fixture
def simulator_config() -> SimulatorConfig:
    return SimulatorConfig(delay=0.15)


async def configure(http: httpx.AsyncClient, **changes: Any) -> None:
    assert (await http.patch("/_sim/config", json=changes)).status_code == 200, changes


def worker(cpath: str) -> str:
    return f"{cpath}/nodegroups/default-worker"


async def settled(nks: Nks, path: str) -> dict[str, Any]:
    return await nks.wait_for(path, lambda d: d["status"].endswith("_COMPLETE"))


# -- node labels -----------------------------------------------------------------------


async def test_node_labels_change(nks: Nks, cluster: dict[str, Any], cpath: str) -> None:
    labels = {"env": "prod", "example.com/tier": "web", "empty": ""}
    body = {"type": "k8s_node_labels", "k8s_node_labels": labels}
    response = await nks.patch(worker(cpath), body)
    group = await nks.json(worker(cpath))
    assert response.status_code == 202 and response.json() == {"uuid": group["uuid"]}
    assert group["status"] == "UPDATE_IN_PROGRESS"  # knob setting_change_status
    done = await nks.wait_status(worker(cpath), "UPDATE_COMPLETE")
    assert json.loads(done["labels"]["k8s_node_labels"]) == labels
    event = (await nks.events(cluster["uuid"]))[-1]
    assert (event["type"], event["resource_name"]) == (
        "NODEGROUP_UPDATE_K8S_NODE_LABELS",
        "default-worker",
    )


@pytest.mark.parametrize(
    ("labels", "fragment"),
    [
        ({f"k{i}": "v" for i in range(21)}, "at most 20"),
        ({"kubernetes.io/role": "x"}, "reserved"),
        ({"node.k8s.io/x": "y"}, "reserved"),
        ({"-bad": "x"}, "name"),
        ({"a": "x" * 64}, "value"),
        ({"Upper.Case/x": "y"}, "prefix"),
        ({"a": 1}, "object of strings"),
        ("env=prod", "object of strings"),
    ],
)
async def test_node_labels_rules(nks: Nks, cpath: str, labels: Any, fragment: str) -> None:
    body = {"type": "k8s_node_labels", "k8s_node_labels": labels}
    assert_error(await nks.patch(worker(cpath), body), 400, fragment)


async def test_unknown_patch_type_and_fields(nks: Nks, cpath: str) -> None:
    detail = assert_error(await nks.patch(worker(cpath), {"type": "image"}), 400, "type must be")
    for known in ("flavor_id", "k8s_node_labels", "metric_base_autoscale", "fip_auto_bind"):
        assert known in detail
    extra = {"type": "k8s_node_labels", "k8s_node_labels": {}, "labels": {}}
    assert_error(await nks.patch(worker(cpath), extra), 400, "Unknown attribute")
    assert_error(await nks.patch(cpath, {"type": "rename", "name": "x"}), 400, "type must be")
    # Recorded under the operation the type names; an unknown type under the path's first.
    counts = (await nks.client.get("/_sim/calls")).json()["counts"]
    assert (counts["change_flavor"], counts["set_node_labels"]) == (1, 1)
    assert counts["set_control_plane_log"] == 1


# -- metric-based autoscaler ---------------------------------------------------------------


async def test_metric_autoscaler(nks: Nks, http: httpx.AsyncClient, cpath: str) -> None:
    group = await nks.json(worker(cpath))
    # Off by default, as Live answers show it.
    assert json.loads(group["labels"]["mba_scale_out"]) == {
        "enable": False,
        "max_node_count": 10,
        "rules_operator": "OR",
        "delay": 10,
        "adjustment_count": 1,
        "rules": [],
    }
    assert json.loads(group["labels"]["mba_scale_in"])["min_node_count"] == 1
    body = {"type": "metric_base_autoscale", "mba_scale_out": {**ON, "enable": "True"}}
    assert (await nks.patch(worker(cpath), body)).status_code == 202  # "True" is taken too
    done = await nks.wait_status(worker(cpath), "UPDATE_COMPLETE")
    assert json.loads(done["labels"]["mba_scale_out"]) == ON
    assert json.loads(done["labels"]["mba_scale_in"])["enable"] is False
    # While it is on: no resize, no stop, no cluster autoscaler.
    resize = {"nodegroup": "default-worker", "node_count": 3}
    assert_error(await nks.post(f"{cpath}/actions/resize", resize), 400, "autoscaler")
    autoscale = {"ca_enable": True, "ca_min_node_count": 1, "ca_max_node_count": 3}
    assert_error(await nks.post(f"{worker(cpath)}/autoscale", autoscale), 400, "both")
    # The label's `enable` as a string: the mba_enable_form knob.
    await configure(http, mba_enable_form="string")
    labels = (await nks.json(worker(cpath)))["labels"]
    assert json.loads(labels["mba_scale_out"])["enable"] == "True"


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        ({**ON, "delay": 61}, "delay"),
        ({**ON, "adjustment_count": 0}, "adjustment_count"),
        ({**ON, "max_node_count": 11}, "max_node_count"),
        ({**ON, "rules_operator": "XOR"}, "rules_operator"),
        ({**ON, "rules": []}, "at least one rule"),
        ({**ON, "rules": [{"metric": "GROUP_GPU", "threshold": 1, "duration": 3}]}, "metric"),
        (
            {**ON, "rules": [{"metric": "GROUP_CPU_USAGE", "threshold": 1, "duration": 1}]},
            "duration",
        ),
        ({**ON, "min_node_count": 1}, "Unknown attribute"),
        ({"max_node_count": 3}, "enable"),
    ],
)
async def test_metric_autoscaler_rules(
    nks: Nks, cpath: str, policy: dict[str, Any], fragment: str
) -> None:
    body = {"type": "metric_base_autoscale", "mba_scale_out": policy}
    assert_error(await nks.patch(worker(cpath), body), 400, fragment)


async def test_metric_autoscaler_needs_a_policy_and_the_cluster_autoscaler_off(
    nks: Nks, cpath: str
) -> None:
    assert_error(await nks.patch(worker(cpath), {"type": "metric_base_autoscale"}), 400, "mba_")
    autoscale = {"ca_enable": True, "ca_min_node_count": 1, "ca_max_node_count": 3}
    assert (await nks.post(f"{worker(cpath)}/autoscale", autoscale)).status_code == 202
    await nks.wait_status(worker(cpath), "UPDATE_COMPLETE")
    scale_in = {**ON, "min_node_count": 1}
    del scale_in["max_node_count"]
    body = {"type": "metric_base_autoscale", "mba_scale_in": scale_in}
    assert_error(await nks.patch(worker(cpath), body), 400, "both")


# -- floating IP auto-bind -------------------------------------------------------------


async def test_fip_auto_bind(nks: Nks, cluster: dict[str, Any], cpath: str) -> None:
    info = {"fip_auto_bind_enable": True, "fip_bind_subnet": SUBNET, "fip_selector": "pool-a"}
    body = {"type": "fip_auto_bind", "fip_auto_bind_update_info": info}
    assert (await nks.patch(worker(cpath), body)).status_code == 202
    done = await nks.wait_status(worker(cpath), "UPDATE_COMPLETE")
    labels = done["labels"]
    assert (labels["fip_auto_bind_enable"], labels["fip_bind_subnet"], labels["fip_selector"]) == (
        "True",
        SUBNET,
        "pool-a",
    )
    assert (await nks.events(cluster["uuid"]))[-1]["type"] == "NODEGROUP_UPDATE_FIP_AUTO_BIND"
    off = {"type": "fip_auto_bind", "fip_auto_bind_update_info": {"fip_auto_bind_enable": False}}
    assert (await nks.patch(worker(cpath), off)).status_code == 202
    labels = (await settled(nks, worker(cpath)))["labels"]
    assert labels["fip_auto_bind_enable"] == "False" and "fip_bind_subnet" not in labels


@pytest.mark.parametrize(
    ("info", "fragment"),
    [
        ({"fip_auto_bind_enable": True}, "fip_bind_subnet is required"),
        ({"fip_auto_bind_enable": True, "fip_bind_subnet": OTHER_SUBNET}, "subnet"),
        ({"fip_bind_subnet": SUBNET}, "fip_auto_bind_enable"),
        ({"fip_auto_bind_enable": "maybe"}, "True"),
        ({"fip_auto_bind_enable": False, "pool": "x"}, "Unknown attribute"),
        (None, "fip_auto_bind_update_info"),
    ],
)
async def test_fip_auto_bind_rules(nks: Nks, cpath: str, info: Any, fragment: str) -> None:
    body = {"type": "fip_auto_bind", "fip_auto_bind_update_info": info}
    assert_error(await nks.patch(worker(cpath), body), 400, fragment)


# -- control-plane logs ----------------------------------------------------------------


async def test_control_plane_log(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str
) -> None:
    body = {"type": "control_plane_log", "control_plane_log": LNCS}
    response = await nks.patch(cpath, body)
    assert response.status_code == 202 and response.json() == {"uuid": cluster["uuid"]}
    assert (await nks.json(cpath))["status"] == "UPDATE_IN_PROGRESS"
    done = await nks.wait_status(cpath, "UPDATE_COMPLETE")
    assert json.loads(done["labels"]["control_plane_log"]) == {**LNCS, "upload_interval": 10}
    assert (await nks.events(cluster["uuid"]))[-1]["type"] == "CLUSTER_UPDATE_CONTROL_PLANE_LOG"
    # The admin state shows the setting, the app key masked.
    state = (await http.get("/_sim/state")).json()["tenants"]["tenant-a"]["clusters"][0]
    assert state["settings"]["control_plane_log"]["lncs_appkey"] == "***"
    off = {"type": "control_plane_log", "control_plane_log": {"enable": False}}
    assert (await nks.patch(cpath, off)).status_code == 202
    done = await nks.wait_status(cpath, "UPDATE_COMPLETE")
    assert json.loads(done["labels"]["control_plane_log"]) == {"enable": False}


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"enable": True, "type": "kafka", "sgw": SGW_1}, "type"),
        ({"enable": True, "type": "lncs"}, "sgw"),
        ({"enable": True, "type": "lncs", "sgw": SGW_1}, "lncs_appkey"),
        ({"enable": True, "type": "obs", "sgw": SGW_1}, "obs_api_url"),
        ({**LNCS, "upload_interval": 61}, "upload_interval"),
        ({**LNCS, "level": "debug"}, "Unknown attribute"),
        ({"type": "lncs"}, "enable"),
    ],
)
async def test_control_plane_log_rules(
    nks: Nks, cpath: str, settings: dict[str, Any], fragment: str
) -> None:
    body = {"type": "control_plane_log", "control_plane_log": settings}
    detail = assert_error(await nks.patch(cpath, body), 400, fragment)
    assert "lncs-app-key-0001" not in detail  # never echoed


# -- create-time labels ----------------------------------------------------------------


async def test_create_takes_the_current_editions_labels(nks: Nks, http: httpx.AsyncClient) -> None:
    obs = {
        "enable": True,
        "type": "obs",
        "sgw": SGW_1,
        "obs_api_url": "https://kr1-api-object-storage.example/v1/AUTH_t/logs/nks",
        "obs_store_as": "gzip",
    }
    cluster = await nks.create_cluster(
        "today",
        k8s_node_labels=json.dumps({"env": "prod"}),
        mba_scale_out=json.dumps(ON),
        fip_auto_bind_enable="True",
        fip_bind_subnet=SUBNET,
        ca_pod_replicas="2",
        control_plane_log=json.dumps(obs),
        skm=json.dumps({"key_id": "skm-key-1"}),
    )
    labels = cluster["labels"]
    assert json.loads(labels["k8s_node_labels"]) == {"env": "prod"}
    assert json.loads(labels["mba_scale_out"]) == ON
    assert (labels["fip_auto_bind_enable"], labels["fip_bind_subnet"]) == ("True", SUBNET)
    assert labels["ca_pod_replicas"] == "2"
    assert json.loads(labels["control_plane_log"]) == {**obs, "upload_interval": 10}
    assert json.loads(labels["skm"]) == {"key_id": "skm-key-1"}
    group = await nks.json(f"/v1/clusters/{cluster['uuid']}/nodegroups/default-worker")
    assert json.loads(group["labels"]["k8s_node_labels"]) == {"env": "prod"}
    assert "skm" not in group["labels"] and "control_plane_log" not in group["labels"]

    pool = await nks.create_nodegroup(
        cluster["uuid"], "pool", k8s_node_labels=json.dumps({"pool": "a"}), ca_pod_replicas="1"
    )
    assert json.loads(pool["labels"]["k8s_node_labels"]) == {"pool": "a"}
    assert json.loads(pool["labels"]["mba_scale_in"])["enable"] is False


@pytest.mark.parametrize(
    ("labels", "fragment"),
    [
        ({"k8s_node_labels": "env=prod"}, "JSON"),
        ({"k8s_node_labels": json.dumps({"kubernetes.io/x": "y"})}, "reserved"),
        ({"mba_scale_out": json.dumps({**ON, "delay": 0})}, "delay"),
        ({"mba_scale_out": json.dumps(ON), "ca_enable": "true"}, "both"),
        ({"fip_auto_bind_enable": "True"}, "fip_bind_subnet"),
        ({"control_plane_log": json.dumps({"enable": True, "type": "lncs"})}, "sgw"),
        ({"skm": json.dumps({"key": "x"})}, "key_id"),
        ({"skm": {"key_id": "x"}}, "string"),
        ({"ca_pod_replicas": "none"}, "integer"),
    ],
)
async def test_create_refuses_odd_current_labels(
    nks: Nks, labels: dict[str, Any], fragment: str
) -> None:
    body = cluster_body("odd", **labels)
    if labels.get("ca_enable") == "true":
        body["labels"].update(ca_min_node_count="1", ca_max_node_count="3")
    assert_error(await nks.post("/v1/clusters", body), 400, fragment)


@pytest.mark.parametrize("rule", ["current", "copy"])
async def test_public_endpoint_rule_knob(nks: Nks, http: httpx.AsyncClient, rule: str) -> None:
    await configure(http, public_endpoint_rule=rule)
    public_alone = cluster_body("alone", external_network_id=None, external_subnet_id_list=None)
    response = await nks.post("/v1/clusters", public_alone)
    if rule == "current":
        assert_error(response, 400, "external_network_id")
    else:
        assert response.status_code == 202
    with_network = cluster_body("with-net", external_network_id=EXTERNAL_NETWORK)
    with_network["labels"]["external_subnet_id_list"] = EXTERNAL_SUBNET
    assert (await nks.post("/v1/clusters", with_network)).status_code == 202
    private = cluster_body("private", master_lb_floating_ip_enabled="False")
    private["labels"].pop("external_network_id")
    private["labels"].pop("external_subnet_id_list")
    assert (await nks.post("/v1/clusters", private)).status_code == 202


async def test_additional_subnets_stay_clear_of_pod_and_service_networks(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str
) -> None:
    net = "d3c1b2a4-1e2f-4a5b-8c7d-6e5f4a3b2c1d"
    await configure(http, subnets={OTHER_SUBNET: "10.100.8.0/24"})  # inside the pod network
    body = cluster_body(
        "extra", additional_network_id_list=net, additional_subnet_id_list=OTHER_SUBNET
    )
    assert_error(await nks.post("/v1/clusters", body), 400, "overlaps pods_network_cidr")
    group = nodegroup_body(
        "pool", additional_network_id_list=net, additional_subnet_id_list=OTHER_SUBNET
    )
    assert_error(await nks.post(f"{cpath}/nodegroups", group), 400, "overlaps")
    await configure(http, subnets={OTHER_SUBNET: "172.30.0.0/24"})
    assert (await nks.post(f"{cpath}/nodegroups", group)).status_code == 202


# -- answers: live labels, health, defaults ----------------------------------------------


async def test_live_labels_and_versions(nks: Nks, http: httpx.AsyncClient) -> None:
    cluster = await nks.create_cluster("live", node_count=2, kube_tag="v1.28.3")
    cpath = f"/v1/clusters/{cluster['uuid']}"
    labels = cluster["labels"]
    assert labels["platform_version"] == "1.202602.0"
    assert labels["kube_version_status"] == "NEED_K8S_UPGRADE"
    assert json.loads(labels["upgradable_kube_versions"]) == ["v1.29.3"]
    assert labels["upgradable_platform_version"] == ""
    group = await nks.json(worker(cpath))
    assert group["is_default"] is False  # the guide's examples and Live
    assert group["labels"]["kube_version_status"] == "LATEST"  # against its control plane
    assert json.loads(group["labels"]["upgradable_kube_versions"]) == []
    assert group["labels"]["platform_version"] == "1.202602.0"
    servers = {s["id"] for s in await nks.servers()}
    assert set(group["labels"]["node_list"].split(":")) == servers and len(servers) == 2
    # Once the control plane has moved, the group may follow.
    upgrade = {"version": "v1.29.3"}
    assert (
        await nks.post(f"{cpath}/nodegroups/default-master/upgrade", upgrade)
    ).status_code == 202
    await nks.wait_status(cpath, "UPDATE_COMPLETE")
    group = await nks.json(worker(cpath))
    assert json.loads(group["labels"]["upgradable_kube_versions"]) == ["v1.29.3"]
    assert group["labels"]["kube_version_status"] == "NEED_K8S_UPGRADE"
    await configure(http, kube_version_status="NEED_UPGRADE")
    assert (await nks.json(worker(cpath)))["labels"]["kube_version_status"] == "NEED_UPGRADE"
    newest = await nks.create_cluster("newest", kube_tag="v1.31.4")
    assert newest["labels"]["kube_version_status"] == "LATEST"
    assert json.loads(newest["labels"]["upgradable_kube_versions"]) == []


@pytest.mark.parametrize("form", ["flat", "nested"])
async def test_health_reason_knob(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str, form: str
) -> None:
    await configure(http, health_reason_form=form)
    answer = await nks.json(cpath)
    assert answer["health_status"] == "FRESH"
    reason = answer["health_status_reason"]
    if form == "flat":
        assert reason["cluster.api_status"] == "NORMAL"
        assert reason["cluster.node_status"] == "NORMAL"
        assert reason["nodegroup.node_status.default-worker"] == "NORMAL"
        assert reason["nodegroup-stats.default-worker"] == "2:0"
    else:
        assert reason["cluster"] == {"api_status": "NORMAL", "node_status": "NORMAL"}
        assert reason["nodegroup"] == {"node_status": {"default-worker": "NORMAL"}}
        assert reason["nodegroup-stats"] == {"default-worker": "2:0"}
    assert reason["api"] == "OK" and "T" in reason["timestamp"]


async def test_setting_labels_knob(nks: Nks, http: httpx.AsyncClient, cpath: str) -> None:
    body = {"type": "k8s_node_labels", "k8s_node_labels": {"env": "prod"}}
    assert (await nks.patch(worker(cpath), body)).status_code == 202
    await nks.wait_status(worker(cpath), "UPDATE_COMPLETE")
    await configure(http, setting_labels="hidden")
    labels = (await nks.json(worker(cpath)))["labels"]
    assert "k8s_node_labels" not in labels and "mba_scale_out" in labels
    state = (await http.get("/_sim/state")).json()["tenants"]["tenant-a"]["clusters"][0]
    (group,) = [g for g in state["nodegroups"] if g["name"] == "default-worker"]
    assert group["settings"]["k8s_node_labels"] == {"env": "prod"}  # stored all the same


async def test_setting_change_status_knob(nks: Nks, http: httpx.AsyncClient, cpath: str) -> None:
    await configure(http, setting_change_status="unchanged")
    await http.post("/_sim/hold-next", json={"operation": "set_node_labels"})
    body = {"type": "k8s_node_labels", "k8s_node_labels": {"env": "prod"}}
    assert (await nks.patch(worker(cpath), body)).status_code == 202
    assert (await nks.json(worker(cpath)))["status"] == "CREATE_COMPLETE"
    assert_error(await nks.patch(worker(cpath), body), 400, "in progress")  # busy all the same
    await http.post("/_sim/finish-operations", json={"operation": "set_node_labels"})
    labels = (await nks.json(worker(cpath)))["labels"]
    assert json.loads(labels["k8s_node_labels"]) == {"env": "prod"}


# -- task names ------------------------------------------------------------------------


@pytest.mark.parametrize("names", ["current", "copy"])
async def test_task_names_knob(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str, names: str
) -> None:
    await configure(http, task_names=names)
    node = (await nks.json(worker(cpath)))["labels"]["node_list"].split(":")[0]
    assert (await nks.post(f"{worker(cpath)}/stop_node", {"node_list": node})).status_code == 202
    await nks.wait_status(worker(cpath), "UPDATE_COMPLETE")
    stop = (await nks.events(cluster["uuid"]))[-1]["type"]
    listed = (await nks.json("/v1/supports"))["supported_event_type"]["nodegroup_events"]
    if names == "current":
        assert stop == "NODEGROUP_NODE_ACTION_STOP_NODE"
        assert {"NODEGROUP_UPDATE_K8S_NODE_LABELS", "NODEGROUP_SCALE_OUT"} <= set(listed)
    else:
        assert stop == "NODEGROUP_NODE_ACTION_NODE_STOP"
        assert "NODEGROUP_UPDATE_K8S_NODE_LABELS" not in listed
    assert stop in listed


async def test_supported_event_type_shape_knob(nks: Nks, http: httpx.AsyncClient) -> None:
    await configure(http, supported_event_type_shape="flat")
    types = (await nks.json("/v1/supports"))["supported_event_type"]
    assert "CLUSTER_CREATE" in types and "NODEGROUP_CREATE" in types
    assert "cluster_events" not in types


async def test_new_knobs_are_validated_and_listed(http: httpx.AsyncClient) -> None:
    config = (await http.get("/_sim/config")).json()
    assert {
        k: config[k]
        for k in (
            "task_names",
            "list_default_master",
            "kube_version_status",
            "health_reason_form",
            "mba_enable_form",
            "setting_labels",
            "addon_options",
            "addon_paths",
            "cni_update_api",
            "public_endpoint_rule",
        )
    } == {
        "task_names": "current",
        "list_default_master": False,
        "kube_version_status": "NEED_K8S_UPGRADE",
        "health_reason_form": "flat",
        "mba_enable_form": "boolean",
        "setting_labels": "shown",
        "addon_options": "accepted",
        "addon_paths": "either",
        "cni_update_api": False,
        "public_endpoint_rule": "current",
    }
    for knob, value in (("task_names", "newest"), ("addon_paths", "slash"), ("mba_enable_form", 1)):
        assert (await http.patch("/_sim/config", json={knob: value})).status_code == 400
