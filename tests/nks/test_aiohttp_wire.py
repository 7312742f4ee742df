"""The aiohttp wire under the operator's NKS client, against raw sockets on loopback: what
it reports when a request may or may not have reached the server (the NKS client repeats
a write only when it surely did not), and that the request goes out as the NKS transport
built and checked it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from nks_operator.aiohttp_transport import AiohttpTransport
from nks_operator.nks.allowlist import EndpointPolicy
from nks_operator.nks.errors import InvalidResponseError, TransportError
from nks_operator.nks.transport import Transport

Reply = Callable[[bytes], Awaitable[bytes | None]]


class RawServer:
    """Reads each request's head (and a Content-Length body) and writes what `reply`
    returns for it; None closes the connection without a byte of answer, and so does
    every answer with `close_after_answer`."""

    def __init__(self, reply: Reply, *, close_after_answer: bool = False) -> None:
        self.reply = reply
        self.close_after_answer = close_after_answer
        self.heads: list[bytes] = []
        self.connections = 0
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                self.heads.append(head)
                answer = await self.reply(head)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def ok(_: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


async def hang_up(_: bytes) -> None:
    return None


@pytest.fixture
async def http() -> AsyncIterator[AiohttpTransport]:
    wire = AiohttpTransport()
    try:
        yield wire
    finally:
        await wire.aclose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def nks_transport(http: AiohttpTransport, url: str) -> Transport:
    """The NKS client's transport over `http`, allowed to send to `url`."""
    return Transport(http, policy=EndpointPolicy.from_entries((), trusted=(url,)))


async def get(http: AiohttpTransport, base: str, path: str) -> httpx.Response:
    """A GET of `base` + `path` as the NKS client sends it."""
    return await nks_transport(http, base).send(
        "get_cluster", "GET", base + path, headers={}, expected=(200,)
    )


async def send(http: AiohttpTransport, url: str, method: str = "POST") -> httpx.Response:
    return await nks_transport(http, url).send(
        "create_cluster",
        method,
        f"{url}/v1/clusters",
        headers={},
        expected=(200,),
        json_body={"name": "a"},
    )


async def test_a_refused_connection_sent_nothing(http: AiohttpTransport) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TransportError) as caught:
        await send(http, url)
    assert not caught.value.may_have_reached_server
    assert str(caught.value).startswith("create_cluster: ConnectError")


async def test_a_hang_up_after_the_request_may_have_reached_the_server(
    http: AiohttpTransport,
) -> None:
    async with RawServer(hang_up) as server:
        with pytest.raises(TransportError) as caught:
            await send(http, server.url)
    assert len(server.heads) == 1  # it arrived
    assert caught.value.may_have_reached_server
    assert str(caught.value).startswith("create_cluster: RemoteProtocolError")


async def test_a_malformed_answer_may_have_reached_the_server(http: AiohttpTransport) -> None:
    async def garbage(_: bytes) -> bytes:
        return b"NOT HTTP AT ALL\r\n\r\n"

    async with RawServer(garbage) as server:
        with pytest.raises(TransportError) as caught:
            await send(http, server.url)
    assert caught.value.may_have_reached_server


async def test_a_truncated_body_may_have_reached_the_server(http: AiohttpTransport) -> None:
    async def truncated(_: bytes) -> bytes:
        return b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"a":'

    async with RawServer(truncated, close_after_answer=True) as server:
        with pytest.raises(TransportError) as caught:
            await send(http, server.url, "GET")
    assert caught.value.may_have_reached_server
    assert str(caught.value).startswith("create_cluster: ReadError")


async def test_the_url_goes_out_as_httpx_built_it(http: AiohttpTransport) -> None:
    """Percent-escapes are not re-encoded or decoded on the way (the allow-list checked
    this form)."""
    async with RawServer(ok) as server:
        response = await get(http, server.url, "/v1/clusters/a%2Fb/x%20y?q=%2F..&n=1")
    assert response.json() == {}
    request_line = server.heads[0].split(b"\r\n", 1)[0]
    assert request_line == b"GET /v1/clusters/a%2Fb/x%20y?q=%2F..&n=1 HTTP/1.1"


async def test_connections_reused_no_cookie_sent_back_the_operator_named(
    http: AiohttpTransport,
) -> None:
    async def with_cookie(_: bytes) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\nSet-Cookie: session=stolen; Path=/\r\nContent-Length: 2\r\n\r\n{}"
        )

    async with RawServer(with_cookie) as server:
        for _ in range(3):
            assert (await get(http, server.url, "/v1/clusters")).status_code == 200
    assert server.connections == 1
    assert all(b"cookie:" not in head.lower() for head in server.heads)
    assert all(b"\r\nuser-agent: nks-operator/" in head.lower() for head in server.heads)


async def test_redirects_are_handed_back_not_followed(http: AiohttpTransport) -> None:
    async def redirect(_: bytes) -> bytes:
        return (
            b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n"
        )

    async with RawServer(redirect) as server:
        with pytest.raises(InvalidResponseError) as caught:
            await get(http, server.url, "/v1/clusters")
    assert caught.value.status_code == 302
    assert len(server.heads) == 1


def test_the_environment_names_the_proxy_and_no_proxy_hosts_skip_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from yarl import URL

    from nks_operator.aiohttp_transport import environment_proxies, proxy_for

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "kube.internal,.svc")
    proxies = environment_proxies()
    assert proxy_for(URL("https://api-nks.nhncloudservice.com/v1"), proxies) == (
        "http://proxy.internal:3128"
    )
    assert proxy_for(URL("https://kube.internal:6443/api"), proxies) is None
    assert proxy_for(URL("https://x.default.svc/api"), proxies) is None
    assert proxy_for(URL("http://plain.example/"), proxies) is None  # no HTTP_PROXY
    monkeypatch.delenv("HTTPS_PROXY")
    assert proxy_for(URL("https://api-nks.nhncloudservice.com/v1"), environment_proxies()) is None


async def test_requests_go_through_the_environment_s_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An HTTP proxy sees the absolute URL of each request it forwards."""
    async with RawServer(ok) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        wire = AiohttpTransport()
        try:
            response = await get(wire, "http://nks.example:8080", "/v1/clusters")
        finally:
            await wire.aclose()
    assert response.status_code == 200
    assert proxy.heads[0].startswith(b"GET http://nks.example:8080/v1/clusters HTTP/1.1")


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_a_reused_connection_that_fails_is_not_retried_behind_the_caller_s_back(
    http: AiohttpTransport, method: str
) -> None:
    """aiohttp would send a GET or DELETE again on a fresh connection; the caller decides
    (a failing endpoint sees one call per attempt, a DELETE is not sent twice)."""

    async def first_then_hang_up(_: bytes) -> bytes | None:
        return await ok(_) if len(server.heads) == 1 else None

    async with RawServer(first_then_hang_up) as server:
        transport = nks_transport(http, server.url)
        await transport.send(
            "get_cluster", "GET", f"{server.url}/v1/clusters/a", headers={}, expected=(200,)
        )
        with pytest.raises(TransportError) as caught:
            await transport.send(
                "delete_cluster", method, f"{server.url}/v1/clusters/a", headers={}, expected=(200,)
            )
    assert len(server.heads) == 2  # the second call went out once
    assert caught.value.may_have_reached_server
