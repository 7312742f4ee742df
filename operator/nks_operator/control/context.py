"""What every reconcile pass shares, built once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nks_operator.control.catalogue import Catalogues
from nks_operator.control.claims import Claims
from nks_operator.control.memory import Memories
from nks_operator.kube.api import KubeAPI
from nks_operator.kube.events import EventPoster
from nks_operator.kube.ownership import Ownerships
from nks_operator.kube.signing import SigningKey
from nks_operator.metrics import OperatorMetrics
from nks_operator.polling.accounts import Accounts
from nks_operator.runtime.cache import ObjectCache, ObjectKey
from nks_operator.runtime.workqueue import WorkQueue
from nks_operator.settings import OperatorSettings


@dataclass
class OperatorContext:
    settings: OperatorSettings
    kube: KubeAPI
    events: EventPoster
    accounts: Accounts
    cache: ObjectCache
    queue: WorkQueue[ObjectKey]
    metrics: OperatorMetrics
    finalizer: str
    # Kept on a credentials Secret while a resource of this operator (shard) refers to it.
    credentials_finalizer: str
    ownerships: Ownerships
    signing: SigningKey
    selector: Mapping[str, str] = field(default_factory=dict)
    memories: Memories = field(default_factory=Memories)
    claims: Claims = field(default_factory=Claims)
    catalogues: Catalogues = field(default_factory=Catalogues)

    def wake(self, key: ObjectKey) -> None:
        self.queue.add(key)

    def wake_children(self, key: ObjectKey) -> None:
        """An NKSCluster changed what its node groups read: they look again."""
        for child in self.cache.children(key.namespace, key.name):
            self.queue.add(child)

    def refresh_nks(self, key: ObjectKey) -> None:
        """Re-read what NKS reports for this resource now (the reconcile-requested
        annotation)."""
        memory = self.memories.get(key)
        if memory is not None and memory.watching is not None:
            poller, cluster_id = memory.watching
            poller.request_refresh(cluster_id)

    def forget(self, key: ObjectKey) -> None:
        """The object is gone from Kubernetes: drop everything kept for it."""
        self.cache.forget(key)
        self.queue.discard(key)
        self.claims.release_all(key)
        memory = self.memories.forget(key)
        if memory is not None and memory.watching is not None:
            poller, cluster_id = memory.watching
            poller.unwatch(cluster_id, key)
        self.metrics.set_managed(key.kind, self.memories.phase_counts(key.kind))
