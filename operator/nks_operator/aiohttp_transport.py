"""httpx's interface, aiohttp's connections: the wire under the operator's NKS client (the
Kubernetes client sends with aiohttp directly: kube/wire.py).

Why: the benchmark's profile (BENCHMARKS.md, issue 21) found httpx's own connection layer
(httpcore, anyio, h11) the largest cost of the whole operator - its pool scanned every
pooled connection on each request's start and end, asking each idle socket whether it is
readable. aiohttp, already installed for kopf, parses HTTP in C and hands a connection
back in constant time. The NKS client keeps httpx's Request/Response API (and its tests
keep respx); it hands its requests to this transport directly (nks/transport.py), without
an httpx client's per-request merging, cookie and redirect handling.

Not the `httpx-aiohttp` package: it reports a server that disconnected after the request
went out as a connect timeout, i.e. as "nothing was sent", and the NKS client would then
repeat a write - a second cluster. Here a failure says whether the request may have
reached the server, as httpx's own exceptions do:

- nothing sent: `ConnectError` (DNS, refused, TLS), `ConnectTimeout` (connecting or
  waiting for a pooled connection), `UnsupportedProtocol` (a URL aiohttp cannot use);
- maybe sent: `ReadTimeout`, `RemoteProtocolError` (disconnected, malformed answer),
  `ReadError` (a connection failing mid-way, a truncated body).

The body is handed on as it came (no automatic decompression: the NKS transport decodes
with a bound of its own), redirects are never followed, cookies are never kept or sent,
and the URL goes out byte for byte as httpx built it (what the endpoint allow-list
checked).
"""

from __future__ import annotations

import contextlib
import ssl
import urllib.request
from collections.abc import AsyncIterator, Iterator

import aiohttp
import httpx
from multidict import CIMultiDict
from yarl import URL

# Most specific first: the first match names the failure.
_FAILURES: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerFingerprintMismatch, httpx.ConnectError),
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.ClientError, httpx.ReadError),
)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except aiohttp.ClientError as error:
        for failure, mapped in _FAILURES:
            if isinstance(error, failure):
                raise mapped(str(error) or type(error).__name__) from error
        raise  # pragma: no cover - the last entry matches every ClientError


class _Body(httpx.AsyncByteStream):
    """The answer's bytes as they arrive; closing before the end closes the connection
    (aiohttp never returns a half-read connection to its pool)."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp connection pool of at most `max_connections`, made on first use (inside
    the running event loop) and closed by `aclose()`.

    `verify`: an SSL context, True for the system's trust store, False for none (plain
    http or a test server). `proxy`: every request goes through it; `trust_env`: the
    HTTP(S)_PROXY / NO_PROXY environment is honoured, as httpx does by default.
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        max_connections: int = 100,
        keepalive_seconds: float = 15.0,
        proxy: str | None = None,
        trust_env: bool = True,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._ssl: ssl.SSLContext | bool = httpx.create_ssl_context() if verify is True else verify
        self._max_connections = max_connections
        self._keepalive = keepalive_seconds
        self._proxy = proxy
        self._env_proxies = environment_proxies() if trust_env else {}
        self._session: aiohttp.ClientSession | None = None

    def _pool(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                limit_per_host=0,
                keepalive_timeout=self._keepalive,
                ssl=self._ssl,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                trust_env=False,  # see environment_proxies
                timeout=aiohttp.ClientTimeout(total=None),
            )
            no_hidden_retries(self._session)
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        content = await request.aread()
        url = URL(str(request.url), encoded=True)
        with _as_httpx_errors():
            response = await self._pool().request(
                request.method,
                url,
                headers=CIMultiDict(request.headers.multi_items()),
                data=content or None,
                allow_redirects=False,
                proxy=self._proxy or proxy_for(url, self._env_proxies),
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def no_hidden_retries(session: aiohttp.ClientSession) -> None:
    """aiohttp sends a GET, PUT or DELETE a second time, unasked, when a reused connection
    fails: a failing endpoint would see two calls per attempt (the operator's own backoff
    counts one), and a DELETE that reached NKS would go out again. Retrying is the
    callers' decision (nks/retry.py, the work queue). aiohttp's own test client turns it
    off the same way; there is no public switch."""
    session._retry_connection = False


def environment_proxies() -> dict[str, str]:
    """HTTP(S)_PROXY / NO_PROXY, read once. Not aiohttp's `trust_env`: that also looks for
    credentials in ~/.netrc for every request, in a thread (14 % of the operator's CPU in
    the benchmark's profile), and the operator sends no credentials it was not given."""
    return urllib.request.getproxies_environment()


def proxy_for(url: URL, proxies: dict[str, str]) -> str | None:
    """The proxy the environment names for `url`, None for none or a NO_PROXY host."""
    if not proxies or urllib.request.proxy_bypass(url.host or ""):
        return None
    return proxies.get(url.scheme)
