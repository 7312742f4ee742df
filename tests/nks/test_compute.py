"""The compute client's wire format: catalog endpoint, servers/detail, pages, joins."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from nks_operator.nks import (
    ComputeClient,
    ConfigurationError,
    Credentials,
    ForbiddenError,
    NKSClient,
    Server,
    TokenCache,
    match_servers,
)
from nks_operator.nks.error_body import parse_error_body

from .conftest import IDENTITY_URL, NKS_URL, TOKEN, TOKENS_URL, token_body

TENANT = "tenant-1"
# NHN's public compute host, as its catalog names it (allowed without configuration).
COMPUTE = f"https://kr1-api-instance-infrastructure.nhncloudservice.com/v2/{TENANT}"

# NHN's "List Instances with Details" example, trimmed.
SERVER: dict[str, Any] = {
    "status": "ACTIVE",
    "updated": "2020-02-25T01:22:24Z",
    "addresses": {
        "vpc2": [
            {
                "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:54:a7:64",
                "version": 4,
                "addr": "172.16.0.40",
                "OS-EXT-IPS:type": "fixed",
            }
        ]
    },
    "key_name": "access-key",
    "image": {"id": "8b9f8d47-b89b-45af-b1d6-3f7ce7e06a11"},
    "OS-EXT-STS:vm_state": "active",
    "flavor": {"id": "35a73b57-58a7-434d-aa08-5249aaa95b3e"},
    "id": "aaf2778b-ea03-4ccc-8b1b-92f4b686c3ec",
    "name": "test-k8s-default-w-bnga636xulqk-node-0",
    "tenant_id": TENANT,
    "OS-EXT-STS:power_state": 1,
    "metadata": {"os_distro": "ubuntu"},
}


def catalog_token() -> dict[str, Any]:
    body = token_body()
    body["access"]["serviceCatalog"] = [
        {"type": "compute", "name": "nova", "endpoints": [{"region": "KR1", "publicURL": COMPUTE}]},
        {"type": "kubernetes", "endpoints": [{"region": "KR1", "publicURL": NKS_URL}]},
        {"type": "broken"},
        "not an object",
    ]
    return body


@pytest.fixture
def compute_api(mock_api: respx.MockRouter) -> respx.MockRouter:
    mock_api.routes["token"].mock(return_value=httpx.Response(200, json=catalog_token()))
    return mock_api


@pytest.fixture
async def compute(credentials: Credentials, compute_api: respx.MockRouter) -> ComputeClient:
    nks = NKSClient(credentials, "kr1", nks_url=NKS_URL, identity_url=IDENTITY_URL)
    return ComputeClient.sharing(nks)


async def test_servers_come_from_the_catalogs_compute_endpoint(
    compute: ComputeClient, compute_api: respx.MockRouter
) -> None:
    route = compute_api.get(f"{COMPUTE}/servers/detail").mock(
        return_value=httpx.Response(200, json={"servers": [SERVER]})
    )
    (server,) = await compute.list_servers(name="^test-k8s-", status="ACTIVE")
    request = route.calls.last.request
    assert request.headers["X-Auth-Token"] == TOKEN
    assert "OpenStack-API-Version" not in request.headers  # a compute call, not NKS
    assert dict(request.url.params) == {"name": "^test-k8s-", "status": "ACTIVE", "limit": "100"}
    assert (server.id, server.name, server.is_active, server.stopped) == (
        SERVER["id"],
        SERVER["name"],
        True,
        False,
    )
    assert server.ip_addresses == ["172.16.0.40"]
    assert (server.flavor_id, server.image_id) == (SERVER["flavor"]["id"], SERVER["image"]["id"])
    assert compute_api["token"].call_count == 1


async def test_pages_follow_servers_links(
    compute: ComputeClient, compute_api: respx.MockRouter
) -> None:
    second = {**SERVER, "id": "b" * 8 + SERVER["id"][8:]}
    pages = {
        None: {
            "servers": [SERVER],
            "servers_links": [
                {
                    "rel": "next",
                    "href": f"https://internal/v2/x/servers/detail?limit=1&marker={SERVER['id']}",
                }
            ],
        },
        SERVER["id"]: {"servers": [second]},
    }
    seen: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        return httpx.Response(200, json=pages[request.url.params.get("marker")])

    compute_api.get(url__startswith=f"{COMPUTE}/servers/detail").mock(side_effect=answer)
    servers = await compute.list_servers(page_size=1)
    assert [s.id for s in servers] == [SERVER["id"], second["id"]]
    assert seen == [{"limit": "1"}, {"limit": "1", "marker": SERVER["id"]}]


async def test_unreadable_servers_are_listed_apart(
    compute: ComputeClient, compute_api: respx.MockRouter
) -> None:
    odd = {**SERVER, "id": "c" * 8 + SERVER["id"][8:], "addresses": "172.16.0.41"}
    compute_api.get(f"{COMPUTE}/servers/detail").mock(
        return_value=httpx.Response(
            200, json={"servers": [SERVER, odd, {"name": "no-id"}, "garbage"]}
        )
    )
    servers = await compute.list_servers()
    assert [s.id for s in servers] == [SERVER["id"], odd["id"]]
    assert servers[1].addresses is None and set(servers[1].unreadable) == {"addresses"}
    assert [(e.uuid, e.name) for e in servers.unreadable] == [(None, "no-id"), (None, None)]


async def test_a_region_the_catalog_lacks_is_a_configuration_error(
    credentials: Credentials, compute_api: respx.MockRouter
) -> None:
    nks = NKSClient(credentials, "kr2", nks_url=NKS_URL, identity_url=IDENTITY_URL)
    with pytest.raises(ConfigurationError, match=r"region 'kr2' \(listed: KR1\)"):
        await ComputeClient.sharing(nks).endpoint()


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("https://compute.example", f"https://compute.example/v2/{TENANT}"),
        ("https://compute.example/v2/", f"https://compute.example/v2/{TENANT}"),
        ("https://compute.example/v2/other", "https://compute.example/v2/other"),
    ],
)
async def test_endpoint_overrides(credentials: Credentials, override: str, expected: str) -> None:
    compute = ComputeClient(credentials, compute_url=override, token_cache=TokenCache())
    assert await compute.endpoint() == expected  # no token needed for that
    await compute.aclose()


async def test_nova_errors_are_read(compute: ComputeClient, compute_api: respx.MockRouter) -> None:
    compute_api.get(f"{COMPUTE}/servers/detail").mock(
        return_value=httpx.Response(
            403, json={"forbidden": {"message": "Policy does not allow it.", "code": 403}}
        )
    )
    with pytest.raises(ForbiddenError, match="Policy does not allow it"):
        await compute.list_servers()
    assert parse_error_body('{"badRequest": {"message": "bad marker", "code": 400}}').message == (
        "bad marker"
    )


def _server(server_id: str, *addresses: str) -> Server:
    return Server.model_validate(
        {"id": server_id, "addresses": {"net": [{"addr": a, "version": 4} for a in addresses]}}
    )


def test_match_servers_by_address() -> None:
    servers = [_server("a", "10.0.0.1"), _server("b", "10.0.0.2"), _server("c", "10.0.0.2")]
    joined = match_servers(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1"], servers)
    assert {address: s.id for address, s in joined.found.items()} == {"10.0.0.1": "a"}
    assert joined.ambiguous == ("10.0.0.2",)  # the same address in two VPCs
    assert joined.missing == ("10.0.0.3",)
    assert not joined.complete


@pytest.mark.parametrize(
    ("fields", "stopped"),
    [
        ({"status": "SHUTOFF"}, True),
        ({"status": "shutoff"}, True),
        ({"status": "ACTIVE", "OS-EXT-STS:power_state": 4}, False),  # the status decides
        ({"OS-EXT-STS:power_state": 4}, True),  # no status: the power state does
        ({"OS-EXT-STS:power_state": 1}, False),
        ({"status": "BUILD"}, None),
        ({"status": "REBOOT", "OS-EXT-STS:power_state": 1}, None),
        ({"status": "ERROR"}, None),
        ({"status": "SUSPENDING_SOON", "OS-EXT-STS:power_state": 4}, None),  # unknown status
        ({"OS-EXT-STS:power_state": 3}, None),
        ({}, None),
    ],
)
def test_a_server_is_stopped_running_or_neither(
    fields: dict[str, Any], stopped: bool | None
) -> None:
    assert Server.model_validate({"id": "x", **fields}).stopped is stopped


def test_token_keeps_the_catalog() -> None:
    from nks_operator.nks.models.identity import read_catalog

    catalog = read_catalog(catalog_token())
    assert [(e.type, e.region) for e in catalog] == [("compute", "KR1"), ("kubernetes", "KR1")]
    assert TOKENS_URL.endswith("/v2.0/tokens")


async def test_full_pages_without_links_go_on_from_their_last_server(
    compute: ComputeClient, compute_api: respx.MockRouter
) -> None:
    """NHN documents `limit` and `marker`, not Nova's `servers_links`: without the link, a
    page as long as asked for goes on from its last server, a shorter one is the end."""
    ids = [f"{i:08x}" + SERVER["id"][8:] for i in range(5)]
    servers = [{**SERVER, "id": i} for i in ids]
    seen: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        seen.append(params)
        start = ids.index(params["marker"]) + 1 if "marker" in params else 0
        return httpx.Response(200, json={"servers": servers[start : start + int(params["limit"])]})

    compute_api.get(url__startswith=f"{COMPUTE}/servers/detail").mock(side_effect=answer)
    found = await compute.list_servers(page_size=2)
    assert [s.id for s in found] == ids
    assert seen == [
        {"limit": "2"},
        {"limit": "2", "marker": ids[1]},
        {"limit": "2", "marker": ids[3]},
    ]
