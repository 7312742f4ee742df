"""A proxy in front of the simulator that mangles NKS's answers the way a newer NKS, a
broken gateway or a half-closed connection would: unexpected fields in every JSON object,
and some successful reads answered with invalid or wrongly shaped JSON (status 200).

Point a credentials Secret's `nksUrl` at `MangleProxy.url` (identity stays direct).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import Counter
from concurrent.futures import Future
from typing import Any

import aiohttp
from aiohttp import web

# What a read answers instead of its JSON: empty, valid JSON of the wrong shape, truncated,
# HTML, not UTF-8. Each route gets the first `broken_first` of them in this order.
BROKEN_BODIES: tuple[bytes, ...] = (
    b"",
    b"null",
    b"[]",
    b'{"clusters": [{"uuid": "',
    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    b"\xff\xfe\x00not json",
    b'"a string"',
    b"42",
)
_ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f-]{27,}")
_EXTRA: dict[str, Any] = {
    "x_unexpected_object": {"nested": [1, None, "\u00fc", {"deeper": True}]},
    "x_unexpected_null": None,
    "x_unexpected_number": 1.5,
    "x_unexpected_text": "\U0001f4a5" * 64,
    "x_unexpected_list": [],
}
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


def with_unexpected_fields(value: Any, in_labels: bool = False) -> Any:
    """`value` with extra keys in every object. Maps of strings (labels, event types) or
    booleans (supported versions) get an extra entry of their own value type, as a newer
    NKS would add; other objects get extra fields of every JSON type."""
    if isinstance(value, dict):
        result = {
            key: with_unexpected_fields(item, in_labels=key == "labels")
            for key, item in value.items()
        }
        kinds = {type(item) for item in value.values()}
        if in_labels or (value and kinds == {str}):
            result["zz_unexpected_key"] = "\u00fcn\u00efc\u00f6d\u00e9 \u2713"
        elif value and kinds == {bool}:
            result["zz_unexpected_key"] = False
        else:
            result.update(_EXTRA)
        return result
    if isinstance(value, list):
        return [with_unexpected_fields(item) for item in value]
    return value


class MangleProxy:
    """The proxy, in a daemon thread with its own event loop."""

    def __init__(
        self,
        upstream: str,
        *,
        extra_fields: bool = True,
        broken_first: int = 0,
        broken_every: int = 0,
    ) -> None:
        """`broken_first`: the first n successful reads of every route are broken;
        `broken_every`: then every n-th read of any route."""
        self.upstream = upstream.rstrip("/")
        self.extra_fields = extra_fields
        self.broken_first = broken_first
        self.broken_every = broken_every
        self.reads = 0
        self.broken: Counter[str] = Counter()  # route -> broken answers
        self._route_reads: Counter[str] = Counter()
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> MangleProxy:
        ready: Future[str] = Future()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        self.url = ready.result(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self, ready: Future[str]) -> None:
        asyncio.run(self._serve(ready))

    async def _serve(self, ready: Future[str]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        async with aiohttp.ClientSession() as session:
            self._session = session
            ready.set_result(f"http://127.0.0.1:{port}")
            await self._stop.wait()
        await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            data=await request.read(),
            headers=headers,
        ) as upstream:
            raw = await upstream.read()
            status = upstream.status
            answer_headers = {
                k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS
            }
        if request.method == "GET" and request.path.startswith("/v1/") and status == 200:
            route = _ID.sub("/{id}", request.path)
            self.reads += 1
            self._route_reads[route] += 1
            seen = self._route_reads[route]
            if seen <= self.broken_first or (
                self.broken_every and self.reads % self.broken_every == 0
            ):
                body = BROKEN_BODIES[(seen - 1) % len(BROKEN_BODIES)]
                self.broken[route] += 1
                answer_headers["Content-Type"] = "application/json"
                return web.Response(status=200, body=body, headers=answer_headers)
        if self.extra_fields and raw:
            try:
                data = json.loads(raw)
            except ValueError:
                pass
            else:
                raw = json.dumps(with_unexpected_fields(data)).encode()
        return web.Response(status=status, body=raw, headers=answer_headers)
