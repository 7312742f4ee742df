"""One HTTP attempt against NKS, the identity service or the compute API, and nothing more.

Every request passes here, so here is where it is bounded:

- its URL (as it will be sent) must be allowed by the client's `EndpointPolicy`, else
  `EndpointNotAllowedError` and nothing is sent; a redirect is never followed;
- an answer longer than `max_answer_bytes` is refused (`AnswerTooLargeError`) as soon as its
  Content-Length or the bytes read so far say so; of an error answer at most
  `ERROR_BODY_BYTES` are read, for its message;
- the whole attempt - connection, request and answer to its last byte - ends after
  `call_timeout` seconds: httpx's timeouts are per phase, so a server dripping a byte now
  and then would otherwise hold the call (and a worker) forever.

Requests go out as built here, not through an httpx client's merging (base URL, default
headers, cookies, auth, redirects): over a shared wire (`httpx.AsyncBaseTransport`, the
operator's aiohttp pool) or, for a caller's own client, with its `send`. A cookie an
endpoint sets is never sent back: none of the APIs uses them.

Turns httpx outcomes into this package's errors, reports every attempt to the metrics
hook and logs it without headers or bodies (which hold tokens, passwords, kubeconfigs).
Retries and authentication are layered on top, in `retry` and `session`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import zlib
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import httpx

from nks_operator import __version__, json_answers
from nks_operator.nks.allowlist import EndpointPolicy, EndpointRefused
from nks_operator.nks.error_body import describe_body, endpoint_text, parse_error_body
from nks_operator.nks.errors import (
    AnswerTooLargeError,
    EndpointNotAllowedError,
    InvalidResponseError,
    NKSError,
    TransportError,
    error_for_status,
)
from nks_operator.nks.masking import scrub
from nks_operator.nks.metrics import MetricsHook, RequestSample, report
from nks_operator.nks.retry import parse_retry_after

logger = logging.getLogger(__name__)

# Connection-level failures where no byte of the request was sent.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)
# NKS's largest answers (a project's server list, a long task history) stay well below.
DEFAULT_MAX_ANSWER_BYTES = 4 * 1024 * 1024
# One attempt, answer included; retries (`retry`) each get their own.
DEFAULT_CALL_TIMEOUT = 60.0
# An error answer is read this far for its message; NKS's are a few hundred bytes.
ERROR_BODY_BYTES = 64 * 1024

# Only encodings the transport decodes itself, with a bound (_BoundedDecoder).
ACCEPT_ENCODING = "gzip, deflate"
JSON_HEADERS = {
    "Accept": "application/json",
    "Accept-Encoding": ACCEPT_ENCODING,
    "Content-Type": "application/json",
}

# Every request names the operator (no client adds a default of its own here).
USER_AGENT = f"nks-operator/{__version__}"

# Headers describing the body as it came over the wire, not as it is handed on (decoded).
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


# What requests go through: a wire shared by many clients, or a caller's own httpx client.
HTTP = httpx.AsyncBaseTransport | httpx.AsyncClient


def check_endpoint(
    policy: EndpointPolicy, url: str | httpx.URL, *, operation: str | None = None
) -> None:
    """Raise EndpointNotAllowedError unless `policy` allows a request to `url`."""
    try:
        policy.check(url)
    except EndpointRefused:
        raise EndpointNotAllowedError(str(url), operation=operation) from None


class Transport:
    """Sends single requests through one (possibly shared) wire or httpx client; without
    one, through an httpx client of its own."""

    def __init__(
        self,
        http: HTTP | None = None,
        *,
        policy: EndpointPolicy,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        metrics: MetricsHook | None = None,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        if max_answer_bytes < 1 or not call_timeout > 0:
            raise ValueError("max_answer_bytes and call_timeout must be positive")
        self._owns_http = http is None
        # No event hooks: nothing may ever log request headers. Redirects are refused per
        # request (`_exchange`), whatever a shared client was built with.
        self.http: HTTP = http if http is not None else httpx.AsyncClient(timeout=timeout)
        self._timeouts = timeout.as_dict()  # per phase, as httpx transports read them
        self.policy = policy
        self.metrics = metrics
        self.max_answer_bytes = max_answer_bytes
        self.call_timeout = call_timeout

    async def aclose(self) -> None:
        """Close the httpx client if this transport created it (a shared one stays open)."""
        if self._owns_http:
            await self.http.aclose()

    async def send(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        expected: Collection[int],
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        identity: bool = False,
    ) -> httpx.Response:
        """One request; the response (its body read) if its status is in `expected`, else
        an NKSError.

        `secrets` are scrubbed from any error text taken from the response.
        """
        content = None if json_body is None else json.dumps(json_body).encode()
        request = httpx.Request(
            method,
            url,
            headers={"User-Agent": USER_AGENT, **headers},
            content=content,
            params=params or None,
            extensions={"timeout": self._timeouts},
        )
        # The URL exactly as it will be sent, parsed once.
        check_endpoint(self.policy, request.url, operation=operation)
        started = time.monotonic()
        deadline = asyncio.timeout(self.call_timeout)
        try:
            async with deadline:
                response = await self._exchange(request)
                try:
                    body, complete = await self._read(operation, response, expected)
                finally:
                    await response.aclose()
        except TimeoutError:
            if not deadline.expired():
                raise
            self._failed(operation, method, url, started, "CallTimeout")
            raise TransportError(
                f"CallTimeout: no complete answer within {self.call_timeout:g}s",
                may_have_reached_server=True,
                operation=operation,
            ) from None
        except AnswerTooLargeError:
            self._failed(operation, method, url, started, "AnswerTooLarge")
            raise
        except httpx.DecodingError:
            self._failed(operation, method, url, started, "DecodingError")
            raise InvalidResponseError(
                "the answer could not be decoded as its Content-Encoding says",
                operation=operation,
                status_code=response.status_code,
            ) from None
        except httpx.TransportError as exc:
            name = type(exc).__name__
            self._failed(operation, method, url, started, name)
            raise TransportError(
                _transport_detail(exc, secrets),
                may_have_reached_server=not isinstance(exc, _UNSENT),
                operation=operation,
            ) from None
        duration = time.monotonic() - started
        status = response.status_code
        report(self.metrics, RequestSample(operation, method, status, None, duration))
        logger.debug("NKS %s %s %s -> %d in %.3fs", operation, method, url, status, duration)
        if status in expected:
            return _with_body(response, body)
        raise self._error(
            operation, response, body, complete=complete, secrets=secrets, identity=identity
        )

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        """The answer's head; its body streams (`_read`). Never a redirect followed."""
        if isinstance(self.http, httpx.AsyncClient):
            return await self.http.send(request, stream=True, follow_redirects=False)
        response = await self.http.handle_async_request(request)
        response.request = request
        return response

    async def _read(
        self, operation: str, response: httpx.Response, expected: Collection[int]
    ) -> tuple[bytes, bool]:
        """The body (decoded) and whether it is complete: an expected answer whole or
        AnswerTooLargeError, an error answer's first ERROR_BODY_BYTES, nothing else."""
        status = response.status_code
        if status in expected:
            limit = self.max_answer_bytes
            declared = _declared_length(response)
            if declared is not None and declared > limit:
                raise AnswerTooLargeError(limit, operation=operation, status_code=status)
            body, complete = await _read_at_most(response, limit)
            if not complete:
                raise AnswerTooLargeError(limit, operation=operation, status_code=status)
            return body, True
        if status >= 400:
            return await _read_at_most(response, min(ERROR_BODY_BYTES, self.max_answer_bytes))
        return b"", True

    def _failed(self, operation: str, method: str, url: str, started: float, name: str) -> None:
        """Report and log an attempt that ended without a usable answer."""
        duration = time.monotonic() - started
        report(self.metrics, RequestSample(operation, method, None, name, duration))
        logger.debug("NKS %s %s %s failed after %.3fs: %s", operation, method, url, duration, name)

    @staticmethod
    def _error(
        operation: str,
        response: httpx.Response,
        body: bytes,
        *,
        complete: bool,
        secrets: Iterable[str],
        identity: bool,
    ) -> NKSError:
        status = response.status_code
        if status < 400:
            followed = ": redirects are not followed" if 300 <= status < 400 else ""
            return InvalidResponseError(
                f"unexpected HTTP status {status}{followed}",
                operation=operation,
                status_code=status,
            )
        details = parse_error_body(
            body.decode(response.encoding or "utf-8", errors="replace"),
            response.headers,
            size=len(body),
            complete=complete,
            secrets=secrets,
        )
        return error_for_status(
            status,
            details,
            operation=operation,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            identity=identity,
        )


