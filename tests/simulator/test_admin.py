"""The `/_sim/` admin endpoints tests and benchmarks rely on."""

from __future__ import annotations

from typing import Any

import httpx

from tests.simulator.helpers import Nks, assert_error, cluster_body


async def test_health(http: httpx.AsyncClient) -> None:
    assert (await http.get("/_sim/health")).json()["status"] == "ok"


async def test_calls_count_per_operation_and_status(http: httpx.AsyncClient, nks: Nks) -> None:
    await nks.get("/v1/clusters")
    await nks.get("/v1/clusters/missing")
    await nks.post("/v1/clusters", cluster_body())
    await http.get("/_sim/state")  # admin calls are not NKS calls
    calls = (await http.get("/_sim/calls")).json()
    assert calls["counts"] == {
        "issue_token": 1,
        "list_clusters": 1,
        "get_cluster": 1,
        "create_cluster": 1,
    }
    assert calls["by_status"]["get_cluster"] == {"404": 1}
    assert calls["by_status"]["create_cluster"] == {"202": 1}
    assert calls["total"] == 4
    entry = calls["log"][-1]
    assert {k: entry[k] for k in ("method", "path", "operation", "status", "tenant")} == {
        "method": "POST",
        "path": "/v1/clusters",
        "operation": "create_cluster",
        "status": 202,
        "tenant": "tenant-a",
    }
    assert isinstance(entry["timestamp"], float)


async def test_call_log_filters(http: httpx.AsyncClient, nks: Nks) -> None:
    await nks.get("/v1/clusters?limit=5")
    seq = (await http.get("/_sim/calls?log=0")).json()["last_seq"]
    assert "log" not in (await http.get("/_sim/calls?log=0")).json()
    await nks.get("/v1/supports")
    await nks.get("/v1/clusters")
    since = (await http.get(f"/_sim/calls?since={seq}")).json()["log"]
    assert [e["operation"] for e in since] == ["get_supports", "list_clusters"]
    only = (await http.get("/_sim/calls?operation=list_clusters")).json()["log"]
    assert [e["path"] for e in only] == ["/v1/clusters?limit=5", "/v1/clusters"]
    await http.post("/_sim/reset-calls")
    assert (await http.get("/_sim/calls")).json() == {
        "total": 0,
        "last_seq": seq + 2,
        "counts": {},
        "by_status": {},
        "log": [],
    }


async def test_unauthenticated_calls_are_logged_without_tenant(http: httpx.AsyncClient) -> None:
    await http.get("/v1/clusters")
    (entry,) = (await http.get("/_sim/calls")).json()["log"]
    assert (entry["status"], entry["tenant"]) == (401, None)


async def test_state_lists_running_operations(http: httpx.AsyncClient, nks: Nks) -> None:
    await http.patch("/_sim/config", json={"delay": 30})
    uuid = (await nks.post("/v1/clusters", cluster_body())).json()["uuid"]
    state = (await http.get("/_sim/state")).json()
    (pending,) = state["pending_operations"]
    assert (pending["cluster_uuid"], pending["operation"]) == (uuid, "create_cluster")
    assert 0 < pending["due_in"] <= 30
    assert state["tokens"] == {"active": 1, "issued": 1}
    assert (await http.post("/_sim/finish-operations", json={"cluster": uuid})).json() == {
        "finished": 1
    }
    assert (await nks.json(f"/v1/clusters/{uuid}"))["status"] == "CREATE_COMPLETE"
    assert (await http.get("/_sim/state?tenant=nobody")).json()["tenants"] == {}


async def test_reset_wipes_state_calls_and_faults_but_keeps_tokens(
    http: httpx.AsyncClient, nks: Nks
) -> None:
    await nks.post("/v1/clusters", cluster_body())
    await http.post("/_sim/faults", json={"operation": "get_supports", "action": "error"})
    await http.post("/_sim/reset")
    assert (await nks.json("/v1/clusters"))["clusters"] == []
    assert (await nks.get("/v1/supports")).status_code == 200
    assert (await http.get("/_sim/calls")).json()["counts"] == {
        "list_clusters": 1,
        "get_supports": 1,
    }
    await http.post("/_sim/reset", json={"tokens": True})
    assert (await nks.get("/v1/clusters")).status_code == 401


