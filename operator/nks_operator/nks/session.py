"""Authenticated requests for one set of credentials: what NKSClient and ComputeClient share.

A `Session` holds the credentials, the shared token cache, the transport (its wire,
the endpoint policy and the answer/call bounds), the retry policy and the metrics
hook. `send` adds the token, retries safely and re-authenticates once on a 401; the API
clients on top only build URLs and bodies.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from nks_operator.nks.allowlist import EndpointPolicy
from nks_operator.nks.auth import Credentials, Token, TokenCache, issue_token
from nks_operator.nks.endpoints import TOKENS_PATH
from nks_operator.nks.errors import UnauthorizedError
from nks_operator.nks.masking import secret_values
from nks_operator.nks.metrics import MetricsHook
from nks_operator.nks.models import NKSModel
from nks_operator.nks.operations import Operation
from nks_operator.nks.retry import RetryPolicy, call_with_retries
from nks_operator.nks.transport import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_MAX_ANSWER_BYTES,
    DEFAULT_TIMEOUT,
    HTTP,
    JSON_HEADERS,
    Transport,
    check_endpoint,
)

logger = logging.getLogger(__name__)


def client_policy(policy: EndpointPolicy | None, *urls: str | None) -> EndpointPolicy:
    """The policy a client checks its requests against: `policy` when given, and its
    configured `urls` must then be allowed (EndpointNotAllowedError now, before any
    request); None: NHN Cloud's public hosts plus `urls` - the caller vouches for the URLs
    it passes, while discovered ones (catalog endpoints) must still match."""
    if policy is None:
        return EndpointPolicy.from_entries((), trusted=urls)
    for url in urls:
        if url:
            check_endpoint(policy, url)
    return policy


class Session:
    """Token, retries and transport for one (credentials, identity URL).

    `policy`: the endpoints requests may go to (`client_policy`); `max_answer_bytes` and
    `call_timeout` bound every attempt (`transport`).
    """

    def __init__(
        self,
        credentials: Credentials,
        identity_url: str,
        *,
        token_cache: TokenCache | None = None,
        http: HTTP | None = None,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        metrics: MetricsHook | None = None,
        policy: EndpointPolicy | None = None,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        self.policy = client_policy(policy, identity_url)
        self.credentials = credentials
        self.identity_url = identity_url  # base URL, as `Endpoints.identity`
        self.tokens_url = identity_url + TOKENS_PATH
        self.retry = retry or RetryPolicy()
        self.token_cache = token_cache if token_cache is not None else TokenCache()
        self.cache_key = credentials.cache_key(identity_url)
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        elif not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout)
        self.transport = Transport(
            http,
            policy=self.policy,
            timeout=timeout,
            metrics=metrics,
            max_answer_bytes=max_answer_bytes,
            call_timeout=call_timeout,
        )

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def token(self) -> Token:
        """A fresh token (cached and shared); raises AuthenticationError for bad credentials."""
        return await self.token_cache.get(self.cache_key, self._issue_token)

    async def _issue_token(self) -> Token:
        return await issue_token(
            self.transport,
            self.tokens_url,
            self.credentials,
            retry=self.retry,
            clock=self.token_cache.clock,
        )

    async def send(
        self,
        operation: Operation,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: NKSModel | None = None,
        params: Mapping[str, str] | None = None,
        expected: Sequence[int] = (200,),
    ) -> httpx.Response:
        """Send `operation` with the token and retries; one re-authentication on a 401.

        A 401 means the request was not executed, so repeating it - even a write - once
        with a new token is safe.
        """
        json_body: Any = body.to_wire() if body is not None else None
        request_secrets = (self.credentials.password.get_secret_value(), *secret_values(body))
        reauthenticated = False
        while True:
            token = await self.token()
            secret = token.value.get_secret_value()
            all_headers = {**JSON_HEADERS, **(headers or {}), "X-Auth-Token": secret}

            async def attempt(
                all_headers: dict[str, str] = all_headers, secret: str = secret
            ) -> httpx.Response:
                return await self.transport.send(
                    operation,
                    operation.route.method,
                    url,
                    headers=all_headers,
                    expected=expected,
                    json_body=json_body,
                    params=params,
                    secrets=(secret, *request_secrets),
                )

            try:
                return await call_with_retries(
                    attempt, policy=self.retry, operation=operation, write=operation.is_write
                )
            except UnauthorizedError:
                if reauthenticated:
                    raise
                reauthenticated = True
                logger.info("%s answered 401; re-authenticating once", operation)
                self.token_cache.invalidate(self.cache_key, token)