class _BoundedDecoder:
    """Undoes the answer's Content-Encoding producing at most as many bytes as asked for:
    httpx's own decoder expands a whole network chunk at once, so a 64 KiB chunk of a gzip
    bomb would become tens of MiB before any limit could look at it."""

    def __init__(self, encoding: str) -> None:
        name = encoding.strip().lower()
        self._zlib: Any
        if name in ("", "identity"):
            self._zlib = None
        elif name in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif name == "deflate":
            self._zlib = zlib.decompressobj()
        else:  # `br`, `zstd` or a chain: never asked for (ACCEPT_ENCODING)
            raise httpx.DecodingError(f"unsupported Content-Encoding {name[:32]!r}")

    def decode(self, data: bytes, room: int) -> bytes:
        """At most `room + 1` decoded bytes (one more than fits says "too large")."""
        if self._zlib is None:
            return data[: room + 1]
        try:
            return bytes(self._zlib.decompress(self._zlib.unconsumed_tail + data, room + 1))
        except zlib.error:
            raise httpx.DecodingError("the answer's compressed data is corrupt") from None


async def _read_at_most(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of the decoded body, and whether that was all of it."""
    if response.is_stream_consumed:  # given in memory (httpx.MockTransport): decoded already
        content = response.content
        return content[:limit], len(content) <= limit
    decoder = _BoundedDecoder(response.headers.get("content-encoding", ""))
    chunks: list[bytes] = []
    size = 0
    # httpx declares an AsyncIterator; aiter_raw is an async generator, closable early.
    async with contextlib.aclosing(response.aiter_raw()) as stream:  # type: ignore[type-var]
        async for raw in stream:
            chunk = decoder.decode(raw, limit - size)
            if size + len(chunk) > limit:
                chunks.append(chunk[: limit - size])
                return b"".join(chunks), False
            chunks.append(chunk)
            size += len(chunk)
    return b"".join(chunks), True


def _declared_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None


def _with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    """A response holding its read (decoded) body, for `.content` and `.json()`."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS]
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=response.request
    )


def _transport_detail(exc: httpx.TransportError, secrets: Iterable[str]) -> str:
    """`ReadTimeout: ...`: the failure's name and httpx's words about it, short."""
    name = type(exc).__name__
    detail = str(exc)
    if isinstance(exc, httpx.ProtocolError):
        # h11 quotes the bytes it could not read after a colon: the endpoint's text.
        detail = detail.partition(":")[0]
    detail = endpoint_text(scrub(detail, secrets))
    return f"{name}: {detail}" if detail else name


def decode_json(response: httpx.Response, operation: str) -> Any:
    """The JSON body of a successful response; None when empty.

    The body text is never quoted in the error: it may be a token or a kubeconfig.
    """
    if not response.content.strip():
        return None
    try:
        return json_answers.loads(response.content)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
        raise InvalidResponseError(
            "response body is not valid JSON "
            f"({describe_body(response.headers, len(response.content))})",
            operation=operation,
            status_code=response.status_code,
        ) from None
