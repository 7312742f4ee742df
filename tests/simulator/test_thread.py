"""The simulator in a background thread, and the shared fixtures other suites use."""

from __future__ import annotations

import httpx
import pytest

from nks_devtools.simulator import SimulatorConfig, SimulatorHandle, SimulatorThread
from tests.simulator.helpers import PASSWORD, VERSION_HEADER, cluster_body


def _token(http: httpx.Client, tenant: str = "tenant-a") -> dict[str, str]:
    auth = {"tenantId": tenant, "passwordCredentials": {"username": "u", "password": PASSWORD}}
    token = http.post("/v2.0/tokens", json={"auth": auth}).json()["access"]["token"]["id"]
    return {"X-Auth-Token": token, **VERSION_HEADER}


def test_thread_serves_sync_callers_and_stops() -> None:
    thread = SimulatorThread(SimulatorConfig(delay=0.05)).start()
    url = thread.url
    try:
        assert thread.identity_url == url + "/v2.0/tokens"
        with httpx.Client(base_url=url, timeout=5) as http:
            headers = _token(http)
            assert (
                http.post("/v1/clusters", json=cluster_body(), headers=headers).status_code == 202
            )
        assert thread.call(lambda sim: sim.store.cluster_count()) == 1
        with pytest.raises(ZeroDivisionError):
            thread.call(lambda sim: 1 / 0)
    finally:
        thread.stop()
    with pytest.raises(httpx.ConnectError), httpx.Client(base_url=url, timeout=2) as http:
        http.get("/_sim/health")
    with pytest.raises(RuntimeError):
        _ = thread.url


def test_thread_as_context_manager_can_restart() -> None:
    thread = SimulatorThread(SimulatorConfig(delay=0.05))
    with thread:
        first = thread.url
    with thread:
        assert httpx.get(thread.url + "/_sim/health", timeout=5).status_code == 200
    assert first.startswith("http://127.0.0.1:")


def test_session_thread_fixture(clean_simulator_thread: SimulatorThread) -> None:
    # Other tests change the session simulator's config; the clean fixture restores it.
    response = httpx.get(clean_simulator_thread.url + "/_sim/health", timeout=5)
    assert response.status_code == 200
    assert clean_simulator_thread.simulator.config.delay == 0.05


def test_clean_thread_fixture_wipes_state(simulator_thread: SimulatorThread) -> None:
    with httpx.Client(base_url=simulator_thread.url, timeout=5) as http:
        headers = _token(http)
        http.post("/v1/clusters", json=cluster_body("leftover"), headers=headers)
        http.patch("/_sim/config", json={"delay": 99})
    assert simulator_thread.call(lambda sim: sim.store.cluster_count()) >= 1


def test_clean_thread_fixture_starts_empty(clean_simulator_thread: SimulatorThread) -> None:
    with httpx.Client(base_url=clean_simulator_thread.url, timeout=5) as http:
        assert http.get("/_sim/state").json()["tenants"] == {}
        assert http.get("/_sim/calls").json()["total"] == 0
        assert http.get("/_sim/config").json()["delay"] == 0.05


async def test_in_process_fixture(simulator: SimulatorHandle) -> None:
    assert simulator.url.startswith("http://127.0.0.1:")
    assert simulator.config.delay == 0.05
    assert simulator.state.cluster_count() == 0
    assert simulator.faults.settings.rules == []
    assert simulator.calls.counts == {}
