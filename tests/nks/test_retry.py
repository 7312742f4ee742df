"""Safe retries: reads retry transient failures with backoff and Retry-After; writes don't."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx

from nks_operator.nks import (
    Credentials,
    NKSClient,
    NotFoundError,
    RateLimitedError,
    RequestSample,
    RetryPolicy,
    ServerError,
    TokenCache,
    TransportError,
)
from nks_operator.nks.retry import parse_retry_after

from .conftest import IDENTITY_URL, NKS_URL, FakeSleep

CL = "c0ffee00-0000-4000-8000-000000000003"
CLUSTER_URL = f"{NKS_URL}/v1/clusters/{CL}"
OK = httpx.Response(200, json={"uuid": CL})


def fast_policy(sleep: FakeSleep, **overrides: object) -> RetryPolicy:
    settings: dict[str, object] = {
        "max_attempts": 4,
        "initial_backoff": 0.01,
        "max_backoff": 0.05,
        "jitter": False,
        "max_retry_after": 10.0,
        "sleep": sleep,
    }
    settings.update(overrides)
    return RetryPolicy(**settings)  # type: ignore[arg-type]


@pytest.fixture
def make_client(credentials: Credentials, mock_api: respx.MockRouter) -> Callable[..., NKSClient]:
    def make(policy: RetryPolicy, **kwargs: object) -> NKSClient:
        return NKSClient(
            credentials,
            nks_url=NKS_URL,
            identity_url=IDENTITY_URL,
            token_cache=TokenCache(),
            retry=policy,
            **kwargs,  # type: ignore[arg-type]
        )

    return make


@pytest.fixture
async def samples_client(
    make_client: Callable[..., NKSClient], fake_sleep: FakeSleep
) -> AsyncIterator[tuple[NKSClient, list[RequestSample]]]:
    samples: list[RequestSample] = []
    async with make_client(fast_policy(fake_sleep), metrics=samples.append) as nks:
        yield nks, samples


async def test_get_retries_server_errors_with_exponential_backoff(
    client: NKSClient, mock_api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    route = mock_api.get(CLUSTER_URL).mock(
        side_effect=[httpx.Response(500), httpx.Response(502), httpx.Response(503), OK]
    )
    assert (await client.get_cluster(CL)).uuid == CL
    assert route.call_count == 4
    assert fake_sleep.delays == [0.01, 0.02, 0.04]


async def test_get_gives_up_after_max_attempts(
    client: NKSClient, mock_api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    route = mock_api.get(CLUSTER_URL).mock(return_value=httpx.Response(500, text="boom"))
    with pytest.raises(ServerError):
        await client.get_cluster(CL)
    assert route.call_count == 4
    assert fake_sleep.delays == [0.01, 0.02, 0.04]


async def test_backoff_is_capped(
    make_client: Callable[..., NKSClient], mock_api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    mock_api.get(CLUSTER_URL).mock(return_value=httpx.Response(500))
    async with make_client(fast_policy(fake_sleep, max_attempts=6)) as nks:
        with pytest.raises(ServerError):
            await nks.get_cluster(CL)
    assert fake_sleep.delays == [0.01, 0.02, 0.04, 0.05, 0.05]


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("eof")],
)
async def test_get_retries_transport_errors(
    failure: Exception, client: NKSClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(CLUSTER_URL).mock(side_effect=[failure, OK])
    assert (await client.get_cluster(CL)).uuid == CL
    assert route.call_count == 2


@pytest.mark.parametrize("status", [400, 403, 404, 409])
async def test_get_does_not_retry_client_errors(
    status: int, client: NKSClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(CLUSTER_URL).mock(return_value=httpx.Response(status))
    with pytest.raises(Exception) as caught:
        await client.get_cluster(CL)
    assert getattr(caught.value, "status_code", None) == status
    assert route.call_count == 1


async def test_get_honours_retry_after(
    client: NKSClient, mock_api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    route = mock_api.get(CLUSTER_URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3"}), OK]
    )
    await client.get_cluster(CL)
    assert route.call_count == 2
    assert fake_sleep.delays == [3.0]


async def test_retry_after_as_http_date(
    client: NKSClient, mock_api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    mock_api.get(CLUSTER_URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": when}), OK]
    )
    await client.get_cluster(CL)
    assert len(fake_sleep.delays) == 1
    assert 3.0 <= fake_sleep.delays[0] <= 5.0


async def test_backoff_wins_over_a_shorter_retry_after(
    make_client: Callable[..., NKSClient], mock_api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    mock_api.get(CLUSTER_URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "0"}), OK]
    )
    async with make_client(fast_policy(fake_sleep, initial_backoff=0.5, max_backoff=1)) as nks:
        await nks.get_cluster(CL)
    assert fake_sleep.delays == [0.5]


async def test_retry_after_beyond_cap_goes_to_caller(
    client: NKSClient, mock_api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    route = mock_api.get(CLUSTER_URL).mock(
        return_value=httpx.Response(429, headers={"Retry-After": "600"})
    )
    with pytest.raises(RateLimitedError) as caught:
        await client.get_cluster(CL)
    assert caught.value.retry_after == 600
    assert route.call_count == 1
    assert fake_sleep.delays == []


async def test_retry_after_beyond_time_budget_goes_to_caller(
    make_client: Callable[..., NKSClient], mock_api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    route = mock_api.get(CLUSTER_URL).mock(
        return_value=httpx.Response(429, headers={"Retry-After": "5"})
    )
    async with make_client(fast_policy(fake_sleep, max_elapsed=4.0)) as nks:
        with pytest.raises(RateLimitedError):
            await nks.get_cluster(CL)
    assert route.call_count == 1


async def test_no_retry_once_time_budget_is_spent(
    make_client: Callable[..., NKSClient], mock_api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    route = mock_api.get(CLUSTER_URL).mock(return_value=httpx.Response(503))
    async with make_client(fast_policy(fake_sleep, max_elapsed=0.0)) as nks:
        with pytest.raises(ServerError):
            await nks.get_cluster(CL)
    assert route.call_count == 1


WRITES = [
    (
        "POST",
        f"{CLUSTER_URL}/actions/resize",
        lambda c: c.resize_cluster(CL, nodegroup="g", node_count=2),
    ),
    (
        "PATCH",
        f"{NKS_URL}/v1/certificates/{CL}",
        lambda c: c.renew_certificate(CL, term_of_validity=1),
    ),
    ("DELETE", CLUSTER_URL, lambda c: c.delete_cluster(CL)),
]
WRITE_IDS = [w[0] for w in WRITES]


@pytest.mark.parametrize(("method", "url", "call"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.Response(500), ServerError),
        (httpx.Response(503), ServerError),
        (httpx.ReadTimeout("slow"), TransportError),
        (httpx.RemoteProtocolError("dropped"), TransportError),
    ],
    ids=["500", "503", "read-timeout", "dropped"],
)
async def test_writes_are_not_retried_after_possible_execution(
    method: str,
    url: str,
    call: Callable[[NKSClient], Awaitable[Any]],
    failure: httpx.Response | Exception,
    error: type[Exception],
    client: NKSClient,
    mock_api: respx.MockRouter,
    fake_sleep: FakeSleep,
) -> None:
    route = mock_api.route(method=method, url=url)
    if isinstance(failure, httpx.Response):
        route.mock(return_value=failure)
    else:
        route.mock(side_effect=failure)
    with pytest.raises(error):
        await call(client)
    assert route.call_count == 1
    assert fake_sleep.delays == []


@pytest.mark.parametrize(("method", "url", "call"), WRITES, ids=WRITE_IDS)
async def test_writes_are_retried_after_429(
    method: str,
    url: str,
    call: Callable[[NKSClient], Awaitable[Any]],
    client: NKSClient,
    mock_api: respx.MockRouter,
    fake_sleep: FakeSleep,
) -> None:
    route = mock_api.route(method=method, url=url).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(202, json={"uuid": CL}),
        ]
    )
    await call(client)
    assert route.call_count == 2
    assert fake_sleep.delays == [2.0]


async def test_write_429_retry_can_be_disabled(
    make_client: Callable[..., NKSClient], mock_api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    route = mock_api.post(f"{CLUSTER_URL}/actions/resize").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "1"})
    )
    async with make_client(fast_policy(fake_sleep, retry_writes_on_rate_limit=False)) as nks:
        with pytest.raises(RateLimitedError):
            await nks.resize_cluster(CL, nodegroup="g", node_count=1)
    assert route.call_count == 1


async def test_write_retried_when_connection_never_opened(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.post(f"{CLUSTER_URL}/actions/resize").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(202, json={"uuid": CL})]
    )
    await client.resize_cluster(CL, nodegroup="g", node_count=1)
    assert route.call_count == 2


async def test_create_cluster_is_not_retried_after_timeout(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    from .test_wire_format import cluster_create_request

    route = mock_api.post(f"{NKS_URL}/v1/clusters").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransportError) as caught:
        await client.create_cluster(cluster_create_request())
    assert caught.value.may_have_reached_server
    assert route.call_count == 1


async def test_delete_404_is_not_retried(client: NKSClient, mock_api: respx.MockRouter) -> None:
    route = mock_api.delete(CLUSTER_URL).mock(return_value=httpx.Response(404))
    await client.delete_cluster(CL)
    assert route.call_count == 1


async def test_get_404_raises_not_found(client: NKSClient, mock_api: respx.MockRouter) -> None:
    mock_api.get(CLUSTER_URL).mock(return_value=httpx.Response(404))
    with pytest.raises(NotFoundError):
        await client.get_cluster(CL)


def test_jitter_stays_within_half_to_full_step() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=8.0, jitter=True)
    for retry_number, step in [(1, 1.0), (2, 2.0), (3, 4.0), (5, 8.0)]:
        delays = {policy.backoff(retry_number) for _ in range(50)}
        assert all(step / 2 <= d <= step for d in delays)
        assert len(delays) > 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), (" 2 ", 2.0), ("-5", 0.0), ("", None), ("soon", None), (None, None)],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 01 Jan 2025 00:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Tue, 31 Dec 2024 23:00:00 GMT", now=now) == 0.0


async def test_every_attempt_is_reported_to_metrics(
    samples_client: tuple[NKSClient, list[RequestSample]], mock_api: respx.MockRouter
) -> None:
    nks, samples = samples_client
    mock_api.get(CLUSTER_URL).mock(side_effect=[httpx.Response(503), httpx.ReadTimeout("x"), OK])
    await nks.get_cluster(CL)
    assert [(s.operation, s.outcome) for s in samples] == [
        ("issue_token", "200"),
        ("get_cluster", "503"),
        ("get_cluster", "ReadTimeout"),
        ("get_cluster", "200"),
    ]
    assert all(s.duration_seconds >= 0 for s in samples)
    assert samples[1].method == "GET"
    assert samples[2].status_code is None


async def test_a_failing_metrics_hook_does_not_break_calls(
    make_client: Callable[..., NKSClient], mock_api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    def broken(sample: RequestSample) -> None:
        raise RuntimeError("prometheus is down")

    mock_api.get(CLUSTER_URL).mock(return_value=OK)
    async with make_client(fast_policy(fake_sleep), metrics=broken) as nks:
        assert (await nks.get_cluster(CL)).uuid == CL


async def test_read_retries_can_be_turned_off_and_writes_keep_theirs(
    make_client: Callable[..., NKSClient], mock_api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    """The operator's policy: its poller and work queue back off on their own."""
    read = mock_api.get(CLUSTER_URL).mock(return_value=httpx.Response(503))
    write = mock_api.post(f"{CLUSTER_URL}/actions/resize").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "1"}),
            httpx.Response(202, json={"uuid": CL}),
        ]
    )
    async with make_client(fast_policy(fake_sleep, retry_reads=False)) as nks:
        with pytest.raises(ServerError):
            await nks.get_cluster(CL)
        await nks.resize_cluster(CL, nodegroup="g", node_count=1)
    assert (read.call_count, write.call_count) == (1, 2)
