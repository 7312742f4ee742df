"""A real HTTP server on loopback answering as each test tells it: for the client against
endpoints that misbehave - huge, endless or dripping answers, redirects, hostile catalogs.

    async with LocalServer({"/v1/supports": endless_body()}) as server:
        ...  # server.url, server.requests, server.sent

Identity's `POST /v2.0/tokens` answers a token unless a test routes it; any other path is
a 404. `requests` records every request that arrived ("GET /v1/supports"), so a test can
show that nothing reached a server.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

from aiohttp import web

from .conftest import token_body

Handler = Callable[["LocalServer", web.Request], Awaitable[web.StreamResponse]]

CHUNK = 64 * 1024


class LocalServer:
    def __init__(self, routes: Mapping[str, Handler] | None = None) -> None:
        self.routes: dict[str, Handler] = {"/v2.0/tokens": json_answer(token_body())}
        self.routes.update(routes or {})
        self.requests: list[str] = []
        self.sent = 0  # body bytes the handlers managed to write
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> LocalServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # Handlers that never end are cancelled at once when the test is done.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path_qs}")
        handler = self.routes.get(request.path)
        if handler is None:
            return web.json_response({"message": "no such route"}, status=404)
        return await handler(self, request)


def json_answer(body: Any, status: int = 200) -> Handler:
    async def handler(server: LocalServer, request: web.Request) -> web.StreamResponse:
        return web.json_response(body, status=status)

    return handler


def streamed_answer(
    *,
    total: int | None = None,
    declared: int | None = None,
    interval: float = 0.0,
    chunk: int = CHUNK,
    status: int = 200,
    content_type: str = "application/json",
) -> Handler:
    """A body of `total` bytes (None: endless) written `chunk` bytes at a time, `interval`
    seconds apart; `declared`: the Content-Length sent (None: chunked)."""

    async def handler(server: LocalServer, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=status, headers={"Content-Type": content_type})
        if declared is not None:
            response.content_length = declared
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        block = b" " * chunk
        try:
            while total is None or server.sent < total:
                size = chunk if total is None else min(chunk, total - server.sent)
                await response.write(block[:size])
                server.sent += size
                if interval:
                    await asyncio.sleep(interval)
        except (ConnectionError, RuntimeError):
            pass  # the client went away: what was sent is counted
        return response

    return handler


def gzip_answer(decoded_size: int) -> Handler:
    """A small gzip body (`Content-Encoding: gzip`) that decodes to `decoded_size` bytes."""
    body = gzip.compress(b" " * decoded_size)

    async def handler(server: LocalServer, request: web.Request) -> web.StreamResponse:
        server.sent += len(body)
        return web.Response(
            body=body,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    return handler


def silent_answer() -> Handler:
    """Takes the request and never answers."""

    async def handler(server: LocalServer, request: web.Request) -> web.StreamResponse:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return handler


def redirect_answer(location: str, status: int = 302) -> Handler:
    async def handler(server: LocalServer, request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location})

    return handler
