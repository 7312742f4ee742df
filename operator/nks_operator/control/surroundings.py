"""What an adapter may use besides NKS: a narrow handle on the operator, bound to one
resource, instead of the operator context with every client."""

from __future__ import annotations

from typing import Any

from nks_operator.api.resources import CLUSTER
from nks_operator.control.context import OperatorContext
from nks_operator.kube import credentials as kube_credentials
from nks_operator.kube.api import Secret
from nks_operator.polling.accounts import Account
from nks_operator.reconcile.addons import Catalogue
from nks_operator.runtime.cache import ObjectKey


class Surroundings:
    """Kubernetes-side reads and writes of one resource (its Secrets, its NKSCluster),
    the operator's signature, and what the resource's siblings hold (claims, ownership
    records, the account's add-on catalogue)."""

    def __init__(self, ctx: OperatorContext, key: ObjectKey) -> None:
        self._ctx = ctx
        self._key = key

    # -- Secrets ------------------------------------------------------------------------------

    async def read_secret(self, namespace: str, name: str) -> Secret | None:
        return await self._ctx.kube.read_secret(namespace, name)

    async def write_secret(self, namespace: str, secret: Secret, current: Secret | None) -> None:
        await self._ctx.kube.write_secret(namespace, secret, current)

    async def delete_secret(self, namespace: str, existing: Secret) -> None:
        await self._ctx.kube.delete_secret(namespace, existing)

    async def secret_keys(self, refs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Values of (Secret, key) references in the resource's namespace; raises
        CredentialsProblem when one is missing."""
        return await kube_credentials.resolve_secret_keys(self._ctx.kube, self._key.namespace, refs)

    async def sign(self, *parts: str) -> str:
        return await self._ctx.signing.sign(*parts)

    # -- the parent NKSCluster and the siblings -------------------------------------------------

    async def cluster_object(self, name: str, *, fresh: bool = False) -> dict[str, Any] | None:
        """An NKSCluster of the resource's namespace: as the watch delivered it, or read
        when not seen (or `fresh`)."""
        key = ObjectKey(CLUSTER.kind, self._key.namespace, name)
        body = None if fresh else self._ctx.cache.get(key)
        if body is None:
            body = await self._ctx.kube.get_object(CLUSTER, self._key.namespace, name)
        return body

    async def cluster_owned_by(self, cluster_id: str, uid: str) -> bool | None:
        """Whether the ownership record of NKS cluster `cluster_id` names `uid`; None when
        there is no record yet."""
        return await self._ctx.ownerships.owned_by("cluster", cluster_id, uid)

    def claimed_by_other(self, cluster_id: str, read_at: float | None) -> bool:
        """Another resource's operation on the cluster may not show in a read made at
        `read_at` yet."""
        return self._ctx.claims.held_by_other(cluster_id, self._key, read_at=read_at)

    async def catalogue(self, account: Account) -> Catalogue:
        """The account's add-on catalogue (cached)."""
        return await self._ctx.catalogues.get(account, self._ctx.settings.supports_ttl_seconds)
