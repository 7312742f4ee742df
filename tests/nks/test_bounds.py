"""Requests go only to allowed endpoints, and no endpoint can make a call unbounded: huge,
endless or dripping answers and redirects, against real servers on loopback."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from nks_operator.aiohttp_transport import AiohttpTransport
from nks_operator.nks import (
    NO_RETRIES,
    ComputeClient,
    Credentials,
    InvalidResponseError,
    NKSClient,
    ServerError,
    TransportError,
)
from nks_operator.nks.allowlist import PUBLIC_ONLY, EndpointPolicy
from nks_operator.nks.errors import (
    AnswerTooLargeError,
    ConfigurationError,
    EndpointNotAllowedError,
)
from nks_operator.nks.transport import ERROR_BODY_BYTES, Transport

from .conftest import token_body
from .local_server import (
    LocalServer,
    gzip_answer,
    json_answer,
    redirect_answer,
    silent_answer,
    streamed_answer,
)

SUPPORTS = {"supported_k8s": {"v1.30.3": True}, "supported_event_type": {}}
LIMIT = 100_000  # bytes: small, so refusing "without reading it all" is measurable


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with LocalServer() as started:
        yield started


@pytest.fixture
async def elsewhere() -> AsyncIterator[LocalServer]:
    """Another endpoint, on another port: where a hostile answer would send the client."""
    async with LocalServer() as started:
        yield started


# Every bound holds on both wires: httpx's own connections (a client built without a
# shared one) and the aiohttp pool the operator shares between its accounts.
_shared: dict[str, AiohttpTransport] = {}


@pytest.fixture(autouse=True, params=["httpx", "aiohttp"])
async def wire(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if request.param == "aiohttp":
        _shared["http"] = AiohttpTransport()
    try:
        yield request.param
    finally:
        http = _shared.pop("http", None)
        if http is not None:
            await http.aclose()


def client(server: LocalServer, credentials: Credentials, **options: Any) -> NKSClient:
    if "http" in _shared:
        options.setdefault("http", _shared["http"])
    return NKSClient(
        credentials,
        "kr1",
        nks_url=server.url,
        identity_url=server.url,
        retry=NO_RETRIES,
        **{"max_answer_bytes": LIMIT, "call_timeout": 5.0, **options},
    )


# -- the allow-list --------------------------------------------------------------------


async def test_a_refused_endpoint_receives_nothing(server: LocalServer) -> None:
    transport = Transport(policy=PUBLIC_ONLY)
    try:
        with pytest.raises(EndpointNotAllowedError) as caught:
            await transport.send(
                "issue_token",
                "POST",
                f"{server.url}/v2.0/tokens?secret=1",
                headers={},
                json_body={"auth": {"passwordCredentials": {"password": "pw-1234"}}},
                expected=[200],
            )
    finally:
        await transport.aclose()
    assert server.requests == []
    error = caught.value
    assert isinstance(error, ConfigurationError)
    assert error.endpoint == server.url
    assert str(error).startswith(f"issue_token: requests to {server.url} are not allowed")
    assert "NKS_ALLOWED_ENDPOINTS" in str(error)
    assert "tokens" not in str(error) and "secret" not in str(error)


@pytest.mark.parametrize("which", ["nks_url", "identity_url"])
async def test_an_explicit_policy_refuses_the_clients_urls_at_construction(
    which: str, server: LocalServer, elsewhere: LocalServer, credentials: Credentials
) -> None:
    urls = {"nks_url": server.url, "identity_url": server.url, which: elsewhere.url}
    policy = EndpointPolicy.from_entries([server.url])
    with pytest.raises(EndpointNotAllowedError) as caught:
        NKSClient(credentials, policy=policy, **urls)
    assert caught.value.endpoint == elsewhere.url
    assert server.requests == [] and elsewhere.requests == []


async def test_without_a_policy_the_clients_own_urls_are_allowed(
    server: LocalServer, credentials: Credentials
) -> None:
    server.routes["/v1/supports"] = json_answer(SUPPORTS)
    async with client(server, credentials) as nks:
        assert (await nks.get_supports()).supported_k8s == {"v1.30.3": True}
    assert server.requests == ["POST /v2.0/tokens", "GET /v1/supports"]


def catalog(compute_url: str) -> dict[str, Any]:
    body = token_body()
    endpoint = {"region": "KR1", "publicURL": compute_url}
    body["access"]["serviceCatalog"] = [{"type": "compute", "endpoints": [endpoint]}]
    return body


@pytest.mark.parametrize("explicit", [False, True], ids=["default-policy", "explicit-policy"])
async def test_a_catalog_compute_url_off_the_list_is_refused(
    explicit: bool, server: LocalServer, elsewhere: LocalServer, credentials: Credentials
) -> None:
    """The identity service names the compute endpoint: it must be allowed like any URL."""
    server.routes["/v2.0/tokens"] = json_answer(catalog(f"{elsewhere.url}/v2/tenant-1"))
    policy = EndpointPolicy.from_entries([server.url]) if explicit else None
    async with client(server, credentials, policy=policy) as nks:
        compute = ComputeClient.sharing(nks)
        with pytest.raises(EndpointNotAllowedError) as caught:
            await compute.list_servers()
    assert caught.value.endpoint == elsewhere.url
    assert caught.value.operation == "list_servers"
    assert server.requests == ["POST /v2.0/tokens"]
    assert elsewhere.requests == []


async def test_a_catalog_compute_url_on_the_list_is_used(
    server: LocalServer, credentials: Credentials
) -> None:
    server.routes["/v2.0/tokens"] = json_answer(catalog(f"{server.url}/v2/tenant-1"))
    server.routes["/v2/tenant-1/servers/detail"] = json_answer({"servers": []})
    async with client(server, credentials) as nks:
        assert list(await ComputeClient.sharing(nks).list_servers()) == []
    assert server.requests[-1] == "GET /v2/tenant-1/servers/detail?limit=100"


async def test_a_shared_compute_url_must_be_allowed_by_the_shared_session(
    server: LocalServer, elsewhere: LocalServer, credentials: Credentials
) -> None:
    async with client(server, credentials) as nks:
        with pytest.raises(EndpointNotAllowedError):
            ComputeClient.sharing(nks, compute_url=elsewhere.url)
    assert elsewhere.requests == []


async def test_a_next_link_to_another_host_is_not_followed(
    server: LocalServer, elsewhere: LocalServer, credentials: Credentials
) -> None:
    """Only the `next` link's query is reused, against the client's own base URL."""
    pages = iter(
        [
            {"clusters": [{"uuid": "a"}], "next": f"{elsewhere.url}/v1/clusters?marker=a"},
            {"clusters": [{"uuid": "b"}]},
        ]
    )

    async def page(server: LocalServer, request: Any) -> Any:
        return await json_answer(next(pages))(server, request)

    server.routes["/v1/clusters"] = page
    async with client(server, credentials) as nks:
        assert [c.uuid for c in await nks.list_clusters()] == ["a", "b"]
    assert server.requests[-1] == "GET /v1/clusters?marker=a"
    assert elsewhere.requests == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("follows", [False, True], ids=["own-http", "shared-http-following"])
async def test_a_redirect_is_not_followed(
    status: int,
    follows: bool,
    server: LocalServer,
    elsewhere: LocalServer,
    credentials: Credentials,
) -> None:
    """Not even when the caller's shared httpx client follows redirects by default."""
    elsewhere.routes["/v1/supports"] = json_answer(SUPPORTS)
    server.routes["/v1/supports"] = redirect_answer(f"{elsewhere.url}/v1/supports", status)
    async with (
        httpx.AsyncClient(follow_redirects=follows) as http,
        client(server, credentials, http=http) as nks,
    ):
        with pytest.raises(InvalidResponseError) as caught:
            await nks.get_supports()
    assert caught.value.status_code == status
    assert "redirects are not followed" in caught.value.message
    assert elsewhere.url not in str(caught.value)
    assert elsewhere.requests == []