async def test_config_can_change_at_run_time(http: httpx.AsyncClient, nks: Nks) -> None:
    config = (
        await http.patch("/_sim/config", json={"delay": 30, "max_clusters_per_tenant": 1})
    ).json()
    assert (config["delay"], config["max_clusters_per_tenant"]) == (30.0, 1)
    uuid = (await nks.post("/v1/clusters", cluster_body())).json()["uuid"]
    assert_error(await nks.post("/v1/clusters", cluster_body("second")), 403)
    assert (await nks.json(f"/v1/clusters/{uuid}"))["status"] == "CREATE_IN_PROGRESS"
    assert (await http.patch("/_sim/config", json={"region": "KR9"})).status_code == 400
    assert (await http.patch("/_sim/config", json={"delay": -1})).status_code == 400
    assert (await http.get("/_sim/config")).json()["delay"] == 30.0


async def test_out_of_band_changes(
    http: httpx.AsyncClient, nks: Nks, cluster: dict[str, Any], cpath: str
) -> None:
    patch = {
        "status": "UPDATE_FAILED",
        "status_reason": "manual",
        "labels": {"kube_tag": "v1.27.3"},
    }
    assert (await http.patch(f"/_sim/clusters/{cluster['uuid']}", json=patch)).status_code == 200
    changed = await nks.json(cpath)
    assert (changed["status"], changed["status_reason"]) == ("UPDATE_FAILED", "manual")
    assert changed["labels"]["kube_tag"] == "v1.27.3"
    ng_patch = {"labels": {"user_script_v2": None}, "flavor_id": "x"}
    assert (
        await http.patch("/_sim/clusters/test-k8s/nodegroups/default-worker", json=ng_patch)
    ).status_code == 200
    group = await nks.json(f"{cpath}/nodegroups/default-worker")
    assert group["flavor_id"] == "x" and group["labels"]["user_script_v2"] == ""  # as unset
    # `answer_labels` only change the answer: verbatim values, null hides the label.
    answer = {"answer_labels": {"extra_volumes": 5, "user_script_v2": None}}
    ng_url = "/_sim/clusters/test-k8s/nodegroups/default-worker"
    assert (await http.patch(ng_url, json=answer)).status_code == 200
    group = await nks.json(f"{cpath}/nodegroups/default-worker")
    assert group["labels"]["extra_volumes"] == 5 and "user_script_v2" not in group["labels"]
    assert (await http.patch("/_sim/clusters/nope", json={})).status_code == 404
    assert (
        await http.patch(f"/_sim/clusters/{cluster['uuid']}", json={"bogus": 1})
    ).status_code == 400

    assert (await http.delete(f"/_sim/clusters/{cluster['uuid']}")).status_code == 200
    assert_error(await nks.get(cpath), 404)


async def test_fail_next_is_listed_and_consumed(http: httpx.AsyncClient, nks: Nks) -> None:
    listed = (await http.post("/_sim/fail-next", json={"operation": "create_cluster"})).json()
    assert listed["failure_injections"][0]["operation"] == "create_cluster"
    assert (await http.post("/_sim/fail-next", json={"nonsense": 1})).status_code == 400
    await nks.post("/v1/clusters", cluster_body())
    assert (await http.get("/_sim/state")).json()["failure_injections"] == []


async def test_fault_endpoints(http: httpx.AsyncClient) -> None:
    rule = {"operation": "list_clusters", "action": "error", "status": 500}
    added = (await http.post("/_sim/faults", json=rule)).json()
    assert added["rules"][0]["status"] == 500 and added["rules"][0]["hits"] == 0
    replaced = (
        await http.put("/_sim/faults", json=[{"action": "latency", "latency": 0.01}])
    ).json()
    assert [r["action"] for r in replaced["rules"]] == ["latency"]
    assert (await http.delete("/_sim/faults")).json()["rules"] == []


def test_every_operation_of_the_guide_is_routed() -> None:
    from nks_devtools.simulator.app import HANDLERS
    from nks_operator.nks.operations import Operation

    assert set(HANDLERS) == set(Operation) - {Operation.ISSUE_TOKEN}
