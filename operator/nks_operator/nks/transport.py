"""One HTTP attempt against NKS or the identity service, and nothing more.

Turns httpx outcomes into this package's errors, reports every attempt to the metrics
hook and logs it without headers or bodies (which hold tokens, passwords, kubeconfigs).
Retries and authentication are layered on top, in `retry` and `client`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import httpx

from nks_operator.nks.error_body import parse_error_body
from nks_operator.nks.errors import (
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

JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


class Transport:
    """Sends single requests through one (possibly shared) httpx.AsyncClient."""

    def __init__(
        self,
        http: httpx.AsyncClient | None = None,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        metrics: MetricsHook | None = None,
    ) -> None:
        self._owns_http = http is None
        # No event hooks: nothing may ever log request headers.
        self.http = http if http is not None else httpx.AsyncClient(timeout=timeout)
        self.timeout = timeout
        self.metrics = metrics

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
        """One request; the response if its status is in `expected`, else an NKSError.

        `secrets` are scrubbed from any error text taken from the response.
        """
        content = None if json_body is None else json.dumps(json_body).encode()
        started = time.monotonic()
        try:
            response = await self.http.request(
                method,
                url,
                headers=dict(headers),
                content=content,
                params=dict(params) if params else None,
                timeout=self.timeout,
            )
        except httpx.TransportError as exc:
            duration = time.monotonic() - started
            name = type(exc).__name__
            report(self.metrics, RequestSample(operation, method, None, name, duration))
            logger.debug(
                "NKS %s %s %s failed after %.3fs: %s", operation, method, url, duration, name
            )
            detail = scrub(str(exc), secrets)
            raise TransportError(
                f"{name}: {detail}" if detail else name,
                may_have_reached_server=not isinstance(exc, _UNSENT),
                operation=operation,
            ) from None
        duration = time.monotonic() - started
        status = response.status_code
        report(self.metrics, RequestSample(operation, method, status, None, duration))
        logger.debug("NKS %s %s %s -> %d in %.3fs", operation, method, url, status, duration)
        if status in expected:
            return response
        raise self._error(operation, response, secrets=secrets, identity=identity)

    @staticmethod
    def _error(
        operation: str,
        response: httpx.Response,
        *,
        secrets: Iterable[str],
        identity: bool,
    ) -> NKSError:
        secrets = tuple(secrets)
        status = response.status_code
        if status < 400:
            return InvalidResponseError(
                f"unexpected HTTP status {status}", operation=operation, status_code=status
            )
        details = parse_error_body(scrub(response.text, secrets), response.headers)
        return error_for_status(
            status,
            details,
            operation=operation,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            identity=identity,
        )


def decode_json(response: httpx.Response, operation: str) -> Any:
    """The JSON body of a successful response; None when empty.

    The body text is never quoted in the error: it may be a token or a kubeconfig.
    """
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        raise InvalidResponseError(
            f"response body is not valid JSON ({len(response.content)} bytes, "
            f"content-type {response.headers.get('content-type', 'unknown')!r})",
            operation=operation,
            status_code=response.status_code,
        ) from None
