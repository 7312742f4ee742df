"""Regions and endpoint overrides, timeouts, and the httpx client's ownership."""

from __future__ import annotations

import httpx
import pytest
import respx

from nks_operator.nks import (
    DEFAULT_IDENTITY_URL,
    ConfigurationError,
    Credentials,
    NKSClient,
    resolve_endpoints,
)

from .conftest import IDENTITY_URL, NKS_URL, token_body

SUPPORTS = {"supported_k8s": {"v1.29.3": True}}


@pytest.mark.parametrize("region", ["kr1", "kr2", "kr3", "KR2", " kr3 "])
def test_regions_map_to_public_endpoints(region: str) -> None:
    endpoints = resolve_endpoints(region)
    name = region.strip().lower()
    assert endpoints.nks == f"https://{name}-api-kubernetes-infrastructure.nhncloudservice.com"
    assert endpoints.identity == DEFAULT_IDENTITY_URL
    assert endpoints.tokens_url == (
        "https://api-identity-infrastructure.nhncloudservice.com/v2.0/tokens"
    )


@pytest.mark.parametrize("region", ["jp1", "us1", "", None, "kr4"])
def test_unknown_region_is_a_clear_error(region: str | None) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_endpoints(region)
    assert "kr1, kr2, kr3" in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("nks_url", "identity_url", "nks", "tokens"),
    [
        (
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/v2.0/tokens",
        ),
        (
            "https://nks.example/",
            "https://id.example/",
            "https://nks.example",
            "https://id.example/v2.0/tokens",
        ),
        (
            "https://nks.example/v1",
            "https://id.example/v2.0",
            "https://nks.example",
            "https://id.example/v2.0/tokens",
        ),
        (
            "https://gw.example/nks",
            "https://id.example/v2.0/tokens/",
            "https://gw.example/nks",
            "https://id.example/v2.0/tokens",
        ),
    ],
)
def test_overrides(nks_url: str, identity_url: str, nks: str, tokens: str) -> None:
    endpoints = resolve_endpoints("jp1", nks_url=nks_url, identity_url=identity_url)
    assert endpoints.nks == nks
    assert endpoints.tokens_url == tokens


def test_override_must_be_http() -> None:
    with pytest.raises(ConfigurationError):
        resolve_endpoints(None, nks_url="nks.example")


@pytest.mark.parametrize(
    "url",
    [
        "::not a url::",
        "ftp://127.0.0.1:9",
        "http://[::1",
        "http://exa mple.invalid",
        "https://",
        "http://host:99999",
    ],
)
def test_override_must_be_a_usable_url(url: str) -> None:
    # Twice: checked URLs are remembered, a refused one must be refused again.
    for _ in range(2):
        with pytest.raises(ConfigurationError) as caught:
            resolve_endpoints(None, nks_url=url)
        assert repr(url) in str(caught.value)


async def test_client_uses_overridden_path_prefix(credentials: Credentials) -> None:
    with respx.mock(assert_all_mocked=True) as router:
        router.post("https://id.example/keystone/v2.0/tokens").mock(
            return_value=httpx.Response(200, json=token_body())
        )
        route = router.get("https://gw.example/nks/v1/supports").mock(
            return_value=httpx.Response(200, json={"supported_k8s": {"v1.29.3": True}})
        )
        async with NKSClient(
            credentials,
            nks_url="https://gw.example/nks",
            identity_url="https://id.example/keystone",
        ) as nks:
            await nks.get_supports()
        assert route.called


async def test_client_default_region_endpoint(credentials: Credentials) -> None:
    with respx.mock(assert_all_mocked=True) as router:
        router.post(f"{DEFAULT_IDENTITY_URL}/v2.0/tokens").mock(
            return_value=httpx.Response(200, json=token_body())
        )
        route = router.get(
            "https://kr3-api-kubernetes-infrastructure.nhncloudservice.com/v1/clusters"
        ).mock(return_value=httpx.Response(200, json={"clusters": []}))
        async with NKSClient(credentials, "kr3") as nks:
            assert await nks.list_clusters() == []
        assert route.called


def test_client_rejects_unknown_region(credentials: Credentials) -> None:
    with pytest.raises(ConfigurationError):
        NKSClient(credentials, "jp1")


async def test_timeouts_are_applied_to_every_request(
    credentials: Credentials, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(f"{NKS_URL}/v1/supports").mock(
        return_value=httpx.Response(200, json=SUPPORTS)
    )
    timeout = httpx.Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0)
    async with NKSClient(
        credentials, nks_url=NKS_URL, identity_url=IDENTITY_URL, timeout=timeout
    ) as nks:
        await nks.get_supports()
    for call in [*mock_api["token"].calls, *route.calls]:
        assert call.request.extensions["timeout"] == {
            "connect": 1.0,
            "read": 2.0,
            "write": 3.0,
            "pool": 4.0,
        }


async def test_default_timeouts_are_finite(client: NKSClient, mock_api: respx.MockRouter) -> None:
    route = mock_api.get(f"{NKS_URL}/v1/supports").mock(
        return_value=httpx.Response(200, json=SUPPORTS)
    )
    await client.get_supports()
    timeouts = route.calls.last.request.extensions["timeout"]
    assert all(isinstance(v, float) and v > 0 for v in timeouts.values())


async def test_shared_http_client_is_left_open(
    credentials: Credentials, mock_api: respx.MockRouter
) -> None:
    mock_api.get(f"{NKS_URL}/v1/supports").mock(return_value=httpx.Response(200, json=SUPPORTS))
    async with httpx.AsyncClient() as shared:
        async with NKSClient(
            credentials, nks_url=NKS_URL, identity_url=IDENTITY_URL, http=shared
        ) as nks:
            await nks.get_supports()
        assert not shared.is_closed
    assert shared.is_closed


async def test_own_http_client_is_closed(credentials: Credentials) -> None:
    nks = NKSClient(credentials, nks_url=NKS_URL, identity_url=IDENTITY_URL)
    await nks.aclose()
    assert nks._transport.http.is_closed


@pytest.mark.parametrize(
    "url", ["https://admin:s3cret@nks.example", "http://token@[::1", "ftp://u:p@host"]
)
def test_user_info_in_an_override_is_refused_and_never_echoed(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_endpoints(None, nks_url=url)
    assert "user info" in str(caught.value)
    assert "s3cret" not in str(caught.value) and "token" not in str(caught.value)
    assert "u:p" not in str(caught.value)
