"""Identity tokens, token checks on /v1, the microversion header and tenant isolation."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime

import httpx
import pytest

from nks_devtools.simulator import Credential, SimulatorConfig, SimulatorHandle, run_simulator
from tests.simulator.helpers import (
    PASSWORD,
    VERSION_HEADER,
    Nks,
    assert_error,
    assert_keystone_error,
    cluster_body,
    http_client,
    issue_token,
)


async def test_token_has_the_keystone_v2_shape(
    http: httpx.AsyncClient, simulator: SimulatorHandle
) -> None:
    response = await issue_token(http, "tenant-a")
    assert response.status_code == 200
    access = response.json()["access"]
    token = access["token"]
    assert len(token["id"]) >= 32
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", token["expires"])
    expires = datetime.strptime(token["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    issued = datetime.strptime(token["issued_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert 11.9 * 3600 <= (expires - issued).total_seconds() <= 12 * 3600
    assert token["tenant"]["id"] == "tenant-a"
    kubernetes = [s for s in access["serviceCatalog"] if s["type"] == "kubernetes"]
    assert (
        kubernetes and {"region": "KR1", "publicURL": simulator.url} in kubernetes[0]["endpoints"]
    )
    assert access["user"]["name"] == "user@example.com"
    assert "metadata" in access


async def test_each_token_is_different(http: httpx.AsyncClient) -> None:
    first = (await issue_token(http, "tenant-a")).json()["access"]["token"]["id"]
    second = (await issue_token(http, "tenant-a")).json()["access"]["token"]["id"]
    assert first != second


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"auth": {"tenantId": "t"}},
        {"auth": {"tenantId": "t", "passwordCredentials": {"username": "u"}}},
        {"auth": {"passwordCredentials": {"username": "u", "password": "p"}}},
    ],
)
async def test_malformed_token_request_is_400(http: httpx.AsyncClient, body: dict) -> None:
    assert_keystone_error(await http.post("/v2.0/tokens", json=body), 400)


async def test_configured_credentials_only() -> None:
    config = SimulatorConfig(
        delay=0.05, credentials=[Credential.parse(f"tenant-a:user@example.com:{PASSWORD}")]
    )
    async with run_simulator(config) as sim, http_client(sim.url) as http:
        assert (await issue_token(http, "tenant-a")).status_code == 200
        assert_keystone_error(await issue_token(http, "tenant-a", password="wrong"), 401)
        assert_keystone_error(await issue_token(http, "tenant-b"), 401)
        assert_keystone_error(await issue_token(http, "tenant-a", username="other"), 401)
        assert (await issue_token(http, "tenant-a")).json()["access"]["token"]["tenant"]["id"]


def test_credential_parsing_keeps_colons_in_passwords() -> None:
    credential = Credential.parse("t:u:pa:ss")
    assert credential.password.get_secret_value() == "pa:ss"
    assert "pa:ss" not in repr(credential)
    with pytest.raises(ValueError):
        Credential.parse("t:u")


async def test_v1_needs_a_token(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/clusters", headers=VERSION_HEADER)
    assert_keystone_error(response, 401)
    assert "WWW-Authenticate" in response.headers
    bad = {"X-Auth-Token": "not-a-token", **VERSION_HEADER}
    assert_keystone_error(await http.get("/v1/supports", headers=bad), 401)


async def test_expired_token_is_refused() -> None:
    config = SimulatorConfig(delay=0.05, token_ttl=0.2)
    async with run_simulator(config) as sim, http_client(sim.url) as http:
        nks = await Nks.login(http, "tenant-a")
        assert (await nks.get("/v1/clusters")).status_code == 200
        await asyncio.sleep(0.3)
        assert_keystone_error(await nks.get("/v1/clusters"), 401)


async def test_admin_expire_tokens_invalidates_all(http: httpx.AsyncClient, nks: Nks) -> None:
    other = await Nks.login(http, "tenant-b")
    response = await http.post("/_sim/expire-tokens", json={"tenant": "tenant-b"})
    assert response.json() == {"expired": 1}
    assert (await nks.get("/v1/clusters")).status_code == 200
    assert_keystone_error(await other.get("/v1/clusters"), 401)
    await http.post("/_sim/expire-tokens")
    assert_keystone_error(await nks.get("/v1/clusters"), 401)
    fresh = await Nks.login(http, "tenant-a")
    assert (await fresh.get("/v1/clusters")).status_code == 200


@pytest.mark.parametrize(
    "header", [None, "container-infra 2.0", "container-infra 1.99", "compute latest", "garbage"]
)
async def test_unsupported_microversion_is_406(nks: Nks, header: str | None) -> None:
    headers = {"X-Auth-Token": nks.token}
    if header is not None:
        headers["OpenStack-API-Version"] = header
    response = await nks.client.get("/v1/clusters", headers=headers)
    assert_error(response, 406, "container-infra latest")


async def test_explicit_supported_microversion_is_served(nks: Nks) -> None:
    headers = {"X-Auth-Token": nks.token, "OpenStack-API-Version": "container-infra 1.10"}
    response = await nks.client.get("/v1/clusters", headers=headers)
    assert response.status_code == 200
    assert response.headers["OpenStack-API-Version"] == "container-infra 1.10"


async def test_tenants_are_isolated(http: httpx.AsyncClient, nks: Nks) -> None:
    other = await Nks.login(http, "tenant-b")
    mine = await nks.create_cluster("mine")
    assert (await nks.post("/v1/clusters", cluster_body("same-name"))).status_code == 202
    assert (await other.post("/v1/clusters", cluster_body("same-name"))).status_code == 202
    names = [c["name"] for c in (await other.json("/v1/clusters"))["clusters"]]
    assert names == ["same-name"]
    assert_error(await other.get(f"/v1/clusters/{mine['uuid']}"), 404)
    assert_error(await other.delete(f"/v1/clusters/{mine['uuid']}"), 404)
    assert_error(await other.get("/v1/clusters/mine/nodegroups"), 404)
    # Names resolve within a tenant only, so the shared name is not ambiguous.
    assert (await other.get("/v1/clusters/same-name")).json()["project_id"] == "tenant-b"
    assert mine["project_id"] == "tenant-a"


async def test_secrets_never_reach_logs_or_call_log(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    nks = await Nks.login(http, "tenant-a")
    await nks.get("/v1/clusters")
    await issue_token(http, "tenant-a", password=PASSWORD)
    calls = (await http.get("/_sim/calls")).text
    state = (await http.get("/_sim/state")).text
    config = (await http.get("/_sim/config")).text
    for text in (caplog.text, calls, state, config):
        assert nks.token not in text
        assert PASSWORD not in text
    assert "issue_token" in caplog.text  # the calls were logged, just without secrets
