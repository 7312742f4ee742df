"""An async Kubernetes REST client, logged in the way kopf logs in; httpx's interface over
aiohttp's connections (aiohttp_transport.py).

The operator makes a handful of calls of its own (status and metadata patches, Secrets,
fresh reads); kopf does the watching. Both get their `kopf.ConnectionInfo` from the same
login (kube/login.py: kubeconfig, exec plugins, in-cluster), so whatever kopf can watch
with, this client can write with. A 401 re-runs the login once, and so does the end of
the credentials' `expiration` (exec plugin tokens expire; service account tokens are
rotated on disk). The login runs in a thread: an exec plugin may take a while.

Errors: `KubeNotFound` (404), `KubeConflict` (409), `KubeAPIError` for other answers, and
`KubeUnavailable` for transport failures, timeouts, 429 and 5xx - the ones a retry may fix.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import kopf

from nks_operator.aiohttp_transport import pooled_client
from nks_operator.kube.login import LoginError, NoCredentials

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


class LoginFailed(KubeUnavailable):
    """The login itself failed (a kubeconfig that became unusable, an exec plugin failing
    at a renewal): `message` says why; later attempts log in again."""


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
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self._login = login
        self._clock = clock  # what the credentials' expiration is compared with
        self._max_connections = max_connections
        self._timeout = timeout
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._expiration: datetime.datetime | None = None
        self._lock = asyncio.Lock()

    def _expired(self) -> bool:
        return self._expiration is not None and self._clock() >= self._expiration

    async def _client(self, *, refused: httpx.AsyncClient | None = None) -> httpx.AsyncClient:
        """The client to send with; a new login when there is none yet, when it expired, or
        when `refused` (answered 401) is still the current one."""
        async with self._lock:
            current = self._http
            if current is not None and current is not refused and not self._expired():
                return current
            try:
                info = await asyncio.to_thread(self._login)
            except NoCredentials as error:
                raise LoginMissing(str(error)) from None
            except LoginError as error:  # e.g. an exec plugin failing at a renewal
                raise LoginFailed(0, "LoginFailed", str(error)) from None
            if info is None:
                raise LoginMissing("no service account and no kubeconfig to log in with")
            expiration = info.expiration
            if expiration is not None and expiration.tzinfo is None:
                expiration = expiration.replace(tzinfo=datetime.UTC)
            self._expiration = expiration
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
        base_url = info.server.rstrip("/")
        if self._transport is None:
            return pooled_client(
                timeout=self._timeout,
                max_connections=self._max_connections,
                verify=verify,
                proxy=info.proxy_url or None,
                trust_env=bool(info.trust_env),
                base_url=base_url,
                headers=headers,
            )
        return httpx.AsyncClient(  # a test's transport
            base_url=base_url, headers=headers, timeout=self._timeout, transport=self._transport
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
                await self._client(refused=http)
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
