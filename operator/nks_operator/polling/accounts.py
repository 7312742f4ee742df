"""Accounts: one NKS client, one poller and one supported-versions cache per
(credentials, region, endpoints), shared by every resource that uses them."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from nks_operator.kube.credentials import ResolvedCredentials
from nks_operator.metrics import nks_request_hook
from nks_operator.nks import DeleteResult, NKSClient, TokenCache
from nks_operator.nks.auth import Credentials
from nks_operator.nks.models import (
    AutoscalerUpdate,
    ClusterCreateRequest,
    IPACLTarget,
    NodeGroupCreateRequest,
)
from nks_operator.polling.poller import AccountPoller
from nks_operator.settings import OperatorSettings


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
        region,
        credentials.identity_url,
        credentials.nks_url,
    )


def wire(value: Any) -> Any:
    """Client models -> plain JSON-like data (the poller and reconcile/ read wire names)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list):
        return [wire(item) for item in value]
    return value


class Gateway:
    """The NKS calls the operator makes, as wire dicts, over one client."""

    def __init__(self, client: NKSClient) -> None:
        self.client = client

    async def list_clusters(self) -> list[dict[str, Any]]:
        return wire(await self.client.list_clusters())

    async def get_cluster(self, cluster_id: str) -> dict[str, Any]:
        return wire(await self.client.get_cluster(cluster_id))

    async def list_nodegroups(self, cluster_id: str) -> list[dict[str, Any]]:
        return wire(await self.client.list_nodegroups(cluster_id))

    async def get_nodegroup(self, cluster_id: str, nodegroup_id: str) -> dict[str, Any]:
        return wire(await self.client.get_nodegroup(cluster_id, nodegroup_id))

    async def list_events(self, cluster_id: str) -> list[dict[str, Any]]:
        return wire(await self.client.list_events(cluster_id))

    async def get_supports(self) -> dict[str, bool]:
        supports = await self.client.get_supports()
        return dict(supports.supported_k8s)

    async def get_kubeconfig(self, cluster_id: str) -> str:
        return (await self.client.get_kubeconfig(cluster_id)).get_secret_value()

    async def create_cluster(self, body: dict[str, Any]) -> str:
        return await self.client.create_cluster(ClusterCreateRequest.model_validate(body))

    async def delete_cluster(self, cluster_id: str) -> bool:
        """True when NKS accepted the delete, False when the cluster was already gone."""
        return await self.client.delete_cluster(cluster_id) is DeleteResult.ACCEPTED

    async def create_nodegroup(self, cluster_id: str, body: dict[str, Any]) -> str:
        group = await self.client.create_nodegroup(
            cluster_id, NodeGroupCreateRequest.model_validate(body)
        )
        return str(group.uuid)

    async def delete_nodegroup(self, cluster_id: str, nodegroup_id: str) -> bool:
        result = await self.client.delete_nodegroup(cluster_id, nodegroup_id)
        return result is DeleteResult.ACCEPTED

    # -- day-2 operations: `reconcile.day2.Action.method` names these ---------------------

    async def resize_cluster(self, cluster_id: str, **args: Any) -> None:
        await self.client.resize_cluster(cluster_id, **args)

    async def upgrade_nodegroup(self, cluster_id: str, nodegroup: str, **args: Any) -> None:
        await self.client.upgrade_nodegroup(cluster_id, nodegroup, **args)

    async def change_flavor(self, cluster_id: str, nodegroup: str, **args: Any) -> None:
        await self.client.change_flavor(cluster_id, nodegroup, **args)

    async def set_autoscaler(self, cluster_id: str, nodegroup: str, config: dict[str, Any]) -> None:
        await self.client.set_autoscaler(
            cluster_id, nodegroup, AutoscalerUpdate.model_validate(config)
        )

    async def stop_nodes(self, cluster_id: str, nodegroup: str, node_ids: list[str]) -> None:
        await self.client.stop_nodes(cluster_id, nodegroup, node_ids)

    async def start_nodes(self, cluster_id: str, nodegroup: str, node_ids: list[str]) -> None:
        await self.client.start_nodes(cluster_id, nodegroup, node_ids)

    async def update_user_script(self, cluster_id: str, nodegroup: str, contents: str) -> None:
        await self.client.update_user_script(cluster_id, nodegroup, contents)

    async def update_cni(self, cluster_id: str, **args: Any) -> None:
        await self.client.update_cni(cluster_id, **args)

    async def set_ip_acl(
        self,
        cluster_id: str,
        enable: bool,
        action: str | None = None,
        targets: list[dict[str, Any]] | None = None,
    ) -> None:
        await self.client.set_ip_acl(
            cluster_id,
            enable=enable,
            action=action,  # type: ignore[arg-type]
            targets=None if targets is None else [IPACLTarget(**t) for t in targets],
        )

    async def get_ip_acl(self, cluster_id: str) -> dict[str, Any]:
        return wire(await self.client.get_ip_acl(cluster_id))

    async def renew_certificate(self, cluster_id: str, term_of_validity: int) -> None:
        await self.client.renew_certificate(cluster_id, term_of_validity=term_of_validity)

    async def update_service_gateway(self, cluster_id: str, **args: Any) -> None:
        await self.client.update_service_gateway(cluster_id, **args)


class Account:
    def __init__(self, key: AccountKey, gateway: Gateway, poller: AccountPoller, ttl: float):
        self.key = key
        self.gateway = gateway
        self.poller = poller
        self._supports: Mapping[str, bool] | None = None
        self._supports_at = -1e9
        self._ttl = ttl
        self._supports_lock = asyncio.Lock()

    async def supported_versions(self) -> Mapping[str, bool]:
        """GET /v1/supports, cached: the list changes a few times a year."""
        async with self._supports_lock:
            if self._supports is None or time.monotonic() - self._supports_at > self._ttl:
                self._supports = await self.gateway.get_supports()
                self._supports_at = time.monotonic()
            return self._supports


class Accounts:
    """Built once at start-up; hands out shared accounts."""

    def __init__(self, settings: OperatorSettings, token_cache: TokenCache | None = None) -> None:
        self.settings = settings
        self.token_cache = token_cache or TokenCache()
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
                region=region,
                nks_url=credentials.nks_url,
                identity_url=credentials.identity_url,
                token_cache=self.token_cache,
                metrics=nks_request_hook,
            )
            gateway = Gateway(client)
            poller = AccountPoller(
                gateway,
                fast_seconds=self.settings.fast_poll_seconds,
                slow_seconds=self.settings.slow_poll_seconds,
                jitter_fraction=self.settings.jitter_fraction,
                name=key.label,
                per_resource=self.settings.polling_mode == "per-resource",
            )
            account = Account(key, gateway, poller, self.settings.supports_ttl_seconds)
            self._accounts[key] = account
        return account

    async def close(self) -> None:
        for account in self._accounts.values():
            await account.poller.close()
            await account.gateway.client.aclose()
        self._accounts.clear()
