"""Identity tokens: credentials, the Keystone v2.0 token request and a shared token cache.

NKS accepts only the IaaS (Keystone v2.0) token. There is no refresh call, so a token is
cached per (identity URL, tenant, username, password) and re-issued a margin before it
expires; every client built with the same credentials and the same `TokenCache` shares
one token, and concurrent callers share one in-flight token request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from nks_operator.nks.errors import InvalidResponseError
from nks_operator.nks.models.base import describe_validation_error
from nks_operator.nks.models.identity import CatalogEndpoint, TokenResponse, read_catalog
from nks_operator.nks.operations import Operation
from nks_operator.nks.retry import RetryPolicy, call_with_retries
from nks_operator.nks.transport import JSON_HEADERS, Transport, decode_json

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

DEFAULT_REFRESH_MARGIN = timedelta(minutes=5)
# Used only if the identity service omits `expires` (Keystone always sends it).
FALLBACK_LIFETIME = timedelta(hours=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Credentials(BaseModel):
    """An NHN Cloud API user: project tenant id, user (email or IAM id), API password.

    The API password is not the console password. It is a SecretStr: reprs and logs
    show `**********`.
    """

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    username: str
    password: SecretStr

    def cache_key(self, identity_url: str) -> CacheKey:
        """The token cache key; the password enters only as a hash (a changed password
        must not reuse a token issued for the old one)."""
        digest = hashlib.sha256(self.password.get_secret_value().encode()).hexdigest()
        return CacheKey(identity_url, self.tenant_id, self.username, digest)


@dataclass(frozen=True)
class CacheKey:
    identity_url: str
    tenant_id: str
    username: str
    password_sha256: str = field(repr=False)


@dataclass(frozen=True)
class Token:
    """An issued token; `value` is a SecretStr, so a Token is safe to repr."""

    value: SecretStr
    expires_at: datetime
    obtained_at: datetime  # local clock, when the answer arrived
    issued_at: datetime | None = None  # identity service clock
    tenant_id: str | None = None
    catalog: tuple[CatalogEndpoint, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        # A plain string would show in the dataclass repr.
        if not isinstance(self.value, SecretStr):
            object.__setattr__(self, "value", SecretStr(str(self.value)))

    @property
    def lifetime(self) -> timedelta:
        """Lifetime from the server's own timestamps when it gave both (immune to skew)."""
        start = self.issued_at or self.obtained_at
        return self.expires_at - start

    def endpoint(self, service_type: str, region: str) -> str | None:
        """The catalog's public URL of `service_type` in `region` (any case), if listed."""
        for entry in self.catalog:
            if entry.type == service_type and entry.region.lower() == region.lower():
                return entry.url
        return None

    def refresh_at(self, margin: timedelta) -> datetime:
        """When to stop using the token: `margin` before it expires.

        Capped at half the lifetime so a short-lived token is not re-issued on every
        call, and computed both from the server's expiry and from the lifetime on the
        local clock, taking the earlier, so a skewed clock errs towards renewing early.
        """
        lifetime = max(self.lifetime, timedelta(0))
        early = min(margin, lifetime / 2)
        return min(self.expires_at - early, self.obtained_at + lifetime - early)


class TokenCache:
    """Tokens shared by every NKSClient given this cache; build one per process."""

    def __init__(
        self,
        *,
        refresh_margin: timedelta = DEFAULT_REFRESH_MARGIN,
        clock: Clock = utc_now,
    ) -> None:
        self.refresh_margin = refresh_margin
        self.clock = clock
        self._tokens: dict[CacheKey, Token] = {}
        self._inflight: dict[CacheKey, asyncio.Future[Token]] = {}

    def __len__(self) -> int:
        return len(self._tokens)

    def __repr__(self) -> str:
        return f"TokenCache(tokens={len(self._tokens)}, refresh_margin={self.refresh_margin})"

    def peek(self, key: CacheKey) -> Token | None:
        """The cached token for `key` if it is still fresh, without issuing one."""
        token = self._tokens.get(key)
        if token is not None and self.clock() < token.refresh_at(self.refresh_margin):
            return token
        return None

    async def get(self, key: CacheKey, issue: Callable[[], Awaitable[Token]]) -> Token:
        """A fresh token for `key`, calling `issue` only when none is cached.

        Concurrent callers for one key await the same `issue` call and share its
        token or its error. A caller being cancelled does not cancel the request the
        others wait for.
        """
        token = self.peek(key)
        if token is not None:
            return token
        future = self._inflight.get(key)
        if future is not None and future.get_loop() is not asyncio.get_running_loop():
            future = None  # left over from an event loop that ended mid-request
        if future is None:
            future = asyncio.ensure_future(self._issue(key, issue))
            # Retrieve the exception even if every waiter was cancelled.
            future.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._inflight[key] = future
        return await asyncio.shield(future)

    async def _issue(self, key: CacheKey, issue: Callable[[], Awaitable[Token]]) -> Token:
        try:
            token = await issue()
            self._tokens[key] = token
            return token
        finally:
            self._inflight.pop(key, None)

    def invalidate(self, key: CacheKey, token: Token | None = None) -> None:
        """Forget the token for `key` - only if it is still `token`, when given.

        After a 401 several callers may invalidate the same rejected token; only the
        first drops it, the rest find the replacement already cached.
        """
        cached = self._tokens.get(key)
        if cached is None:
            return
        if token is None or cached.value.get_secret_value() == token.value.get_secret_value():
            del self._tokens[key]

    def clear(self) -> None:
        self._tokens.clear()


async def issue_token(
    transport: Transport,
    tokens_url: str,
    credentials: Credentials,
    *,
    retry: RetryPolicy,
    clock: Clock = utc_now,
) -> Token:
    """POST /v2.0/tokens. Transient failures are retried (a spare token is harmless);
    a 401 raises AuthenticationError."""
    operation = Operation.ISSUE_TOKEN
    password = credentials.password.get_secret_value()
    body = {
        "auth": {
            "tenantId": credentials.tenant_id,
            "passwordCredentials": {"username": credentials.username, "password": password},
        }
    }

    async def attempt() -> Token:
        response = await transport.send(
            operation,
            operation.route.method,
            tokens_url,
            headers=JSON_HEADERS,
            json_body=body,
            expected=(200, 201, 203),
            secrets=(password,),
            identity=True,
        )
        obtained_at = clock()
        answer = decode_json(response, operation)
        try:
            info = TokenResponse.model_validate(answer).access.token
        except ValidationError as exc:
            raise InvalidResponseError(
                f"unexpected identity answer: {describe_validation_error(exc)}",
                operation=operation,
                status_code=response.status_code,
            ) from None
        expires_at = info.expires
        if expires_at is None:
            logger.warning(
                "identity token answer has no usable expiry; assuming %s", FALLBACK_LIFETIME
            )
            expires_at = obtained_at + FALLBACK_LIFETIME
        return Token(
            value=info.id,
            expires_at=expires_at,
            obtained_at=obtained_at,
            issued_at=info.issued_at,
            tenant_id=info.tenant.id if info.tenant else None,
            catalog=read_catalog(answer),
        )

    token = await call_with_retries(attempt, policy=retry, operation=operation, write=False)
    logger.info(
        "issued NKS identity token for tenant %s user %s, expires %s",
        credentials.tenant_id,
        credentials.username,
        token.expires_at.isoformat(),
    )
    return token
