"""Identity tokens: the request, caching per credentials, renewal, single-flight, 401s."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from pydantic import SecretStr

from nks_operator.nks import (
    AuthenticationError,
    Credentials,
    NKSClient,
    RetryPolicy,
    Token,
    TokenCache,
    UnauthorizedError,
)

from .conftest import IDENTITY_URL, NKS_URL, PASSWORD, TOKENS_URL, token_body

CL = "c0ffee00-0000-4000-8000-000000000002"
CLUSTER_URL = f"{NKS_URL}/v1/clusters/{CL}"
START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def ok_cluster() -> httpx.Response:
    return httpx.Response(200, json={"uuid": CL, "status": "CREATE_COMPLETE"})


def make_client(
    credentials: Credentials,
    cache: TokenCache,
    retry: RetryPolicy,
    *,
    identity_url: str = IDENTITY_URL,
) -> NKSClient:
    return NKSClient(
        credentials,
        "kr2",
        nks_url=NKS_URL,
        identity_url=identity_url,
        token_cache=cache,
        retry=retry,
    )


def tokens_in_sequence(*values: str, lifetime: timedelta = timedelta(hours=12)):
    """A token route side effect issuing `values` in turn, issued 'now' on START."""
    queue = list(values)

    def issue(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json=token_body(queue.pop(0), issued_at=START, expires=START + lifetime)
        )

    return issue


async def test_token_request_wire_format(client: NKSClient, mock_api: respx.MockRouter) -> None:
    mock_api.get(CLUSTER_URL).mock(return_value=ok_cluster())
    await client.get_cluster(CL)

    request = mock_api["token"].calls.last.request
    assert request.method == "POST"
    assert str(request.url) == TOKENS_URL
    assert json.loads(request.content) == {
        "auth": {
            "tenantId": "tenant-1",
            "passwordCredentials": {"username": "me@example.com", "password": PASSWORD},
        }
    }
    assert request.headers["Content-Type"] == "application/json"
    assert "X-Auth-Token" not in request.headers


async def test_token_is_reused_across_calls(client: NKSClient, mock_api: respx.MockRouter) -> None:
    route = mock_api.get(CLUSTER_URL).mock(return_value=ok_cluster())
    for _ in range(3):
        await client.get_cluster(CL)
    assert mock_api["token"].call_count == 1
    assert route.call_count == 3


async def test_cache_is_shared_by_clients_with_same_credentials(
    credentials: Credentials, mock_api: respx.MockRouter, retry_policy: RetryPolicy
) -> None:
    mock_api.get(CLUSTER_URL).mock(return_value=ok_cluster())
    cache = TokenCache()
    other_password = Credentials(tenant_id="tenant-1", username="me@example.com", password="x2")
    other_tenant = Credentials(tenant_id="tenant-2", username="me@example.com", password=PASSWORD)
    mock_api.post("https://identity2.test/v2.0/tokens").mock(
        return_value=httpx.Response(200, json=token_body("other-identity-token"))
    )

    async with (
        make_client(credentials, cache, retry_policy) as a,
        make_client(credentials, cache, retry_policy) as b,
    ):
        await a.get_cluster(CL)
        await b.get_cluster(CL)
    assert mock_api["token"].call_count == 1

    async with make_client(other_password, cache, retry_policy) as c:
        await c.get_cluster(CL)
    async with make_client(other_tenant, cache, retry_policy) as d:
        await d.get_cluster(CL)
    assert mock_api["token"].call_count == 3
    async with make_client(
        credentials, cache, retry_policy, identity_url="https://identity2.test/"
    ) as e:
        await e.get_cluster(CL)
    assert len(cache) == 4


@pytest.mark.parametrize(
    ("elapsed", "reissued"),
    [
        (timedelta(minutes=54), False),  # 6 min before expiry: still good
        (timedelta(minutes=55, seconds=1), True),  # inside the 5 min margin
        (timedelta(hours=2), True),  # expired
    ],
)
async def test_token_renewed_margin_before_expiry(
    elapsed: timedelta,
    reissued: bool,
    credentials: Credentials,
    mock_api: respx.MockRouter,
    retry_policy: RetryPolicy,
) -> None:
    clock = FakeClock()
    cache = TokenCache(clock=clock, refresh_margin=timedelta(minutes=5))
    mock_api["token"].mock(side_effect=tokens_in_sequence("t1", "t2", lifetime=timedelta(hours=1)))
    route = mock_api.get(CLUSTER_URL).mock(return_value=ok_cluster())

    async with make_client(credentials, cache, retry_policy) as nks:
        await nks.get_cluster(CL)
        clock.now = START + elapsed
        await nks.get_cluster(CL)

    assert mock_api["token"].call_count == (2 if reissued else 1)
    assert route.calls.last.request.headers["X-Auth-Token"] == ("t2" if reissued else "t1")


def test_refresh_margin_is_capped_at_half_a_short_lifetime() -> None:
    token = Token(
        value=SecretStr("t"),
        expires_at=START + timedelta(minutes=4),
        obtained_at=START,
        issued_at=START,
    )
    assert token.refresh_at(timedelta(minutes=5)) == START + timedelta(minutes=2)


def test_refresh_uses_server_lifetime_when_clocks_disagree() -> None:
    # The identity service's clock runs an hour ahead of ours.
    server_now = START + timedelta(hours=1)
    token = Token(
        value=SecretStr("t"),
        expires_at=server_now + timedelta(hours=1),
        obtained_at=START,
        issued_at=server_now,
    )
    # Renew 5 minutes before the end of the token's one-hour life, on our clock.
    assert token.refresh_at(timedelta(minutes=5)) == START + timedelta(minutes=55)


async def test_concurrent_callers_share_one_token_request(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    release = asyncio.Event()

    async def slow_token(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200, json=token_body())

    mock_api["token"].mock(side_effect=slow_token)
    route = mock_api.get(CLUSTER_URL).mock(return_value=ok_cluster())

    calls = [asyncio.create_task(client.get_cluster(CL)) for _ in range(10)]
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(*calls)

    assert mock_api["token"].call_count == 1
    assert route.call_count == 10


async def test_concurrent_callers_share_one_authentication_failure(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    release = asyncio.Event()

    async def rejected(request: httpx.Request) -> httpx.Response:
        await release.wait()
        body = {"error": {"message": "The request you have made requires authentication."}}
        return httpx.Response(401, json=body)

    mock_api["token"].mock(side_effect=rejected)
    calls = [asyncio.create_task(client.get_cluster(CL)) for _ in range(5)]
    await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.gather(*calls, return_exceptions=True)

    assert all(isinstance(r, AuthenticationError) for r in results)
    assert "requires authentication" in str(results[0])
    assert mock_api["token"].call_count == 1  # a 401 from identity is not retried


async def test_cancelled_caller_does_not_cancel_shared_token_request(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    release = asyncio.Event()

    async def slow_token(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200, json=token_body())

    mock_api["token"].mock(side_effect=slow_token)
    mock_api.get(CLUSTER_URL).mock(return_value=ok_cluster())

    first = asyncio.create_task(client.get_cluster(CL))
    second = asyncio.create_task(client.get_cluster(CL))
    await asyncio.sleep(0.01)
    first.cancel()
    release.set()
    assert (await second).uuid == CL
    with pytest.raises(asyncio.CancelledError):
        await first
    assert mock_api["token"].call_count == 1


async def test_401_reauthenticates_once_and_retries(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api["token"].mock(side_effect=tokens_in_sequence("old-token", "new-token"))
    route = mock_api.get(CLUSTER_URL).mock(
        side_effect=[httpx.Response(401, json={"error": {"message": "expired"}}), ok_cluster()]
    )

    assert (await client.get_cluster(CL)).uuid == CL

    assert mock_api["token"].call_count == 2
    assert [c.request.headers["X-Auth-Token"] for c in route.calls] == ["old-token", "new-token"]


async def test_401_on_a_write_is_repeated_once(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api["token"].mock(side_effect=tokens_in_sequence("old-token", "new-token"))
    route = mock_api.post(f"{CLUSTER_URL}/actions/resize").mock(
        side_effect=[httpx.Response(401), httpx.Response(202, json={"uuid": CL})]
    )

    await client.resize_cluster(CL, nodegroup="default-worker", node_count=2)

    assert route.call_count == 2
    assert route.calls.last.request.headers["X-Auth-Token"] == "new-token"


async def test_second_401_raises_unauthorized(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api["token"].mock(side_effect=tokens_in_sequence("t1", "t2", "t3"))
    route = mock_api.get(CLUSTER_URL).mock(return_value=httpx.Response(401))

    with pytest.raises(UnauthorizedError) as caught:
        await client.get_cluster(CL)

    assert not isinstance(caught.value, AuthenticationError)
    assert route.call_count == 2
    assert mock_api["token"].call_count == 2


async def test_concurrent_401s_reissue_the_token_once(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api["token"].mock(side_effect=tokens_in_sequence("old-token", "new-token"))

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["X-Auth-Token"] == "old-token":
            return httpx.Response(401)
        return ok_cluster()

    mock_api.get(CLUSTER_URL).mock(side_effect=answer)
    await client.authenticate()

    await asyncio.gather(*(client.get_cluster(CL) for _ in range(5)))

    assert mock_api["token"].call_count == 2


async def test_bad_credentials_raise_authentication_error(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api["token"].mock(
        return_value=httpx.Response(
            401,
            json={"error": {"message": "Invalid user / password", "code": 401, "title": "Unauth"}},
        )
    )
    with pytest.raises(AuthenticationError) as caught:
        await client.get_cluster(CL)
    assert caught.value.operation == "issue_token"
    assert "Invalid user / password" in str(caught.value)
    assert mock_api["token"].call_count == 1


async def test_identity_server_errors_are_retried(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api["token"].mock(
        side_effect=[
            httpx.Response(503),
            httpx.ConnectError("x"),
            httpx.Response(200, json=token_body()),
        ]
    )
    mock_api.get(CLUSTER_URL).mock(return_value=ok_cluster())
    await client.get_cluster(CL)
    assert mock_api["token"].call_count == 3


async def test_token_answer_without_expiry_gets_fallback_lifetime(
    client: NKSClient, mock_api: respx.MockRouter, token_cache: TokenCache
) -> None:
    body = token_body()
    del body["access"]["token"]["expires"]
    mock_api["token"].mock(return_value=httpx.Response(200, json=body))
    await client.authenticate()
    key = next(iter(token_cache._tokens))
    token = token_cache.peek(key)
    assert token is not None
    assert token.expires_at - token.obtained_at == timedelta(hours=1)


def test_invalidate_only_drops_the_rejected_token(credentials: Credentials) -> None:
    cache = TokenCache()
    key = credentials.cache_key(IDENTITY_URL)
    expires = START + timedelta(days=999)
    current = Token(value=SecretStr("new"), expires_at=expires, obtained_at=START)
    stale = Token(value=SecretStr("old"), expires_at=expires, obtained_at=START)
    cache._tokens[key] = current
    cache.invalidate(key, stale)
    assert len(cache) == 1
    cache.invalidate(key, current)
    assert len(cache) == 0


async def test_in_flight_request_of_an_ended_event_loop_is_ignored(
    credentials: Credentials,
) -> None:
    cache = TokenCache()
    key = credentials.cache_key(IDENTITY_URL)
    dead_loop = asyncio.new_event_loop()
    cache._inflight[key] = dead_loop.create_future()
    dead_loop.close()
    expires = datetime.now(UTC) + timedelta(hours=1)

    async def issue() -> Token:
        return Token(value=SecretStr("fresh"), expires_at=expires, obtained_at=datetime.now(UTC))

    token = await asyncio.wait_for(cache.get(key, issue), timeout=1)
    assert token.value.get_secret_value() == "fresh"
