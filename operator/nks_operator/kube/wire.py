"""How the Kubernetes client's requests travel, for one login: aiohttp's connection pool.

The client (kube/client.py) keeps the login, the re-login on a 401 and the error mapping;
a wire only sends one request and hands back the whole answer. The benchmark's profile
(BENCHMARKS.md, issue 21) put httpx's request building, URL parsing and cookie handling
at four times aiohttp's own cost per request, and the operator makes a dozen and a half
of these calls per resource: this path has no httpx in it. Unit tests send through
`HttpxWire` and an `httpx.MockTransport` instead (the client's logic is the same).
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Mapping
from typing import NamedTuple, Protocol

import aiohttp
import httpx
import kopf
from yarl import URL

from nks_operator.aiohttp_transport import environment_proxies, no_hidden_retries, proxy_for

# Far above any answer the operator asks for (one object: etcd keeps at most about 1.5 MiB;
# a list of ownership records: about 1 KiB each), and refused before it is read whole.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
# One request, answer included, ends after this long whatever the server does: the read
# timeout alone would let an answer that drips a byte at a time hold a pass for ever. The
# kube-apiserver itself ends a request after 60 s (`--request-timeout`'s default).
REQUEST_DEADLINE_SECONDS = 120.0


class Answer(NamedTuple):
    status: int
    reason: str
    body: bytes


class WireError(Exception):
    """The request got no answer (connection, timeout): `name` says which failure."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}" if detail else name)
        self.name = name
        self.detail = detail


class Wire(Protocol):
    async def send(
        self,
        method: str,
        path: str,
        content: bytes | None,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None,
    ) -> Answer: ...

    async def aclose(self) -> None: ...


def auth_headers(info: kopf.ConnectionInfo) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if info.token:
        headers["Authorization"] = f"{info.scheme or 'Bearer'} {info.token}"
    elif info.username and info.password:
        pair = f"{info.username}:{info.password}".encode()
        headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
    return headers


class AiohttpWire:
    """One aiohttp session per login: its server, credentials, TLS and proxy."""

    def __init__(
        self,
        info: kopf.ConnectionInfo,
        *,
        timeout: httpx.Timeout,
        max_connections: int,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        deadline: float = REQUEST_DEADLINE_SECONDS,
    ) -> None:
        self._max_answer_bytes = max_answer_bytes
        secure = info.server.startswith("https")
        verify: ssl.SSLContext | bool = info.as_ssl_context() if secure else False
        self._base = info.server.rstrip("/")
        self._headers = auth_headers(info)
        self._proxy = info.proxy_url or None
        self._env_proxies = environment_proxies() if info.trust_env else {}
        self._timeout = aiohttp.ClientTimeout(
            total=deadline,
            connect=timeout.pool,
            sock_connect=timeout.connect,
            sock_read=timeout.read,
        )
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections, ssl=verify),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,  # environment_proxies says why
            timeout=self._timeout,
        )
        no_hidden_retries(self._session)

    async def send(
        self,
        method: str,
        path: str,
        content: bytes | None,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None,
    ) -> Answer:
        url = URL(self._base + path, encoded=True)
        try:
            async with self._session.request(
                method,
                url,
                data=content,
                headers={**self._headers, **headers},
                params=params,
                allow_redirects=False,
                proxy=self._proxy or proxy_for(url, self._env_proxies),
            ) as response:
                body = await _read_at_most(response, self._max_answer_bytes)
                return Answer(response.status, response.reason or "", body)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise WireError(type(error).__name__, str(error)) from None

    async def aclose(self) -> None:
        await self._session.close()


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole (decoded) body, or WireError("AnswerTooLarge") as soon as it is longer
    than `limit`: before reading when the declared length says so, else counted as it is
    read (and decompressed)."""
    declared = response.content_length
    if declared is not None and declared > limit:
        raise WireError("AnswerTooLarge", f"{declared} bytes, at most {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            raise WireError("AnswerTooLarge", f"more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class HttpxWire:
    """Through an httpx transport: what unit tests answer with `httpx.MockTransport`."""

    def __init__(
        self,
        info: kopf.ConnectionInfo,
        *,
        timeout: httpx.Timeout,
        transport: httpx.AsyncBaseTransport,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=info.server.rstrip("/"),
            headers=auth_headers(info),
            timeout=timeout,
            transport=transport,
        )

    async def send(
        self,
        method: str,
        path: str,
        content: bytes | None,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None,
    ) -> Answer:
        try:
            response = await self._http.request(
                method, path, content=content, headers=dict(headers), params=params
            )
        except httpx.HTTPError as error:
            raise WireError(type(error).__name__, str(error)) from None
        return Answer(response.status_code, response.reason_phrase, response.content)

    async def aclose(self) -> None:
        await self._http.aclose()
