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


class SlowNKS(FakeNKS):
    """Every call takes a moment, and the most calls in flight at once are recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.most_in_flight = 0

    async def _slow(self) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1

    async def list_clusters(self) -> list[dict[str, Any]]:
        await self._slow()
        return await super().list_clusters()

    async def get_cluster(self, cluster_id: str) -> dict[str, Any]:
        await self._slow()
        return await super().get_cluster(cluster_id)


async def test_a_burst_of_name_lookups_shares_one_list_call() -> None:
    nks = SlowNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "taken", "status": "CREATE_COMPLETE"}
    poller = AccountPoller(nks, fast_seconds=0.01, slow_seconds=5)
    found = await asyncio.gather(*(poller.find_by_name(f"n{i}") for i in range(200)))
    assert found == [[]] * 200
    assert await poller.find_by_name("taken") == [nks.clusters["c1"]]  # fresh enough
    assert nks.calls["list_clusters"] == 1


async def test_a_failed_lookup_fails_every_waiter_and_the_next_one_lists_again() -> None:
    nks = SlowNKS()
    failing = True

    async def list_clusters() -> list[dict[str, Any]]:
        nks.calls["list_clusters"] += 1
        await asyncio.sleep(0.01)
        if failing:
            raise errors.ServerError("boom", status_code=500)
        return []

    nks.list_clusters = list_clusters  # type: ignore[method-assign]
    poller = AccountPoller(nks, fast_seconds=0.01, slow_seconds=5)
    outcomes = await asyncio.gather(
        *(poller.find_by_name("x") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, errors.ServerError) for o in outcomes)
    failing = False
    assert await poller.find_by_name("x") == []
    assert nks.calls["list_clusters"] == 2


async def test_details_of_many_changed_clusters_are_read_a_few_at_a_time() -> None:
    nks = SlowNKS()
    for i in range(40):
        nks.clusters[f"c{i}"] = {"uuid": f"c{i}", "name": f"n{i}", "status": "CREATE_IN_PROGRESS"}
    poller = AccountPoller(nks, fast_seconds=0.01, slow_seconds=5, detail_concurrency=4)
    for cid in nks.clusters:
        poller.watch(cid, asyncio.Event())
    await poller.refresh()
    assert all(poller.snapshots[cid].details for cid in nks.clusters)
    assert nks.calls["get_cluster"] == 40
    assert nks.most_in_flight == 4
    await poller.close()