# -- answer size -----------------------------------------------------------------------


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_an_oversized_answer_is_refused_without_reading_it_all(
    declared: bool, server: LocalServer, credentials: Credentials
) -> None:
    total = 64 * 1024 * 1024
    server.routes["/v1/supports"] = streamed_answer(
        total=total, declared=total if declared else None
    )
    started = time.monotonic()
    async with client(server, credentials) as nks:
        with pytest.raises(AnswerTooLargeError) as caught:
            await nks.get_supports()
    assert time.monotonic() - started < 4.0  # refused, not timed out
    assert isinstance(caught.value, InvalidResponseError)
    assert caught.value.status_code == 200
    assert str(LIMIT) in caught.value.message and "NKS_MAX_ANSWER_BYTES" in caught.value.message
    # The server got rid of what the socket buffers took, nowhere near the whole answer.
    assert server.sent < total // 4


async def test_a_declared_length_beyond_the_limit_is_refused_before_the_body(
    server: LocalServer, credentials: Credentials
) -> None:
    """Its Content-Length says enough: the body (dripping here) is not waited for."""
    server.routes["/v1/supports"] = streamed_answer(
        total=None, declared=LIMIT + 1, chunk=1, interval=0.5
    )
    async with client(server, credentials, call_timeout=10.0) as nks:
        await nks.authenticate()
        started = time.monotonic()
        with pytest.raises(AnswerTooLargeError):
            await nks.get_supports()
    assert time.monotonic() - started < 1.0
    assert server.sent <= 2


