"""The add-on API of the current edition: types, catalogue, installed add-ons, install,
update, uninstall, their lifecycles, failures and knobs (docs/nks-api-notes.md, "Add-ons")."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nks_devtools.simulator import SimulatorConfig
from tests.simulator.helpers import Nks, assert_error, cluster_body


@pytest.fixture
def simulator_config() -> SimulatorConfig:
    return SimulatorConfig(delay=0.15)


async def configure(http: httpx.AsyncClient, **changes: Any) -> None:
    assert (await http.patch("/_sim/config", json=changes)).status_code == 200


def install_body(name: str = "metrics-server", version: str = "v0.4.4-nks1", **extra: Any) -> Any:
    return {"name": name, "version": version, "resolve_conflicts": "overwrite", **extra}


async def installed(nks: Nks, cpath: str) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in (await nks.json(f"{cpath}/addons/"))["addons"]}


async def test_types_and_catalogue(nks: Nks) -> None:
    types = {t["name"]: t for t in (await nks.json("/v1/addon_types/"))["addon_types"]}
    assert {n for n, t in types.items() if t["mandatory"]} == {"cni", "kube-dns"}
    assert {"metrics-server", "cinder-csi-plugin"} <= {
        n for n, t in types.items() if not t["mandatory"]
    }
    by_uuid = await nks.json(f"/v1/addon_types/{types['cni']['uuid']}")
    assert by_uuid == types["cni"] == await nks.json("/v1/addon_types/cni")
    assert_error(await nks.get("/v1/addon_types/gpu-operator"), 404)

    entries = (await nks.json("/v1/addons/"))["addons"]
    calico = [e for e in entries if e["name"] == "calico"]
    assert len(calico) >= 2  # more than one version: install and update can be tested
    first = calico[0]
    assert set(first) == {
        "uuid",
        "type",
        "name",
        "version",
        "description",
        "deploy_target",
        "k8s_min_version",
        "k8s_max_version",
        "option_schemas",
    }
    (mode,) = first["option_schemas"]
    assert (mode["name"], mode["data_type"], mode["default"], mode["updatable"]) == (
        "mode",
        "SELECT",
        "vxlan",
        False,
    )
    assert mode["choices"] == ["vxlan", "ebpf"]
    assert await nks.json(f"/v1/addons/{first['uuid']}") == first
    assert_error(await nks.get("/v1/addons/calico"), 404)  # by UUID only


async def test_a_new_cluster_has_the_given_and_the_mandatory_addons(nks: Nks) -> None:
    body = cluster_body("addons")
    body["addons"] = [{"name": "calico", "version": "v3.28.2-nks1", "options": {"mode": "ebpf"}}]
    response = await nks.post("/v1/clusters", body)
    cpath = f"/v1/clusters/{response.json()['uuid']}"
    during = await installed(nks, cpath)
    assert {a["status"] for a in during.values()} == {"UPDATE_IN_PROGRESS"}
    await nks.wait_status(cpath, "CREATE_COMPLETE")
    done = await installed(nks, cpath)
    assert set(done) == {"calico", "coredns"}  # kube-dns is mandatory: its newest version
    calico, coredns = done["calico"], done["coredns"]
    assert (calico["version"], calico["options"], calico["status"]) == (
        "v3.28.2-nks1",
        {"mode": "ebpf"},
        "UPDATE_COMPLETE",
    )
    assert (coredns["type"], coredns["version"]) == ("kube-dns", "1.8.4-nks2")
    assert calico["cluster_uuid"] == calico["target_uuid"] == cpath.rsplit("/", 1)[1]
    assert calico["scope"] == "cluster" and calico["status_reason"] is None
    by_uuid = await nks.json(f"{cpath}/addons/{calico['uuid']}")
    assert by_uuid == await nks.json(f"{cpath}/addons/calico")
    assert_error(await nks.get(f"{cpath}/addons/metrics-server"), 404, "not installed")


@pytest.mark.parametrize(
    ("addons", "fragment"),
    [
        ([{"name": "calico", "version": "v9.9.9"}], "not offered"),
        ([{"name": "calico", "version": "v3.30.2-nks1"}], "does not run on"),  # needs 1.29
        ([{"name": "calico", "version": "v3.28.2-nks1", "options": {"mode": "VXLAN"}}], "one of"),
        ([{"name": "calico", "version": "v3.28.2-nks1", "options": {"mtu": "1400"}}], "no option"),
        (
            [
                {"name": "coredns", "version": "1.8.4-nks1"},
                {"name": "coredns-2", "version": "1.8.4-nks1"},
            ],
            "not offered",
        ),
    ],
)
async def test_create_refuses_addons_the_catalogue_does_not_offer(
    nks: Nks, addons: list[dict[str, Any]], fragment: str
) -> None:
    body = {**cluster_body("odd"), "addons": addons}
    assert_error(await nks.post("/v1/clusters", body), 400, fragment)
    assert (await nks.json("/v1/clusters"))["clusters"] == []


async def test_install_update_uninstall(nks: Nks, cluster: dict[str, Any], cpath: str) -> None:
    response = await nks.post(f"{cpath}/addons/", install_body(options={"replicas": "2"}))
    assert response.status_code == 202 and response.json() == {"uuid": cluster["uuid"]}
    during = (await installed(nks, cpath))["metrics-server"]
    assert during["status"] == "UPDATE_IN_PROGRESS"
    assert (await nks.json(cpath))["status"] == "CREATE_COMPLETE"  # knob addon_change_status
    assert_error(
        await nks.post(f"{cpath}/addons/", install_body("nfs-csi-plugin", "v1.0.1-nks1")),
        400,
        "in progress",
    )
    done = await nks.wait_for(
        f"{cpath}/addons/metrics-server", lambda a: a["status"] == "UPDATE_COMPLETE"
    )
    assert (done["version"], done["options"]) == ("v0.4.4-nks1", {"replicas": "2"})
    assert (await nks.events(cluster["uuid"]))[-1]["type"] == "CLUSTER_INSTALL_ADDON"

    update = {
        "version": "v0.4.4-nks2",
        "resolve_conflicts": "preserve",
        "options": {"replicas": "3"},
    }
    assert (await nks.patch(f"{cpath}/addons/metrics-server", update)).status_code == 202
    done = await nks.wait_for(
        f"{cpath}/addons/{done['uuid']}",
        lambda a: a["status"] == "UPDATE_COMPLETE" and a["version"] == "v0.4.4-nks2",
    )
    assert done["options"] == {"replicas": "3"}
    assert (await nks.events(cluster["uuid"]))[-1]["type"] == "CLUSTER_UPDATE_ADDON"

    assert (await nks.delete(f"{cpath}/addons/metrics-server")).status_code == 202
    assert (await installed(nks, cpath))["metrics-server"]["status"] == "DELETE_IN_PROGRESS"
    await nks.wait_for(
        f"{cpath}/addons/", lambda d: "metrics-server" not in {a["name"] for a in d["addons"]}
    )
    assert (await nks.events(cluster["uuid"]))[-1]["type"] == "CLUSTER_UNINSTALL_ADDON"
    assert_error(await nks.delete(f"{cpath}/addons/metrics-server"), 404)


async def test_install_and_update_rules(nks: Nks, cpath: str) -> None:
    cases = [
        (install_body(resolve_conflicts="merge"), 400, "resolve_conflicts"),
        ({"name": "metrics-server", "version": "v0.4.4-nks1"}, 400, "resolve_conflicts"),
        (install_body(version="v0.0.1"), 400, "not offered"),
        (install_body(extra="x"), 400, "Unknown attribute"),
        (install_body(options={"replicas": "two"}), 400, "integer"),
        (install_body("coredns", "1.8.4-nks1"), 409, "already installed"),
        (install_body("calico", "v3.28.2-nks2"), 409, "already installed"),
    ]
    for body, status, fragment in cases:
        assert_error(await nks.post(f"{cpath}/addons/", body), status, fragment)
    calico = f"{cpath}/addons/calico"
    change_mode = {
        "version": "v3.28.2-nks2",
        "resolve_conflicts": "none",
        "options": {"mode": "ebpf"},
    }
    assert_error(await nks.patch(calico, change_mode), 400, "cannot be changed")
    assert_error(
        await nks.patch(calico, {"version": "1.8.4-nks2", "resolve_conflicts": "none"}),
        400,
        "not offered",
    )
    assert_error(
        await nks.patch(
            f"{cpath}/addons/metrics-server",
            {"version": "v0.4.4-nks2", "resolve_conflicts": "none"},
        ),
        404,
    )
    # Mandatory types stay.
    assert_error(await nks.delete(calico), 400, "mandatory")
    assert_error(await nks.delete(f"{cpath}/addons/coredns"), 400, "mandatory")


@pytest.mark.parametrize("operation", ["install_addon", "update_addon"])
async def test_a_failed_install_or_update_shows_update_failed(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str, operation: str
) -> None:
    if operation == "update_addon":
        assert (await nks.post(f"{cpath}/addons/", install_body())).status_code == 202
        await nks.wait_for(
            f"{cpath}/addons/metrics-server", lambda a: a["status"] == "UPDATE_COMPLETE"
        )
    await http.post(
        "/_sim/fail-next", json={"operation": operation, "reason": "conflict on Deployment"}
    )
    if operation == "install_addon":
        response = await nks.post(f"{cpath}/addons/", install_body())
    else:
        body = {"version": "v0.4.4-nks2", "resolve_conflicts": "none"}
        response = await nks.patch(f"{cpath}/addons/metrics-server", body)
    assert response.status_code == 202
    failed = await nks.wait_for(
        f"{cpath}/addons/metrics-server", lambda a: a["status"] == "UPDATE_FAILED"
    )
    assert failed["status_reason"] == "conflict on Deployment"
    assert failed["version"] == "v0.4.4-nks1"  # the failed version is not applied
    assert (await nks.events(cluster["uuid"]))[-1]["state"] == "FAIL"
    assert (await nks.json(cpath))["status"] == "CREATE_COMPLETE"
    # Applying again repairs it.
    again = {"version": "v0.4.4-nks2", "resolve_conflicts": "overwrite"}
    assert (await nks.patch(f"{cpath}/addons/metrics-server", again)).status_code == 202
    await nks.wait_for(
        f"{cpath}/addons/metrics-server",
        lambda a: (a["status"], a["version"]) == ("UPDATE_COMPLETE", "v0.4.4-nks2"),
    )


async def test_addon_change_status_knob(
    nks: Nks, http: httpx.AsyncClient, cluster: dict[str, Any], cpath: str
) -> None:
    await configure(http, addon_change_status="update_in_progress")
    assert (await nks.post(f"{cpath}/addons/", install_body())).status_code == 202
    assert (await nks.json(cpath))["status"] == "UPDATE_IN_PROGRESS"
    await nks.wait_status(cpath, "UPDATE_COMPLETE")


async def test_addon_options_knob(nks: Nks, http: httpx.AsyncClient, cpath: str) -> None:
    await configure(http, addon_options="refused")
    with_options = install_body(options={"replicas": "2"})
    assert_error(await nks.post(f"{cpath}/addons/", with_options), 400, "options")
    assert (await nks.post(f"{cpath}/addons/", install_body())).status_code == 202
    done = await nks.wait_for(
        f"{cpath}/addons/metrics-server", lambda a: a["status"] == "UPDATE_COMPLETE"
    )
    assert done["options"] == {"replicas": "1"}  # the schema's default


@pytest.mark.parametrize("paths", ["either", "with_slash", "without_slash"])
async def test_addon_paths_knob(nks: Nks, http: httpx.AsyncClient, cpath: str, paths: str) -> None:
    await configure(http, addon_paths=paths)
    slashed = [f"{cpath}/addons/", "/v1/addons/", "/v1/addon_types/"]
    for path in slashed:
        with_slash, without = await nks.get(path), await nks.get(path.rstrip("/"))
        assert with_slash.status_code == (404 if paths == "without_slash" else 200), path
        assert without.status_code == (404 if paths == "with_slash" else 200), path
    # Paths the CE writes without a slash are served as written, whatever the knob.
    assert (await nks.get(f"{cpath}/addons/coredns")).status_code == 200
    for form, refused in ((f"{cpath}/addons/", "without_slash"), (f"{cpath}/addons", "with_slash")):
        response = await nks.post(form, install_body())
        if paths == refused:
            assert_error(response, 404)
    installs = (await http.get("/_sim/calls?operation=install_addon")).json()["log"]
    expected = {"either": [202, 409], "with_slash": [202, 404], "without_slash": [404, 202]}
    assert [c["status"] for c in installs] == expected[paths]  # a refused form is a call too
