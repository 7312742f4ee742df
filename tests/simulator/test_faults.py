"""Fault injection: error rates, throttling, latency, lost answers, silent drops and failed
operations - set at start-up or at run time."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from nks_devtools.simulator import FaultRule, FaultSettings, SimulatorConfig, run_simulator
from tests.simulator.helpers import Nks, assert_error, cluster_body, http_client


async def _put_faults(http: httpx.AsyncClient, *rules: dict[str, Any], seed: int = 0) -> None:
    response = await http.put("/_sim/faults", json={"seed": seed, "rules": list(rules)})
    assert response.status_code == 200, response.text


async def _statuses(nks: Nks, n: int) -> list[int]:
    return [(await nks.get("/v1/clusters")).status_code for _ in range(n)]


async def test_error_rate_is_seeded_and_repeatable(http: httpx.AsyncClient, nks: Nks) -> None:
    rule = {"operation": "list_clusters", "action": "error", "probability": 0.3, "status": 503}
    await _put_faults(http, rule, seed=7)
    first = await _statuses(nks, 100)
    assert set(first) == {200, 503}
    assert 15 <= first.count(503) <= 45
    await _put_faults(http, rule, seed=7)
    assert await _statuses(nks, 100) == first  # same seed, same faults
    assert (await nks.get("/v1/supports")).status_code == 200  # other operations untouched
    calls = (await http.get("/_sim/calls?log=0")).json()
    assert calls["by_status"]["list_clusters"]["503"] == 2 * first.count(503)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_error_statuses_and_bodies(http: httpx.AsyncClient, nks: Nks, status: int) -> None:
    await _put_faults(http, {"operation": "*", "action": "error", "status": status, "count": 3})
    assert_error(await nks.get("/v1/clusters"), status)
    await http.put("/_sim/faults", json=[{"action": "error", "status": status, "body": "html"}])
    html = await nks.get("/v1/clusters")
    assert html.status_code == status and html.headers["content-type"].startswith("text/html")
    await http.put("/_sim/faults", json=[{"action": "error", "status": status, "body": "empty"}])
    empty = await nks.get("/v1/clusters")
    assert (empty.status_code, empty.content) == (status, b"")


async def test_wildcard_also_hits_the_identity_endpoint(http: httpx.AsyncClient) -> None:
    await _put_faults(http, {"operation": "*", "action": "error", "status": 502})
    response = await http.post("/v2.0/tokens", json={})
    assert response.status_code == 502


async def test_throttle_answers_429_with_retry_after_and_changes_nothing(
    http: httpx.AsyncClient, nks: Nks
) -> None:
    await _put_faults(http, {"operation": "create_cluster", "action": "throttle", "retry_after": 3})
    response = await nks.post("/v1/clusters", cluster_body())
    assert_error(response, 429)
    assert response.headers["Retry-After"] == "3"
    assert (await nks.json("/v1/clusters"))["clusters"] == []


async def test_count_limits_a_rule_to_its_first_hits(http: httpx.AsyncClient, nks: Nks) -> None:
    await _put_faults(http, {"operation": "list_clusters", "action": "error", "count": 2})
    assert await _statuses(nks, 4) == [503, 503, 200, 200]
    (rule,) = (await http.get("/_sim/faults")).json()["rules"]
    assert (rule["hits"], rule["remaining"]) == (2, 0)


async def test_latency_delays_only_the_chosen_operation(http: httpx.AsyncClient, nks: Nks) -> None:
    await _put_faults(http, {"operation": "get_supports", "action": "latency", "latency": 0.3})
    started = time.monotonic()
    assert (await nks.get("/v1/supports")).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert (await nks.get("/v1/clusters")).status_code == 200
    assert time.monotonic() - started < 0.3


async def test_latency_combines_with_an_error(http: httpx.AsyncClient, nks: Nks) -> None:
    await _put_faults(
        http,
        {"operation": "list_clusters", "action": "latency", "latency": 0.2},
        {"operation": "list_clusters", "action": "error", "status": 500},
    )
    started = time.monotonic()
    assert_error(await nks.get("/v1/clusters"), 500)
    assert time.monotonic() - started >= 0.2


async def _only_cluster(nks: Nks) -> dict[str, Any]:
    (cluster,) = (await nks.json("/v1/clusters"))["clusters"]
    return cluster


async def test_drop_response_error_applies_the_change(http: httpx.AsyncClient, nks: Nks) -> None:
    await _put_faults(http, {"operation": "create_cluster", "action": "drop_response", "count": 1})
    assert_error(await nks.post("/v1/clusters", cluster_body("dropped")), 500)
    assert (await _only_cluster(nks))["name"] == "dropped"  # created although the caller saw 500
    (entry,) = (await http.get("/_sim/calls?operation=create_cluster")).json()["log"]
    assert (entry["status"], entry["dropped"], entry["fault"]) == (202, True, "drop_response:error")


async def test_drop_response_close_applies_the_change(http: httpx.AsyncClient, nks: Nks) -> None:
    rule = {"operation": "create_cluster", "action": "drop_response", "drop_mode": "close"}
    await _put_faults(http, rule)
    with pytest.raises(httpx.RemoteProtocolError):
        await nks.post("/v1/clusters", cluster_body("closed"))
    assert (await _only_cluster(nks))["name"] == "closed"


async def test_drop_response_timeout_applies_the_change(
    http: httpx.AsyncClient, nks: Nks, cpath: str
) -> None:
    rule = {
        "operation": "resize_cluster",
        "action": "drop_response",
        "drop_mode": "timeout",
        "hang": 5,
    }
    await _put_faults(http, rule)
    body = {"node_count": 3, "nodegroup": "default-worker"}
    with pytest.raises(httpx.ReadTimeout):
        await nks.post(f"{cpath}/actions/resize", body, timeout=0.3)
    await http.delete("/_sim/faults")
    done = await nks.wait_status(f"{cpath}/nodegroups/default-worker", "UPDATE_COMPLETE")
    assert done["node_count"] == 3


async def test_silent_drop_accepts_and_changes_nothing(
    http: httpx.AsyncClient, nks: Nks, cpath: str
) -> None:
    await _put_faults(http, {"operation": "create_cluster", "action": "silent_drop"})
    response = await nks.post("/v1/clusters", cluster_body("ghost"))
    assert response.status_code == 202
    assert_error(await nks.get(f"/v1/clusters/{response.json()['uuid']}"), 404)
    assert [c["name"] for c in (await nks.json("/v1/clusters"))["clusters"]] == ["test-k8s"]

    await _put_faults(http, {"operation": "resize_cluster", "action": "silent_drop"})
    events_before = (await nks.json(f"{cpath}/events"))["events"]
    body = {"node_count": 3, "nodegroup": "default-worker"}
    response = await nks.post(f"{cpath}/actions/resize", body)
    assert response.status_code == 202 and response.json() == {"uuid": cpath.rsplit("/", 1)[1]}
    assert (await nks.json(cpath))["status"] == "CREATE_COMPLETE"
    assert (await nks.json(f"{cpath}/events"))["events"] == events_before
    # Validation still happens: a bad request is refused, not dropped.
    assert_error(
        await nks.post(
            f"{cpath}/actions/resize", {"node_count": 99, "nodegroup": "default-worker"}
        ),
        400,
    )


async def test_busy_refuses_a_write_as_a_running_operation_would(
    http: httpx.AsyncClient, nks: Nks, cpath: str
) -> None:
    await _put_faults(http, {"action": "busy", "count": 1})
    assert (await nks.get(cpath)).status_code == 200  # a read is not refused
    body = {"node_count": 3, "nodegroup": "default-worker"}
    refused = await nks.post(f"{cpath}/actions/resize", body)
    assert_error(refused, 400)
    assert "in progress" in refused.json()["errors"][0]["detail"].lower()
    assert (await nks.json(cpath))["status"] == "CREATE_COMPLETE"  # nothing started
    accepted = await nks.post(f"{cpath}/actions/resize", body)
    assert accepted.status_code == 202  # once


async def test_silent_drop_keeps_other_running_operations(
    http: httpx.AsyncClient, nks: Nks
) -> None:
    await http.patch("/_sim/config", json={"delay": 0.3})
    first = (await nks.post("/v1/clusters", cluster_body("real"))).json()["uuid"]
    await _put_faults(http, {"operation": "create_cluster", "action": "silent_drop"})
    assert (await nks.post("/v1/clusters", cluster_body("ghost"))).status_code == 202
    done = await nks.wait_status(f"/v1/clusters/{first}", "CREATE_COMPLETE")
    assert done["node_count"] == 1 and len(done["node_addresses"]) == 1


async def test_busy_accept_and_drop_mode(http: httpx.AsyncClient, nks: Nks, cpath: str) -> None:
    await http.patch("/_sim/config", json={"busy_behaviour": "accept_and_drop", "delay": 30})
    body = {"node_count": 3, "nodegroup": "default-worker"}
    assert (await nks.post(f"{cpath}/actions/resize", body)).status_code == 202
    second = await nks.post(
        f"{cpath}/actions/resize", {"node_count": 5, "nodegroup": "default-worker"}
    )
    assert second.status_code == 202  # accepted ...
    events = (await nks.json(f"{cpath}/events"))["events"]
    assert [e["type"] for e in events] == ["CLUSTER_CREATE", "CLUSTER_RESIZE"]  # ... but dropped
    await http.post("/_sim/finish-operations")
    assert (await nks.json(f"{cpath}/nodegroups/default-worker"))["node_count"] == 3


async def test_fail_async_rule(http: httpx.AsyncClient, nks: Nks, cpath: str) -> None:
    rule = {"operation": "resize_cluster", "action": "fail_async", "reason": "quota exceeded"}
    await _put_faults(http, rule)
    body = {"node_count": 3, "nodegroup": "default-worker"}
    assert (await nks.post(f"{cpath}/actions/resize", body)).status_code == 202
    failed = await nks.wait_status(cpath, "UPDATE_FAILED")
    assert failed["status_reason"] == "quota exceeded" and failed["node_count"] == 2
    group = await nks.json(f"{cpath}/nodegroups/default-worker")
    assert (group["status"], group["status_reason"]) == ("UPDATE_FAILED", "quota exceeded")
    event = (await nks.json(f"{cpath}/events"))["events"][-1]
    assert (event["type"], event["state"], event["contents"]) == (
        "CLUSTER_RESIZE",
        "FAIL",
        "quota exceeded",
    )
    await http.delete("/_sim/faults")
    assert (await nks.post(f"{cpath}/actions/resize", body)).status_code == 202  # retry allowed
    assert (await nks.wait_status(cpath, "UPDATE_COMPLETE"))["node_count"] == 3


async def test_fail_next_targets_one_cluster(http: httpx.AsyncClient, nks: Nks) -> None:
    await http.post("/_sim/fail-next", json={"cluster": "bad", "reason": "boom"})
    bad = (await nks.post("/v1/clusters", cluster_body("bad"))).json()["uuid"]
    good = (await nks.post("/v1/clusters", cluster_body("good"))).json()["uuid"]
    failed = await nks.wait_status(f"/v1/clusters/{bad}", "CREATE_FAILED")
    assert failed["status_reason"] == "boom"
    worker = (await nks.json(f"/v1/clusters/{bad}/nodegroups"))["nodegroups"][0]
    assert worker["status"] == "CREATE_FAILED"
    assert (await nks.events(bad))[0]["state"] == "FAIL"
    await nks.wait_status(f"/v1/clusters/{good}", "CREATE_COMPLETE")


async def test_fail_next_delete_keeps_the_cluster(
    http: httpx.AsyncClient, nks: Nks, cpath: str
) -> None:
    await http.post("/_sim/fail-next", json={"operation": "delete_cluster", "reason": "stuck"})
    assert (await nks.delete(cpath)).status_code == 204
    failed = await nks.wait_status(cpath, "DELETE_FAILED")
    assert failed["status_reason"] == "stuck"
    assert (await nks.delete(cpath)).status_code == 204  # deleting again is allowed
    await nks.wait_gone(cpath)


async def test_faults_at_start_up() -> None:
    settings = FaultSettings(
        rules=[FaultRule(operation="get_supports", action="throttle", retry_after=7)]
    )
    config = SimulatorConfig(delay=0.05, faults=settings)
    async with run_simulator(config) as sim, http_client(sim.url) as http:
        nks = await Nks.login(http, "t")
        response = await nks.get("/v1/supports")
        assert (response.status_code, response.headers["Retry-After"]) == (429, "7")


def test_fault_settings_load_json_and_files(tmp_path: Path) -> None:
    rules = [{"operation": "list_clusters", "action": "error", "status": 500}]
    assert FaultSettings.load(json.dumps(rules)).rules[0].status == 500
    assert FaultSettings.load(json.dumps({"seed": 3, "rules": rules})).seed == 3
    yaml_file = tmp_path / "faults.yaml"
    yaml_file.write_text("seed: 5\nrules:\n  - {operation: '*', action: latency, latency: 0.1}\n")
    loaded = FaultSettings.load(str(yaml_file))
    assert (loaded.seed, loaded.rules[0].latency) == (5, 0.1)
    with pytest.raises(ValueError):
        FaultSettings.load(json.dumps([{"operation": "no_such_op", "action": "error"}]))


async def test_invalid_fault_rules_are_refused(http: httpx.AsyncClient) -> None:
    for rule in (
        {"operation": "nope", "action": "error"},
        {"action": "explode"},
        {"action": "error", "probability": 2},
        {"action": "error", "unknown": 1},
    ):
        assert (await http.post("/_sim/faults", json=rule)).status_code == 400
    assert (await http.get("/_sim/faults")).json()["rules"] == []