async def test_an_endless_answer_is_refused_at_the_limit(
    server: LocalServer, credentials: Credentials
) -> None:
    server.routes["/v1/clusters"] = streamed_answer(total=None)
    async with client(server, credentials, call_timeout=30.0) as nks:
        started = time.monotonic()
        with pytest.raises(AnswerTooLargeError):
            await nks.list_clusters()
    assert time.monotonic() - started < 4.0


async def test_the_limit_counts_decoded_bytes(
    server: LocalServer, credentials: Credentials
) -> None:
    """A small gzip body that decodes to more than the limit is refused."""
    server.routes["/v1/supports"] = gzip_answer(decoded_size=8 * LIMIT)
    async with client(server, credentials) as nks:
        with pytest.raises(AnswerTooLargeError):
            await nks.get_supports()
    assert server.sent < LIMIT


async def test_an_answer_at_the_limit_is_read(
    server: LocalServer, credentials: Credentials
) -> None:
    body = b'{"supported_k8s": {"v1.30.3": true}, "pad": "'
    body += b"x" * (LIMIT - len(body) - 2) + b'"}'
    assert len(body) == LIMIT

    async def exact(server: LocalServer, request: Any) -> Any:
        from aiohttp import web

        return web.Response(body=body, content_type="application/json")

    server.routes["/v1/supports"] = exact
    async with client(server, credentials) as nks:
        assert (await nks.get_supports()).supported_k8s == {"v1.30.3": True}


async def test_of_an_error_answer_only_the_beginning_is_read(
    server: LocalServer, credentials: Credentials
) -> None:
    server.routes["/v1/supports"] = streamed_answer(
        total=None, status=502, content_type="text/html"
    )
    async with client(server, credentials, max_answer_bytes=16 * 1024 * 1024) as nks:
        started = time.monotonic()
        with pytest.raises(ServerError) as caught:
            await nks.get_supports()
    assert time.monotonic() - started < 4.0
    assert caught.value.message == (
        f"non-JSON answer (text/html, more than {ERROR_BODY_BYTES} bytes)"
    )


# -- the call deadline -----------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        streamed_answer(total=1000, declared=1000, chunk=1, interval=0.2),
        streamed_answer(total=None, chunk=1, interval=0.2),
        silent_answer(),
    ],
    ids=["dripping", "dripping-endless", "silent"],
)
async def test_a_call_ends_at_its_deadline(
    answer: Any, server: LocalServer, credentials: Credentials
) -> None:
    """httpx's read timeout (30 s) restarts with every byte; the call deadline does not."""
    server.routes["/v1/supports"] = answer
    async with client(server, credentials, call_timeout=1.0) as nks:
        await nks.authenticate()
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            await nks.get_supports()
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 4.0
    assert caught.value.may_have_reached_server
    assert str(caught.value) == "get_supports: CallTimeout: no complete answer within 1s"


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Transport(policy=PUBLIC_ONLY, max_answer_bytes=0)
    with pytest.raises(ValueError):
        Transport(policy=PUBLIC_ONLY, call_timeout=0)


def test_decompression_never_expands_past_the_room_left() -> None:
    """A gzip bomb: one 64 KiB network chunk decodes to 64 MiB with httpx's decoder; the
    transport's own decoder hands out only what still fits under the limit."""
    import gzip as gzip_module

    from nks_operator.nks.transport import _BoundedDecoder

    bomb = gzip_module.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    decoder = _BoundedDecoder("gzip")
    first = decoder.decode(bomb[: 64 * 1024], 1000)
    assert len(first) == 1001  # one byte over: "too large", and no more was made
    assert _BoundedDecoder("identity").decode(b"x" * 5000, 1000) == b"x" * 1001


async def test_an_encoding_the_client_never_asked_for_is_refused(
    server: LocalServer, credentials: Credentials
) -> None:
    async def brotli(server: LocalServer, request: Any) -> Any:
        from aiohttp import web

        assert request.headers["Accept-Encoding"] == "gzip, deflate"
        return web.Response(body=b"\x0b\x02\x80{}\x03", headers={"Content-Encoding": "br"})

    server.routes["/v1/supports"] = brotli
    async with client(server, credentials) as nks:
        with pytest.raises(InvalidResponseError, match="Content-Encoding"):
            await nks.get_supports()
