"""The rules of the guide and docs/nks-api-notes.md, each answered with its status and error
body."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nks_devtools.simulator import SimulatorConfig, SimulatorHandle, run_simulator
from nks_devtools.simulator.config import DEFAULT_SUPPORTED_K8S
from tests.simulator.helpers import (
    FLAVOR,
    SUBNET,
    Nks,
    assert_error,
    cluster_body,
    http_client,
    nodegroup_body,
)

SG = "8669cca4-7904-4dc6-b1be-db49661cedb6"


def _with(body: dict[str, Any], **fields: Any) -> dict[str, Any]:
    result = dict(body)
    for key, value in fields.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


# --- create: names, fields, labels ---------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a" * 21,
        "Upper",
        "1starts-with-digit",
        "-dash-first",
        "ends-with-dash-",
        "under_score",
        "dot.name",
        "12345678123456781234",  # 20 chars but starts with a digit
    ],
)
async def test_bad_cluster_names_are_400(nks: Nks, name: str) -> None:
    assert_error(await nks.post("/v1/clusters", cluster_body(name)), 400, "name")


@pytest.mark.parametrize("name", ["a", "k8s-prod-01", "a" * 20])
async def test_good_cluster_names(nks: Nks, name: str) -> None:
    assert (await nks.post("/v1/clusters", cluster_body(name))).status_code == 202


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"cluster_template_id": "b4503d97-6012-499d-a31a-5200f94a7890"}, "iaas_console"),
        ({"keypair": None}, "keypair"),
        ({"flavor_id": None}, "flavor_id"),
        ({"flavor_id": "m2.c4m8"}, "flavor_id"),
        ({"fixed_network": None}, "fixed_network"),
        ({"fixed_subnet": None}, "fixed_subnet"),
        ({"node_count": None}, "node_count"),
        ({"node_count": 0}, "node_count"),
        ({"node_count": 11}, "node_count"),
        ({"node_count": "three"}, "node_count"),
        ({"labels": None}, "labels"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
async def test_bad_create_fields_are_400(nks: Nks, fields: dict[str, Any], fragment: str) -> None:
    body = _with(cluster_body(), **fields)
    assert_error(await nks.post("/v1/clusters", body), 400, fragment)


async def test_node_count_as_string_is_accepted(nks: Nks) -> None:
    assert (await nks.post("/v1/clusters", cluster_body(node_count="3"))).status_code == 202


@pytest.mark.parametrize(
    "label",
    [
        "availability_zone",
        "node_image",
        "boot_volume_type",
        "boot_volume_size",
        "cert_manager_api",
        "ca_enable",
        "kube_tag",
        "master_lb_floating_ip_enabled",
    ],
)
async def test_required_labels_are_400(nks: Nks, label: str) -> None:
    body = cluster_body(**{label: None})
    assert_error(await nks.post("/v1/clusters", body), 400, label)


@pytest.mark.parametrize(
    ("labels", "fragment"),
    [
        ({"cert_manager_api": "False"}, "cert_manager_api"),
        ({"ca_enable": "maybe"}, "ca_enable"),
        ({"master_lb_floating_ip_enabled": True}, "string"),  # label values are strings
        ({"kube_tag": "v1.26.3"}, "v1.26.3"),  # listed but false: not for new clusters
        ({"kube_tag": "v1.99.0"}, "v1.99.0"),
        ({"kube_tag": "1.28"}, "kube_tag"),
        ({"cni_driver": "flannel"}, "cni_driver"),
        ({"node_image": "ubuntu"}, "node_image"),
        ({"boot_volume_size": "0"}, "boot_volume_size"),
        ({"term_of_validity": "6"}, "term_of_validity"),
        ({"external_network_id": None}, "external_network_id"),
        ({"additional_network_id_list": "a:b", "additional_subnet_id_list": "c"}, "additional"),
        ({"ncr_sgw": "not-a-uuid"}, "ncr_sgw"),
        ({"boot_volume_key_id": "k"}, "boot_volume_appkey"),
    ],
)
async def test_bad_labels_are_400(nks: Nks, labels: dict[str, Any], fragment: str) -> None:
    assert_error(await nks.post("/v1/clusters", cluster_body(**labels)), 400, fragment)


@pytest.mark.parametrize(
    ("labels", "fragment"),
    [
        ({"ca_min_node_count": "0"}, "ca_min_node_count"),
        ({"ca_max_node_count": "11"}, "ca_max_node_count"),
        ({"ca_min_node_count": "5", "ca_max_node_count": "4"}, "greater"),
        ({"ca_scale_down_util_thresh": "101"}, "util_thresh"),
        ({"ca_scale_down_unneeded_time": "1441"}, "unneeded_time"),
        ({"ca_scale_down_delay_after_add": "9"}, "delay_after_add"),
    ],
)
async def test_autoscaler_ranges_when_enabled(
    nks: Nks, labels: dict[str, Any], fragment: str
) -> None:
    body = cluster_body(ca_enable="true", **labels)
    assert_error(await nks.post("/v1/clusters", body), 400, fragment)


async def test_autoscaler_values_are_free_while_disabled(nks: Nks) -> None:
    # The guide's own create example sends a delay-after-add of 3 with ca_enable false.
    body = cluster_body(ca_enable="false", ca_scale_down_delay_after_add="3")
    assert (await nks.post("/v1/clusters", body)).status_code == 202


@pytest.mark.parametrize(
    ("volumes", "fragment"),
    [
        ([{"volume_type": "General HDD", "volume_size": 10}] * 4, "at most 3"),
        ([{"volume_type": "General HDD", "volume_size": 0}], "volume_size"),
        ([{"volume_type": "General HDD", "volume_size": 2049}], "volume_size"),
        ([{"volume_size": 10}], "volume_type"),
        ([{"volume_type": "General HDD", "volume_size": 10, "volume_mount_path": "data"}], "path"),
    ],
)
async def test_extra_volume_rules(nks: Nks, volumes: list[Any], fragment: str) -> None:
    assert_error(await nks.post("/v1/clusters", cluster_body(extra_volumes=volumes)), 400, fragment)


async def test_extra_volume_limits_are_inclusive(nks: Nks) -> None:
    volumes = [{"volume_type": "General HDD", "volume_size": s} for s in (1, 2048, "100")]
    assert (await nks.post("/v1/clusters", cluster_body(extra_volumes=volumes))).status_code == 202


async def test_extra_security_groups_at_most_8_per_subnet(nks: Nks) -> None:
    ids = ",".join([SG] * 8)
    ok = cluster_body(extra_security_groups=[{"target_subnet": SUBNET, "security_group_ids": ids}])
    assert (await nks.post("/v1/clusters", ok)).status_code == 202
    too_many = [
        {"target_subnet": SUBNET, "security_group_ids": ids},
        {"target_subnet": SUBNET, "security_group_ids": SG},
    ]
    body = cluster_body("other", extra_security_groups=too_many)
    assert_error(await nks.post("/v1/clusters", body), 400, "8")


# --- create: CIDR rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "fragment"),
    [
        ({"pods_network_cidr": "169.254.0.0/16"}, "link-local"),
        ({"service_cluster_ip_range": "169.254.128.0/24"}, "link-local"),
        ({"pods_network_cidr": "198.18.0.0/16"}, "198.18.0.0/19"),
        ({"service_cluster_ip_range": "198.18.16.0/20"}, "198.18.0.0/19"),
        ({"pods_network_cidr": "192.168.0.0/16"}, "fixed_subnet"),  # contains 192.168.0.0/24
        ({"service_cluster_ip_range": "10.100.0.0/20"}, "overlaps"),  # inside pods
        ({"pods_network_cidr": "10.100.0.0/25"}, "/24"),
        ({"service_cluster_ip_range": "10.254.0.0/26"}, "/24"),
        ({"pods_network_cidr": "10.100.0.1/16"}, "host bits"),
        ({"pods_network_cidr": "not-a-cidr"}, "pods_network_cidr"),
        ({"pods_network_subnet": "19"}, "pods_network_subnet"),
        ({"pods_network_subnet": "29"}, "pods_network_subnet"),
        ({"pods_network_cidr": "10.100.0.0/22", "pods_network_subnet": "23"}, "at least 2"),
    ],
)
async def test_cidr_rules(nks: Nks, labels: dict[str, Any], fragment: str) -> None:
    assert_error(await nks.post("/v1/clusters", cluster_body(**labels)), 400, fragment)


@pytest.mark.parametrize(
    "labels",
    [
        {"pods_network_cidr": "10.100.0.0/22", "pods_network_subnet": "24"},  # guide's example
        {"pods_network_cidr": "10.100.0.0/24", "pods_network_subnet": 26},  # int accepted
        {"pods_network_cidr": "172.17.0.0/16"},  # bridge range is fine after v1.23.3
        {"service_cluster_ip_range": "10.96.0.0/16"},
    ],
)
async def test_valid_cidrs(nks: Nks, labels: dict[str, Any]) -> None:
    assert (await nks.post("/v1/clusters", cluster_body(**labels))).status_code == 202


async def test_fixed_subnet_cidr_comes_from_configuration() -> None:
    config = SimulatorConfig(delay=0.05, subnets={SUBNET: "10.100.8.0/24"})
    async with run_simulator(config) as sim, http_client(sim.url) as http:
        nks = await Nks.login(http, "t")
        assert_error(await nks.post("/v1/clusters", cluster_body()), 400, "fixed_subnet")
        body = cluster_body(pods_network_cidr="10.200.0.0/16")
        assert (await nks.post("/v1/clusters", body)).status_code == 202
        cluster = await nks.wait_status(
            f"/v1/clusters/{(await nks.json('/v1/clusters'))['clusters'][0]['uuid']}",
            "CREATE_COMPLETE",
        )
        assert cluster["node_addresses"][0].startswith("10.100.8.")


async def test_bridge_range_refused_up_to_v1_23_3() -> None:
    config = SimulatorConfig(delay=0.05, supported_k8s={**DEFAULT_SUPPORTED_K8S, "v1.23.3": True})
    async with run_simulator(config) as sim, http_client(sim.url) as http:
        nks = await Nks.login(http, "t")
        body = cluster_body(kube_tag="v1.23.3", pods_network_cidr="172.17.0.0/16")
        assert_error(await nks.post("/v1/clusters", body), 400, "172.17.0.0/16")
        assert (await nks.post("/v1/clusters", cluster_body(kube_tag="v1.23.3"))).status_code == 202


async def test_cni_pod_cidr_rules(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str
) -> None:
    await http.patch("/_sim/config", json={"cni_update_api": True})  # the copy's API
    await http.patch(
        f"/_sim/clusters/{cluster['uuid']}", json={"labels": {"cni_driver": "flannel"}}
    )
    url = f"{cpath}/actions/cni_update"
    cases = [
        ({"cni": "cilium", "pod_cidr": "10.200.0.0/16"}, "calico"),
        ({"cni": "calico"}, "pod_cidr"),
        ({"cni": "calico", "pod_cidr": "10.100.0.0/16"}, "in use"),
        ({"cni": "calico", "pod_cidr": "10.254.0.0/16"}, "service"),
        ({"cni": "calico", "pod_cidr": "192.168.0.0/16"}, "node subnet"),
        ({"cni": "calico", "pod_cidr": "169.254.0.0/16"}, "link-local"),
        ({"cni": "calico", "pod_cidr": "198.18.0.0/20"}, "198.18"),
        ({"cni": "calico", "pod_cidr": "10.200.0.0/25"}, "/24"),
        ({"cni": "calico", "pod_cidr": "10.200.0.0/22", "pod_subnet": "23"}, "at least 2"),
        ({"cni": "calico", "pod_cidr": "10.200.0.0/16", "num_buffer_nodes": 9}, "num_buffer_nodes"),
        (
            {"cni": "calico", "pod_cidr": "10.200.0.0/16", "num_max_unavailable_nodes": 0},
            "unavailable",
        ),
    ]
    for body, fragment in cases:
        assert_error(await nks.post(url, body), 400, fragment)


# --- node groups ---------------------------------------------------------------------


async def test_duplicate_nodegroup_name_is_409(nks: Nks, cpath: str) -> None:
    uuid = cpath.rsplit("/", 1)[1]
    await nks.create_nodegroup(uuid, "extra")
    assert_error(await nks.post(f"{cpath}/nodegroups", nodegroup_body("extra")), 409, "extra")
    assert_error(await nks.post(f"{cpath}/nodegroups", nodegroup_body("default-worker")), 409)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (nodegroup_body("Bad_Name"), "name"),
        (nodegroup_body(node_count=11), "node_count"),
        (nodegroup_body(boot_volume_type=None), "boot_volume_type"),
        (nodegroup_body(ca_enable=None), "ca_enable"),
        ({**nodegroup_body(), "image_id": None}, "image_id"),
        ({**nodegroup_body(), "role": "master"}, "role"),
    ],
)
async def test_bad_nodegroup_create_is_400(
    nks: Nks, cpath: str, body: dict[str, Any], fragment: str
) -> None:
    assert_error(await nks.post(f"{cpath}/nodegroups", body), 400, fragment)


async def test_default_worker_cannot_be_deleted(nks: Nks, cpath: str) -> None:
    assert_error(await nks.delete(f"{cpath}/nodegroups/default-worker"), 400, "default-worker")


async def test_default_master_is_only_an_upgrade_target(
    nks: Nks, http: httpx.AsyncClient, cpath: str
) -> None:
    master = f"{cpath}/nodegroups/default-master"
    assert_error(await nks.get(master), 403, "default-master")
    assert_error(await nks.delete(master), 403)
    assert_error(await nks.get(f"{master}/autoscale"), 403)
    assert_error(await nks.post(f"{master}/autoscale", {"ca_enable": False}), 403)
    assert_error(await nks.post(f"{master}/userscript", {"contents": "x"}), 403)
    assert_error(await nks.post(f"{master}/stop_node", {"node_list": "x"}), 403)
    assert_error(await nks.post(f"{master}/start_node", {"node_list": "x"}), 403)
    assert_error(await nks.patch(master, {"type": "flavor_id", "flavor_id": FLAVOR}), 403)
    resize = {"node_count": 2, "nodegroup": "default-master"}
    assert_error(await nks.post(f"{cpath}/actions/resize", resize), 403)
    # ... and listed only with the knob (contested; NHN's provider filters it out by role).
    await http.patch("/_sim/config", json={"list_default_master": True})
    listed = {ng["name"]: ng for ng in (await nks.json(f"{cpath}/nodegroups"))["nodegroups"]}
    assert (listed["default-master"]["role"], listed["default-master"]["is_default"]) == (
        "master",
        True,
    )


async def test_upgrade_rules(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str
) -> None:
    master = f"{cpath}/nodegroups/default-master/upgrade"
    worker = f"{cpath}/nodegroups/default-worker/upgrade"
    assert_error(await nks.post(master, {"version": "v1.30.3"}), 400, "one minor")
    assert_error(await nks.post(master, {"version": "v1.27.3"}), 400, "cannot go")
    assert_error(await nks.post(master, {"version": "v1.28.3"}), 400, "cannot go")
    assert_error(await nks.post(master, {"version": "v1.29.9"}), 400, "not supported")
    assert_error(await nks.post(master, {}), 400, "version")
    assert_error(await nks.post(worker, {"version": "v1.29.3"}), 400, "control plane")
    assert_error(await nks.post(worker, {"version": "v1.27.3"}), 400, "cannot go")
    # v1.25 -> v1.26 needs Calico.
    patch = {"labels": {"kube_tag": "v1.25.4", "cni_driver": "flannel"}}
    await http.patch(f"/_sim/clusters/{cluster['uuid']}", json=patch)
    await http.patch(
        f"/_sim/clusters/{cluster['uuid']}/nodegroups/default-worker",
        json={"labels": {"kube_tag": "v1.25.4"}},
    )
    assert_error(await nks.post(master, {"version": "v1.26.3"}), 400, "Calico")


async def test_workers_upgrade_one_minor_at_a_time(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str
) -> None:
    await http.patch(
        f"/_sim/clusters/{cluster['uuid']}/nodegroups/default-worker",
        json={"labels": {"kube_tag": "v1.26.3"}},
    )
    worker = f"{cpath}/nodegroups/default-worker/upgrade"
    assert_error(await nks.post(worker, {"version": "v1.28.3"}), 400, "one minor")
    body = {"version": "v1.27.3", "num_buffer_nodes": 9}
    assert_error(await nks.post(worker, body), 400, "num_buffer_nodes")
    assert (await nks.post(worker, {"version": "v1.27.3"})).status_code == 202


async def _stop_one(nks: Nks, cpath: str) -> str:
    ng = f"{cpath}/nodegroups/default-worker"
    node = (await nks.nodes(ng))[0]["uuid"]
    assert (await nks.post(f"{ng}/stop_node", {"node_list": node})).status_code == 202
    await nks.wait_status(ng, "UPDATE_COMPLETE")
    return node


async def test_stopped_nodes_block_upgrade_and_autoscaler(nks: Nks, cpath: str) -> None:
    await nks.post(f"{cpath}/nodegroups/default-master/upgrade", {"version": "v1.29.3"})
    await nks.wait_status(cpath, "UPDATE_COMPLETE")
    stopped = await _stop_one(nks, cpath)
    ng = f"{cpath}/nodegroups/default-worker"
    assert_error(await nks.post(f"{ng}/upgrade", {"version": "v1.29.3"}), 400, "stopped")
    assert_error(await nks.post(f"{ng}/autoscale", {"ca_enable": True}), 400, "stopped")
    assert_error(await nks.post(f"{ng}/stop_node", {"node_list": stopped}), 400, "already stopped")
    assert (await nks.post(f"{ng}/autoscale", {"ca_enable": False})).status_code == 202


async def test_not_all_nodes_may_stop(nks: Nks, cpath: str) -> None:
    ng = f"{cpath}/nodegroups/default-worker"
    nodes = [n["uuid"] for n in await nks.nodes(ng)]
    assert_error(await nks.post(f"{ng}/stop_node", {"node_list": ":".join(nodes)}), 400, "not all")
    await _stop_one(nks, cpath)
    remaining = [n["uuid"] for n in await nks.nodes(ng) if n["status"] == "ACTIVE"]
    assert_error(await nks.post(f"{ng}/stop_node", {"node_list": remaining[0]}), 400, "not all")
    assert_error(
        await nks.post(f"{ng}/start_node", {"node_list": remaining[0]}), 400, "not stopped"
    )
    assert_error(await nks.post(f"{ng}/stop_node", {"node_list": "nope"}), 400, "not in node group")


async def test_autoscaler_blocks_resize_and_stop(nks: Nks, cpath: str) -> None:
    ng = f"{cpath}/nodegroups/default-worker"
    assert (await nks.post(f"{ng}/autoscale", {"ca_enable": True})).status_code == 202
    await nks.wait_status(ng, "UPDATE_COMPLETE")
    resize = {"node_count": 3, "nodegroup": "default-worker"}
    assert_error(await nks.post(f"{cpath}/actions/resize", resize), 400, "autoscaler")
    node = (await nks.nodes(ng))[0]["uuid"]
    assert_error(await nks.post(f"{ng}/stop_node", {"node_list": node}), 400, "autoscaler")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"ca_enable": True, "ca_min_node_count": 0}, "ca_min_node_count"),
        ({"ca_enable": True, "ca_max_node_count": 11}, "ca_max_node_count"),
        ({"ca_enable": True, "ca_min_node_count": 4, "ca_max_node_count": 3}, "greater"),
        ({"ca_enable": True, "ca_scale_down_util_thresh": 0}, "util_thresh"),
        ({"ca_enable": True, "ca_scale_down_unneeded_time": 0}, "unneeded"),
        ({"ca_enable": True, "ca_scale_down_delay_after_add": 1441}, "delay_after_add"),
        ({"ca_max_node_count": 5}, "ca_enable"),
        ({"ca_enable": "yes"}, "ca_enable"),
        ({"ca_enable": True, "ca_image": "x"}, "ca_image"),
    ],
)
async def test_autoscaler_value_ranges(
    nks: Nks, cpath: str, body: dict[str, Any], fragment: str
) -> None:
    url = f"{cpath}/nodegroups/default-worker/autoscale"
    assert_error(await nks.post(url, body), 400, fragment)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"node_count": 0, "nodegroup": "default-worker"}, "node_count"),
        ({"node_count": 11, "nodegroup": "default-worker"}, "node_count"),
        ({"node_count": 2}, "nodegroup"),
        ({"node_count": 1, "nodegroup": "default-worker", "nodes_to_remove": ["x"]}, "not in"),
    ],
)
async def test_resize_rules(nks: Nks, cpath: str, body: dict[str, Any], fragment: str) -> None:
    assert_error(await nks.post(f"{cpath}/actions/resize", body), 400, fragment)


async def test_resize_unknown_nodegroup_is_404(nks: Nks, cpath: str) -> None:
    body = {"node_count": 2, "nodegroup": "nope"}
    assert_error(await nks.post(f"{cpath}/actions/resize", body), 404)


@pytest.mark.parametrize("term", [0, 6, "x", None])
async def test_term_of_validity_1_to_5(nks: Nks, cluster: dict[str, Any], term: Any) -> None:
    body = {} if term is None else {"term_of_validity": term}
    assert_error(
        await nks.patch(f"/v1/certificates/{cluster['uuid']}", body), 400, "term_of_validity"
    )


async def test_certificate_renewal_needs_calico(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any]
) -> None:
    await http.patch(
        f"/_sim/clusters/{cluster['uuid']}", json={"labels": {"cni_driver": "flannel"}}
    )
    body = {"term_of_validity": 1}
    assert_error(await nks.patch(f"/v1/certificates/{cluster['uuid']}", body), 400, "Calico")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"enable": "true", "ipacl_targets": [{"cidr_address": "1.2.3.4"}]}, "action"),
        ({"enable": "true", "action": "ALLOW"}, "ipacl_targets"),
        (
            {"enable": "true", "action": "ALLOW", "ipacl_targets": [{"cidr_address": "1.2.3.999"}]},
            "1.2.3.999",
        ),
        (
            {
                "enable": "true",
                "action": "DENY",
                "ipacl_targets": [{"cidr_address": "10.0.0.1"}] * 101,
            },
            "100",
        ),
        ({"action": "ALLOW"}, "enable"),
    ],
)
async def test_ip_acl_rules(nks: Nks, cpath: str, body: dict[str, Any], fragment: str) -> None:
    assert_error(await nks.post(f"{cpath}/api_ep_ipacl", body), 400, fragment)


async def test_ip_acl_accepts_100_targets_and_the_guides_typo(nks: Nks, cpath: str) -> None:
    targets = [{"cidr_address": f"10.0.0.{i}", "descripion": "typo"} for i in range(100)]
    body = {"enable": True, "action": "DENY", "ipacl_targets": targets}
    assert (await nks.post(f"{cpath}/api_ep_ipacl", body)).status_code == 200
    got = await nks.json(f"{cpath}/api_ep_ipacl")
    assert len(got["ipacl_targets"]) == 100 and got["ipacl_targets"][0]["description"] == "typo"


async def test_flavor_change_rules(nks: Nks, cpath: str) -> None:
    path = f"{cpath}/nodegroups/default-worker"
    assert_error(await nks.patch(path, {"type": "image", "flavor_id": FLAVOR}), 400, "flavor_id")
    assert_error(await nks.patch(path, {"type": "flavor_id", "flavor_id": FLAVOR}), 400, "already")
    assert_error(await nks.patch(path, {"type": "flavor_id"}), 400, "flavor_id")


# --- one operation at a time, quota, not found, malformed ---------------------------


async def test_operations_refused_while_another_runs(
    nks: Nks, http: httpx.AsyncClient, cpath: str
) -> None:
    await http.patch("/_sim/config", json={"delay": 30})  # keep the resize running
    resize = {"node_count": 3, "nodegroup": "default-worker"}
    assert (await nks.post(f"{cpath}/actions/resize", resize)).status_code == 202
    ng = f"{cpath}/nodegroups/default-worker"
    uuid = cpath.rsplit("/", 1)[1]
    attempts = [
        ("POST", f"{cpath}/actions/resize", resize),
        ("POST", f"{cpath}/nodegroups", nodegroup_body("extra")),
        ("POST", f"{ng}/userscript", {"contents": "x"}),
        ("POST", f"{cpath}/nodegroups/default-master/upgrade", {"version": "v1.29.3"}),
        ("PATCH", f"/v1/certificates/{uuid}", {"term_of_validity": 1}),
        ("POST", f"{cpath}/api_ep_ipacl", {"enable": "false"}),
        ("DELETE", cpath, None),
    ]
    for method, path, body in attempts:
        assert_error(await nks.request(method, path, body), 400, "operation in progress")
    finished = await http.post("/_sim/finish-operations", json={"cluster": uuid})
    assert finished.json() == {"finished": 1}
    assert (await nks.json(ng))["status"] == "UPDATE_COMPLETE"
    assert (await nks.post(f"{ng}/userscript", {"contents": "x"})).status_code == 202


async def test_nothing_but_delete_after_a_failed_create(nks: Nks, http: httpx.AsyncClient) -> None:
    await http.post(
        "/_sim/fail-next", json={"operation": "create_cluster", "reason": "no capacity"}
    )
    uuid = (await nks.post("/v1/clusters", cluster_body("doomed"))).json()["uuid"]
    path = f"/v1/clusters/{uuid}"
    failed = await nks.wait_status(path, "CREATE_FAILED")
    assert failed["status_reason"] == "no capacity"
    resize = {"node_count": 2, "nodegroup": "default-worker"}
    assert_error(await nks.post(f"{path}/actions/resize", resize), 400, "CREATE_FAILED")
    assert (await nks.delete(path)).status_code == 204
    await nks.wait_gone(path)


async def test_cluster_quota_is_403() -> None:
    config = SimulatorConfig(delay=0.05, max_clusters_per_tenant=2)
    async with run_simulator(config) as sim, http_client(sim.url) as http:
        nks = await Nks.login(http, "t")
        for name in ("one", "two"):
            assert (await nks.post("/v1/clusters", cluster_body(name))).status_code == 202
        assert_error(await nks.post("/v1/clusters", cluster_body("three")), 403, "maximum")
        other = await Nks.login(http, "other-tenant")
        assert (await other.post("/v1/clusters", cluster_body("three"))).status_code == 202


async def test_unknown_ids_are_404(nks: Nks, cpath: str) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for response in [
        await nks.get(f"/v1/clusters/{missing}"),
        await nks.get(f"/v1/clusters/{missing}/config"),
        await nks.get(f"/v1/clusters/{missing}/events"),
        await nks.patch(f"/v1/certificates/{missing}", {"term_of_validity": 1}),
        await nks.get(f"{cpath}/nodegroups/{missing}"),
        await nks.delete(f"{cpath}/nodegroups/{missing}"),
        await nks.get(f"{cpath}/events/{missing}"),
    ]:
        assert_error(response, 404)


async def test_malformed_json_is_400(nks: Nks, simulator: SimulatorHandle) -> None:
    response = await nks.client.post(
        "/v1/clusters",
        content=b"{not json",
        headers={**nks.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "JSON")
    assert_error(await nks.post("/v1/clusters", [1, 2]), 400, "object")


async def test_unknown_path_and_method_use_the_error_shape(nks: Nks) -> None:
    assert_error(await nks.get("/v1/nothing-here"), 404)
    assert_error(await nks.request("PUT", "/v1/clusters"), 405)
