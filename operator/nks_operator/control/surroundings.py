"""What an adapter may use besides NKS: a narrow handle on the operator, bound to one
resource, instead of the operator context with every client."""

from __future__ import annotations

from typing import Any, TypeVar

from nks_operator.api.cluster import ArgoCDRegistration
from nks_operator.api.resources import CLUSTER
from nks_operator.control.context import OperatorContext
from nks_operator.control.memory import ResourceMemory
from nks_operator.kube import credentials as kube_credentials
from nks_operator.kube.api import Secret
from nks_operator.polling.accounts import Account
from nks_operator.reconcile import policy
from nks_operator.reconcile.addons import Catalogue
from nks_operator.runtime.cache import ObjectKey

KeptT = TypeVar("KeptT")


class Surroundings:
    """Kubernetes-side reads and writes of one resource (its Secrets, its NKSCluster),
    the operator's signature, what the resource's siblings hold (claims, ownership
    records, the account's add-on catalogue), what the adapter keeps of the resource
    between passes, and the few settings an adapter reads."""

    def __init__(self, ctx: OperatorContext, key: ObjectKey, memory: ResourceMemory) -> None:
        self._ctx = ctx
        self._key = key
        self._memory = memory

    # -- between passes and the operator's settings ---------------------------------------------

    def remembered(self, kind: type[KeptT]) -> KeptT:
        """What the adapter keeps of this resource between passes (a `kind()` at first, and
        again after a restart: never persisted)."""
        kept = self._memory.kept
        if not isinstance(kept, kind):
            kept = self._memory.kept = kind()
        return kept

    @property
    def slow_seconds(self) -> float:
        """The slow resync: what NKS shows only on request is read again this often."""
        return self._ctx.settings.slow_poll_seconds

    @property
    def fast_seconds(self) -> float:
        """The fast poll: how soon to look again at what is about to change."""
        return self._ctx.settings.fast_poll_seconds

    @property
    def argocd_namespace(self) -> str:
        """Where Argo CD's cluster Secrets go."""
        return self._ctx.settings.argocd_namespace

    def argocd_refusals(self, registration: ArgoCDRegistration | None) -> list[str]:
        """Why the admin's policy does not permit this Argo CD registration of the
        resource's namespace; empty when it does."""
        return policy.argocd_refusals(self._ctx.settings, self._key.namespace, registration)

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

    async def cluster_object(self, name: str) -> dict[str, Any] | None:
        """An NKSCluster of the resource's namespace: as the watch delivered it, or read
        when the watch has not shown it. Only the apiserver's answer says it is gone (a
        node group whose cluster is gone is released without an NKS call, so a stale
        "gone" could leak it in NKS). One the watch still shows for a moment after its
        deletion only means the group's own deletion policy is carried out in NKS, which
        answers for the cluster it names."""
        key = ObjectKey(CLUSTER.kind, self._key.namespace, name)
        body = self._ctx.cache.get(key)
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
