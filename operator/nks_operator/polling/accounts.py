"""Accounts: one NKS client, one poller and one supported-versions cache per
(credentials, region, endpoints), shared by every resource that uses them."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from nks_operator.kube.credentials import ResolvedCredentials
from nks_operator.nks import NKSClient, TokenCache
from nks_operator.nks.auth import Credentials
from nks_operator.nks.compute import ComputeClient, Server
from nks_operator.nks.listing import Listing
from nks_operator.nks.metrics import MetricsHook
from nks_operator.nks.retry import RetryPolicy
from nks_operator.polling.poller import AccountPoller
from nks_operator.settings import OperatorSettings

# The poller and the work queue back off on their own: a read retried inside the client
# as well would multiply the calls of every failing poll. Writes keep the retries that
# prove the request was never executed (429, a connection never made).
OPERATOR_RETRIES = RetryPolicy(retry_reads=False)


@dataclass(frozen=True)
class AccountKey:
    tenant_id: str
    username: str
    password_digest: str  # a changed password is a new account (old tokens are revoked)
    region: str
    identity_url: str | None
    nks_url: str | None

    @property
    def label(self) -> str:
        """For logs: no secret, only the tenant and region."""
        return f"{self.tenant_id}/{self.region}"


def account_key(credentials: ResolvedCredentials, region: str) -> AccountKey:
    digest = hashlib.sha256(credentials.password.get_secret_value().encode()).hexdigest()[:16]
    return AccountKey(
        credentials.tenant_id,
        credentials.username,
        digest,
        region.lower(),
        credentials.identity_url,
        credentials.nks_url,
    )


class Account:
    """What every resource of one (credentials, region) shares."""

    def __init__(
        self,
        key: AccountKey,
        client: NKSClient,
        poller: AccountPoller,
        ttl: float,
        servers_ttl: float = 10.0,
    ):
        self.key = key
        self.client = client
        self.poller = poller
        self._supports: Mapping[str, bool] | None = None
        self._supports_at = -1e9
        self._ttl = ttl
        self._supports_lock = asyncio.Lock()
        self._compute: ComputeClient | None = None
        self._servers: Listing[Server] | None = None
        self._servers_at = -1e9
        self._servers_ttl = servers_ttl
        self._servers_read: asyncio.Task[Listing[Server]] | None = None

    async def servers(self) -> Listing[Server]:
        """The project's compute servers (node instances), one listing shared by every node
        group of the account and kept for `servers_ttl` (read again after a stop/start)."""
        if self._servers is not None and time.monotonic() - self._servers_at < self._servers_ttl:
            return self._servers
        if self._servers_read is None:
            if self._compute is None:
                self._compute = ComputeClient.sharing(self.client)
            self._servers_read = asyncio.ensure_future(self._compute.list_servers())
        task = self._servers_read
        try:
            servers = await asyncio.shield(task)
        finally:
            if self._servers_read is task and task.done():
                self._servers_read = None
        self._servers, self._servers_at = servers, time.monotonic()
        return servers

    def forget_servers(self) -> None:
        """A node was stopped or started: read the servers again next time."""
        self._servers = None

    async def supported_versions(self) -> Mapping[str, bool]:
        """GET /v1/supports, cached: the list changes a few times a year."""
        async with self._supports_lock:
            if self._supports is None or time.monotonic() - self._supports_at > self._ttl:
                supports = await self.client.get_supports()
                self._supports = {v: bool(ok) for v, ok in supports.supported_k8s.items()}
                self._supports_at = time.monotonic()
            return self._supports


class Accounts:
    """Built once at start-up; hands out shared accounts."""

    def __init__(
        self,
        settings: OperatorSettings,
        *,
        wake: Callable[[Hashable], None],
        metrics: MetricsHook | None = None,
        token_cache: TokenCache | None = None,
    ) -> None:
        self.settings = settings
        self.token_cache = token_cache or TokenCache()
        self._wake = wake
        self._metrics = metrics
        self._accounts: dict[AccountKey, Account] = {}

    def get(self, credentials: ResolvedCredentials, region: str) -> Account:
        key = account_key(credentials, region)
        account = self._accounts.get(key)
        if account is None:
            client = NKSClient(
                Credentials(
                    tenant_id=credentials.tenant_id,
                    username=credentials.username,
                    password=credentials.password,
                ),
                region=key.region,
                nks_url=credentials.nks_url,
                identity_url=credentials.identity_url,
                token_cache=self.token_cache,
                retry=OPERATOR_RETRIES,
                metrics=self._metrics,
            )
            poller = AccountPoller(
                client,
                fast_seconds=self.settings.fast_poll_seconds,
                slow_seconds=self.settings.slow_poll_seconds,
                jitter_fraction=self.settings.jitter_fraction,
                name=key.label,
                per_resource=self.settings.polling_mode == "per-resource",
                wake=self._wake,
            )
            account = Account(key, client, poller, self.settings.supports_ttl_seconds)
            self._accounts[key] = account
        return account

    def __len__(self) -> int:
        return len(self._accounts)

    async def close(self) -> None:
        for account in self._accounts.values():
            await account.poller.close()
            await account.client.aclose()
        self._accounts.clear()
