"""An async Kubernetes REST client over httpx, logged in the way kopf logs in.

The operator makes a handful of calls of its own (status and metadata patches, Secrets,
fresh reads); kopf does the watching. Both use the same `kopf.ConnectionInfo` (service
account, else kubeconfig), so whatever kopf can watch with, this client can write with. A
401 re-runs the login once (service account tokens are rotated on disk).

Errors: `KubeNotFound` (404), `KubeConflict` (409), `KubeAPIError` for other answers, and
`KubeUnavailable` for transport failures, timeouts, 429 and 5xx - the ones a retry may fix.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import kopf

logger = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

Login = Callable[[], "kopf.ConnectionInfo | None"]


class KubeAPIError(Exception):
    """The apiserver answered with an error; `status` is its HTTP code."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.message = message


class KubeNotFound(KubeAPIError):
    pass


class KubeConflict(KubeAPIError):
    pass


class KubeUnavailable(KubeAPIError):
    """No usable answer (connection, timeout, 429, 5xx): try again later."""


class LoginMissing(Exception):
    """Neither a service account nor a kubeconfig is available."""


def _error(response: httpx.Response) -> KubeAPIError:
    reason, message = response.reason_phrase, ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        reason = str(body.get("reason") or reason)
        message = str(body.get("message") or "")
    status = response.status_code
    if status == 404:
        return KubeNotFound(status, reason, message)
    if status == 409:
        return KubeConflict(status, reason, message)
    if status == 429 or status >= 500:
        return KubeUnavailable(status, reason, message)
    return KubeAPIError(status, reason, message)


class KubeClient:
    """One connection pool for the process; `request()` is the only way out."""

    def __init__(
        self,
        login: Login,
        *,
        max_connections: int = 32,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._login = login
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._timeout = timeout
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()

    async def _client(self, *, renew: bool = False) -> httpx.AsyncClient:
        async with self._lock:
            if self._http is not None and not renew:
                return self._http
            info = self._login()
            if info is None:
                raise LoginMissing("no service account and no kubeconfig to log in with")
            old, self._http = self._http, self._build(info)
        if old is not None:
            await old.aclose()
        return self._http

    def _build(self, info: kopf.ConnectionInfo) -> httpx.AsyncClient:
        headers = {"Accept": "application/json"}
        if info.token:
            headers["Authorization"] = f"{info.scheme or 'Bearer'} {info.token}"
        elif info.username and info.password:
            pair = f"{info.username}:{info.password}".encode()
            headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
        verify: Any = info.as_ssl_context() if info.server.startswith("https") else False
        return httpx.AsyncClient(
            base_url=info.server.rstrip("/"),
            headers=headers,
            verify=verify,
            timeout=self._timeout,
            limits=self._limits,
            transport=self._transport,
            trust_env=bool(info.trust_env),
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The decoded JSON answer; raises a `KubeAPIError` for anything else."""
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if content is not None else {}
        renewed = False
        while True:
            http = await self._client()
            try:
                response = await http.request(
                    method, path, content=content, headers=headers, params=params
                )
            except httpx.HTTPError as error:
                raise KubeUnavailable(0, type(error).__name__, str(error)) from None
            if response.status_code == 401 and not renewed:
                renewed = True
                logger.info("Kubernetes API answered 401; logging in again")
                await self._client(renew=True)
                continue
            if response.status_code >= 400:
                raise _error(response)
            if not response.content:
                return {}
            try:
                decoded = response.json()
            except ValueError:
                raise KubeUnavailable(response.status_code, "InvalidAnswer", "not JSON") from None
            return decoded if isinstance(decoded, dict) else {}

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
