"""Accounts: one NKS client, one poller, one supported-versions cache and one limit on
concurrent passes per (credentials, region, endpoints), shared by every resource that uses
them."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from dataclasses import dataclass

from nks_operator.aiohttp_transport import AiohttpTransport
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
# Connections to NKS and identity, all accounts together: more than the passes and polls
# that can be in flight at once with the default settings.
NKS_CONNECTIONS = 64


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
    """What every resource of one (credentials, region) shares.

    Pass slots: the operator's workers are shared by every account, and a pass waiting on
    a slow or hostile endpoint holds its worker for up to a call timeout per call. A pass
    that may call NKS first takes one of the account's `pass_slots` slots, so one account
    never holds more than that many workers:

        if not await account.acquire_pass_slot(wait):
            ...  # every slot busy for `wait` seconds: requeue, free the worker
        try:
            ...  # the pass
        finally:
            account.release_pass_slot()

    or `async with account.pass_slot(wait) as acquired: ...`. Slots are granted in the
    order they were asked for.
    """

    def __init__(
        self,
        key: AccountKey,
        client: NKSClient,
        poller: AccountPoller,
        ttl: float,
        servers_ttl: float = 10.0,
        *,
        pass_slots: int,
    ):
        if pass_slots < 1:
            raise ValueError("an account needs at least one pass slot")
        self.key = key
        self.pass_slots = pass_slots
        self._pass_slots = asyncio.BoundedSemaphore(pass_slots)
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

    async def acquire_pass_slot(self, wait: float) -> bool:
        """Take a pass slot, waiting at most `wait` seconds (0: only if one is free now);
        False when none freed in time. Every True must be matched by
        `release_pass_slot()`."""
        try:
            async with asyncio.timeout(max(wait, 0.0)):
                await self._pass_slots.acquire()
        except TimeoutError:
            return False
        return True

    def release_pass_slot(self) -> None:
        """Give back a slot taken by `acquire_pass_slot` (ValueError if none was taken)."""
        self._pass_slots.release()

    @contextlib.asynccontextmanager
    async def pass_slot(self, wait: float) -> AsyncIterator[bool]:
        """`acquire_pass_slot` / `release_pass_slot` as a context: yields whether a slot
        was taken, and gives it back on leaving."""
        acquired = await self.acquire_pass_slot(wait)
        try:
            yield acquired
        finally:
            if acquired:
                self.release_pass_slot()

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
        # Parsed once; the settings were validated, so it cannot fail here.
        self.policy = settings.endpoint_policy()
        self.token_cache = token_cache or TokenCache()
        self._wake = wake
        self._metrics = metrics
        self._accounts: dict[AccountKey, Account] = {}
        # One connection pool for every account (aiohttp_transport.py says why aiohttp).
        self._http = AiohttpTransport(max_connections=NKS_CONNECTIONS)

    def get(self, credentials: ResolvedCredentials, region: str) -> Account:
        """The shared account; a new one's NKS and identity URLs must be allowed by the
        settings' endpoint policy (EndpointNotAllowedError, before any request)."""
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
                http=self._http,
                retry=OPERATOR_RETRIES,
                metrics=self._metrics,
                policy=self.policy,
                max_answer_bytes=self.settings.max_answer_bytes,
                call_timeout=self.settings.call_timeout_seconds,
            )
            poller = AccountPoller(
                client,
                fast_seconds=self.settings.fast_poll_seconds,
                slow_seconds=self.settings.slow_poll_seconds,
                jitter_fraction=self.settings.jitter_fraction,
                name=key.label,
                wake=self._wake,
            )
            account = Account(
                key,
                client,
                poller,
                self.settings.supports_ttl_seconds,
                pass_slots=self.settings.pass_slots_per_account,
            )
            self._accounts[key] = account
        return account

    def __len__(self) -> int:
        return len(self._accounts)

    async def close(self) -> None:
        for account in self._accounts.values():
            await account.poller.close()
            await account.client.aclose()
        self._accounts.clear()
        await self._http.aclose()
