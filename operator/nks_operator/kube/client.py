"""An async Kubernetes REST client over aiohttp (kube/wire.py), logged in the way kopf
logs in.

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
import datetime
import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import kopf

from nks_operator import json_answers
from nks_operator.kube.login import LoginError, NoCredentials
from nks_operator.kube.wire import (
    MAX_ANSWER_BYTES,
    REQUEST_DEADLINE_SECONDS,
    AiohttpWire,
    Answer,
    HttpxWire,
    Wire,
    WireError,
)

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


def _error(answer: Answer) -> KubeAPIError:
    reason, message = answer.reason, ""
    try:
        body = json_answers.loads(answer.body)
    except ValueError:
        body = None
    if isinstance(body, dict):
        reason = str(body.get("reason") or reason)
        message = str(body.get("message") or "")
    status = answer.status
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
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        deadline: float = REQUEST_DEADLINE_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self._login = login
        self._clock = clock  # what the credentials' expiration is compared with
        self._max_connections = max_connections
        self._max_answer_bytes = max_answer_bytes
        self._timeout = timeout
        self._deadline = deadline
        self._transport = transport
        self._wire: Wire | None = None
        self._expiration: datetime.datetime | None = None
        self._lock = asyncio.Lock()

    def _expired(self) -> bool:
        return self._expiration is not None and self._clock() >= self._expiration

    async def _client(self, *, refused: Wire | None = None) -> Wire:
        """The wire to send with; a new login when there is none yet, when it expired, or
        when `refused` (answered 401) is still the current one."""
        async with self._lock:
            current = self._wire
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
            wire = self._build(info)
            old, self._wire = self._wire, wire
        if old is not None:
            await old.aclose()
        return wire

    def _build(self, info: kopf.ConnectionInfo) -> Wire:
        if self._transport is not None:  # a unit test's
            return HttpxWire(info, timeout=self._timeout, transport=self._transport)
        return AiohttpWire(
            info,
            timeout=self._timeout,
            max_connections=self._max_connections,
            max_answer_bytes=self._max_answer_bytes,
            deadline=self._deadline,
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
        content = None if body is None else json_answers.dumps(body)
        headers = {"Content-Type": content_type} if content is not None else {}
        renewed = False
        while True:
            wire = await self._client()
            try:
                answer = await wire.send(method, path, content, headers, params)
            except WireError as error:
                raise KubeUnavailable(0, error.name, error.detail) from None
            if answer.status == 401 and not renewed:
                renewed = True
                logger.info("Kubernetes API answered 401; logging in again")
                await self._client(refused=wire)
                continue
            if answer.status >= 300:  # a redirect is never followed: not an answer
                raise _error(answer)
            if not answer.body:
                return {}
            try:
                decoded = json_answers.loads(answer.body)
            except ValueError:
                raise KubeUnavailable(answer.status, "InvalidAnswer", "not JSON") from None
            return decoded if isinstance(decoded, dict) else {}

    async def aclose(self) -> None:
        if self._wire is not None:
            await self._wire.aclose()
            self._wire = None
