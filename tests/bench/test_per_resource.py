"""The benchmark's per-resource polling baseline (bench/per_resource.py): one GET per
watched cluster per cycle and no list."""

from __future__ import annotations

from collections import Counter

import pytest

from bench import per_resource
from nks_operator.nks import errors
from nks_operator.nks.models import Cluster, NodeGroup, TaskEvent
from nks_operator.polling import accounts


class FakeNKS:
    """Clusters in memory; counts the calls the poller makes."""

    def __init__(self, *ids: str) -> None:
        self.calls: Counter[str] = Counter()
        self.clusters = {i: {"uuid": i, "name": i, "status": "CREATE_COMPLETE"} for i in ids}

    async def list_clusters(self) -> list[Cluster]:
        self.calls["list_clusters"] += 1
        return [Cluster.model_validate(c) for c in self.clusters.values()]

    async def get_cluster(self, cluster: str) -> Cluster:
        self.calls["get_cluster"] += 1
        if cluster not in self.clusters:
            raise errors.NotFoundError("gone", status_code=404)
        return Cluster.model_validate({**self.clusters[cluster], "api_address": "https://x"})

    async def list_nodegroups(self, cluster: str) -> list[NodeGroup]:
        return [NodeGroup.model_validate({"uuid": "w", "name": "w", "status": "CREATE_COMPLETE"})]

    async def get_nodegroup(self, cluster: str, nodegroup: str) -> NodeGroup:
        return NodeGroup.model_validate({"uuid": "w", "name": "w", "status": "CREATE_COMPLETE"})

    async def list_events(self, cluster: str) -> list[TaskEvent]:
        return []


async def test_each_watched_cluster_is_read_with_its_own_get() -> None:
    nks = FakeNKS("a", "b", "c")
    poller = per_resource.PerResourcePoller(
        nks, fast_seconds=0.01, slow_seconds=5.0, jitter_fraction=0.0, autostart=False
    )
    for cluster in ("a", "b", "gone"):
        poller.watch(cluster, cluster)
    await poller.poll()
    nks.calls.clear()
    await poller.poll()
    # A steady cycle: one GET per watched cluster, never a list.
    assert nks.calls == {"get_cluster": 3}
    assert poller.snapshot("a").ready_to_use  # type: ignore[union-attr]
    await poller.close()


def test_install_makes_every_new_account_poll_per_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(accounts, "AccountPoller", accounts.AccountPoller)  # restored after
    per_resource.install()
    assert accounts.AccountPoller is per_resource.PerResourcePoller  # type: ignore[attr-defined]
