"""The Kubernetes client on its production wire (aiohttp), against a real HTTP server on
loopback: what it sends, the re-login on a 401, the error mapping, and what it never does
(follow a redirect, keep a cookie)."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator

import kopf
import pytest
from aiohttp import web

from nks_operator.kube.client import KubeClient, KubeConflict, KubeNotFound, KubeUnavailable
from nks_operator.kube.wire import REQUEST_DEADLINE_SECONDS


class Server:
    def __init__(self) -> None:
        self.seen: list[web.Request] = []
        self.answers: list[web.Response] = []
        self.hang_up = False  # close the connection instead of answering
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.seen.append(request)
        if self.hang_up:
            assert request.transport is not None
            request.transport.close()
            raise ConnectionResetError
        return self.answers.pop(0) if self.answers else web.json_response({"kind": "Status"})


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield state
    finally:
        await runner.cleanup()


async def test_a_request_goes_out_with_the_login_and_its_answer_comes_back(
    server: Server,
) -> None:
    client = KubeClient(lambda: kopf.ConnectionInfo(server=server.url, token="t-1"))
    try:
        server.answers.append(web.json_response({"metadata": {"name": "a"}}))
        answer = await client.request(
            "PATCH",
            "/apis/x/v1/namespaces/n/things/a/status",
            body={"status": {"phase": "Ready"}},
            content_type="application/merge-patch+json",
            params={"labelSelector": "a=b,c in (d)"},
        )
    finally:
        await client.aclose()
    assert answer == {"metadata": {"name": "a"}}
    sent = server.seen[0]
    assert sent.method == "PATCH" and sent.path == "/apis/x/v1/namespaces/n/things/a/status"
    assert sent.query["labelSelector"] == "a=b,c in (d)"
    assert sent.headers["Authorization"] == "Bearer t-1"
    assert sent.headers["Content-Type"] == "application/merge-patch+json"


async def test_a_401_logs_in_again_once(server: Server) -> None:
    tokens = iter(["old", "new", "newer"])
    client = KubeClient(lambda: kopf.ConnectionInfo(server=server.url, token=next(tokens)))
    try:
        server.answers += [web.Response(status=401), web.json_response({"ok": True})]
        assert await client.request("GET", "/api/v1/namespaces/n/secrets/s") == {"ok": True}
        server.answers += [web.Response(status=401), web.Response(status=401)]
        with pytest.raises(Exception) as caught:
            await client.request("GET", "/api/v1/namespaces/n/secrets/s")
    finally:
        await client.aclose()
    assert [r.headers["Authorization"] for r in server.seen] == [
        "Bearer old",
        "Bearer new",
        "Bearer new",
        "Bearer newer",
    ]
    assert getattr(caught.value, "status", None) == 401


async def test_errors_are_mapped_and_redirects_not_followed(server: Server) -> None:
    client = KubeClient(lambda: kopf.ConnectionInfo(server=server.url, token="t"))
    try:
        server.answers.append(web.json_response({"reason": "NotFound"}, status=404))
        with pytest.raises(KubeNotFound):
            await client.request("GET", "/a")
        server.answers.append(web.json_response({"message": "changed"}, status=409))
        with pytest.raises(KubeConflict, match="changed"):
            await client.request("PUT", "/a", body={})
        server.answers.append(web.Response(status=503))
        with pytest.raises(KubeUnavailable):
            await client.request("GET", "/a")
        server.answers.append(
            web.Response(status=302, headers={"Location": "http://169.254.169.254/"})
        )
        with pytest.raises(Exception) as caught:
            await client.request("GET", "/a")
        assert getattr(caught.value, "status", None) == 302
        server.answers.append(web.json_response({}, headers={"Set-Cookie": "session=x; Path=/"}))
        await client.request("GET", "/a")
        await client.request("GET", "/a")
    finally:
        await client.aclose()
    assert "Cookie" not in server.seen[-1].headers
    assert len(server.seen) == 6  # the redirect went nowhere


async def test_no_server_is_unavailable_not_a_crash() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = KubeClient(lambda: kopf.ConnectionInfo(server=f"http://127.0.0.1:{port}"))
    try:
        with pytest.raises(KubeUnavailable) as caught:
            await client.request("GET", "/a")
    finally:
        await client.aclose()
    assert caught.value.status == 0 and "Connect" in caught.value.reason


async def test_a_reused_connection_that_fails_is_not_retried(server: Server) -> None:
    """One request per call: a DELETE that reached the apiserver is not sent again by
    aiohttp on a fresh connection (the work queue retries, with its backoff)."""
    client = KubeClient(lambda: kopf.ConnectionInfo(server=server.url, token="t"))

    try:
        await client.request("GET", "/a")  # the connection is now pooled
        server.hang_up = True
        with pytest.raises(KubeUnavailable):
            await client.request("DELETE", "/a")
    finally:
        await client.aclose()
    assert [r.method for r in server.seen] == ["GET", "DELETE"]


@pytest.mark.parametrize("framing", ["content-length", "chunked", "gzip"])
async def test_an_answer_over_the_bound_is_refused_and_one_within_is_read(
    server: Server, framing: str
) -> None:
    """Refused before it is read whole: by its declared length, or counted as it arrives
    (a chunked answer, a small compressed one that decodes large)."""
    limit = 4096

    def answer(size: int) -> web.Response:
        body = json.dumps({"kind": "List", "pad": "x" * (size - 27)}).encode()
        assert len(body) == size
        if framing == "gzip":
            response = web.Response(body=gzip.compress(body), content_type="application/json")
            response.headers["Content-Encoding"] = "gzip"
            return response
        response = web.Response(body=body, content_type="application/json")
        if framing == "chunked":
            response.enable_chunked_encoding()
        return response

    client = KubeClient(
        lambda: kopf.ConnectionInfo(server=server.url, token="t"), max_answer_bytes=limit
    )
    try:
        server.answers.append(answer(limit))
        assert (await client.request("GET", "/a"))["kind"] == "List"
        server.answers.append(answer(limit + 1))
        with pytest.raises(KubeUnavailable) as caught:
            await client.request("GET", "/a")
        # The next request is answered as usual.
        assert await client.request("GET", "/a") == {"kind": "Status"}
    finally:
        await client.aclose()
    assert (caught.value.status, caught.value.reason) == (0, "AnswerTooLarge")


class Dripping:
    """Answers /drip with headers, then one byte of its body every `every` seconds (within
    the read timeout, so only a total deadline ends it), for as long as the client stays."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.dripped = 0
        self.left = asyncio.Event()

    async def drip(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            while True:
                await response.write(b" ")
                self.dripped += 1
                await asyncio.sleep(self.every)
        except (ConnectionError, asyncio.CancelledError):
            self.left.set()
            raise


async def _dripping_client_request(every: float, **deadline: float) -> tuple[Dripping, str]:
    state = Dripping(every)
    server = Server()
    app = web.Application()
    app.router.add_get("/drip", state.drip)
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    client = KubeClient(lambda: kopf.ConnectionInfo(server=url, token="t"), **deadline)
    # Without a deadline the request would wait for ever: the test fails instead.
    bound = deadline.get("deadline", REQUEST_DEADLINE_SECONDS) + 30
    try:
        with pytest.raises(KubeUnavailable) as caught:
            await asyncio.wait_for(client.request("GET", "/drip"), bound)
        await asyncio.wait_for(state.left.wait(), 30)  # the connection was let go
        # The next request is answered as usual.
        assert await client.request("GET", "/a") == {"kind": "Status"}
    finally:
        await client.aclose()
        await runner.cleanup()
    return state, caught.value.reason


async def test_an_answer_that_drips_ends_at_the_deadline() -> None:
    state, reason = await _dripping_client_request(0.2, deadline=2.0)
    assert reason == "TimeoutError" and state.dripped >= 3


async def test_an_answer_that_drips_ends_at_the_default_deadline() -> None:
    """At the deadline users get (120 s): a byte every 10 s never trips the 30 s read
    timeout, so what ends the request is the deadline."""
    every = 10.0
    state, reason = await _dripping_client_request(every)
    assert reason == "TimeoutError"
    assert state.dripped >= REQUEST_DEADLINE_SECONDS // every - 1
