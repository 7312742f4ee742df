"""Fixtures for the NKS client's unit tests: a respx-mocked NKS and identity service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from nks_operator.nks import Credentials, NKSClient, RetryPolicy, TokenCache

NKS_URL = "https://nks.test"
IDENTITY_URL = "https://identity.test"
TOKENS_URL = IDENTITY_URL + "/v2.0/tokens"
PASSWORD = "s3cret-API-passw0rd"
TOKEN = "gAAAAA-token-value-0001"


def token_body(
    token: str = TOKEN,
    *,
    expires: datetime | None = None,
    issued_at: datetime | None = None,
) -> dict[str, Any]:
    """A Keystone v2.0 token answer (docs/nks-api-notes.md, "Authentication")."""
    issued_at = issued_at or datetime.now(UTC)
    expires = expires or issued_at + timedelta(hours=12)
    return {
        "access": {
            "token": {
                "id": token,
                "expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "issued_at": issued_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                "tenant": {"id": "tenant-1", "name": "project", "enabled": True},
            },
            "serviceCatalog": [],
            "user": {"id": "user-id", "name": "me@example.com"},
            "metadata": {"is_admin": 0, "roles": []},
        }
    }


class FakeSleep:
    """Records requested delays instead of sleeping, so retry tests run instantly."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(tenant_id="tenant-1", username="me@example.com", password=PASSWORD)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def retry_policy(fake_sleep: FakeSleep) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=4, initial_backoff=0.01, max_backoff=0.05, jitter=False, sleep=fake_sleep
    )


@pytest.fixture
def mock_api() -> Iterator[respx.MockRouter]:
    """respx router: every request must match a route; the token route is preset."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.post(TOKENS_URL, name="token").mock(
            return_value=httpx.Response(200, json=token_body())
        )
        yield router


@pytest.fixture
def token_cache() -> TokenCache:
    return TokenCache()


@pytest.fixture
async def client(
    credentials: Credentials,
    mock_api: respx.MockRouter,
    retry_policy: RetryPolicy,
    token_cache: TokenCache,
) -> AsyncIterator[NKSClient]:
    async with NKSClient(
        credentials,
        "kr1",
        nks_url=NKS_URL,
        identity_url=IDENTITY_URL,
        token_cache=token_cache,
        retry=retry_policy,
    ) as nks:
        yield nks
