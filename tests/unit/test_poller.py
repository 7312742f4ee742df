"""The poller's call economy: one list per cycle at steady state, details only on change."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from nks_operator.nks import errors
from nks_operator.polling.poller import AccountPoller


class FakeNKS:
    """An in-memory reader that counts calls (the poller is the unit under test)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.clusters: dict[str, dict[str, Any]] = {}

    async def list_clusters(self) -> list[dict[str, Any]]:
        self.calls["list_clusters"] += 1
        return [dict(c) for c in self.clusters.values()]

    async def get_cluster(self, cluster_id: str) -> dict[str, Any]:
        self.calls["get_cluster"] += 1
        if cluster_id not in self.clusters:
            raise errors.NotFoundError("gone", status_code=404)
        return {**self.clusters[cluster_id], "api_address": "https://x"}

    async def list_nodegroups(self, cluster_id: str) -> list[dict[str, Any]]:
        self.calls["list_nodegroups"] += 1
        return [{"uuid": "w", "name": "default-worker", "status": "CREATE_COMPLETE"}]

    async def get_nodegroup(self, cluster_id: str, nodegroup_id: str) -> dict[str, Any]:
        self.calls["get_nodegroup"] += 1
        return {"uuid": "w", "name": "default-worker", "status": "CREATE_COMPLETE", "labels": {}}

    async def list_events(self, cluster_id: str) -> list[dict[str, Any]]:
        self.calls["list_events"] += 1
        return []


async def test_steady_state_costs_one_list_per_cycle() -> None:
    nks = FakeNKS()
    for i in range(50):
        nks.clusters[f"c{i}"] = {"uuid": f"c{i}", "name": f"n{i}", "status": "CREATE_COMPLETE"}
    poller = AccountPoller(nks, fast_seconds=0.01, slow_seconds=0.02, jitter_fraction=0)
    wakers = {cid: asyncio.Event() for cid in nks.clusters}
    for cid, waker in wakers.items():
        poller.watch(cid, waker)
    await poller.refresh()
    assert all(poller.snapshots[cid].details for cid in nks.clusters)
    assert nks.calls["get_cluster"] == 50
    nks.calls.clear()
    for _ in range(5):
        await poller.refresh()
    assert nks.calls["list_clusters"] >= 5
    assert nks.calls["get_cluster"] == 0  # nothing changed: no per-cluster call at all
    assert nks.calls["list_nodegroups"] == 0
    # A change of one cluster costs details for that cluster only.
    nks.clusters["c7"]["status"] = "UPDATE_IN_PROGRESS"
    wakers["c7"].clear()
    await poller.refresh()
    assert nks.calls["get_cluster"] == 1
    assert wakers["c7"].is_set()
    await poller.close()


async def test_deleted_cluster_is_confirmed_gone() -> None:
    nks = FakeNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "n", "status": "CREATE_COMPLETE"}
    poller = AccountPoller(nks, fast_seconds=0.01, slow_seconds=5)
    waker = asyncio.Event()
    snapshot = poller.watch("c1", waker)
    await poller.refresh()
    del nks.clusters["c1"]
    waker.clear()
    await poller.refresh()
    assert snapshot.gone and waker.is_set()
    await poller.close()


async def test_rate_limit_backs_off_without_crashing() -> None:
    nks = FakeNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "n", "status": "CREATE_COMPLETE"}

    async def limited() -> list[dict[str, Any]]:
        raise errors.RateLimitedError("slow down", status_code=429, retry_after=0.05)

    poller = AccountPoller(nks, fast_seconds=0.01, slow_seconds=5)
    nks.list_clusters = limited  # type: ignore[method-assign]
    poller.watch("c1", asyncio.Event())
    await poller.refresh()
    assert isinstance(poller.last_error, errors.RateLimitedError)
    await poller.close()
