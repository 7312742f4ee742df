"""The poller's call economy and its behaviour when NKS fails or answers oddly."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Hashable
from typing import Any

import pytest

from nks_operator.nks import errors
from nks_operator.nks.models import Cluster, NodeGroup, TaskEvent
from nks_operator.polling import vouching
from nks_operator.polling.poller import AccountPoller
from nks_operator.settings import OperatorSettings
from tests.unit.fake_clock import FakeClock


class Listing(list):  # type: ignore[type-arg]
    """What the client's list calls return: a list, plus the entries it could not read."""

    def __init__(self, items: list[Any], unreadable: list[Any] | None = None) -> None:
        super().__init__(items)
        self.unreadable = unreadable or []


class Unreadable:
    def __init__(self, uuid: str | None, problem: str) -> None:
        self.uuid = uuid
        self.name = None
        self.problem = problem


class FakeNKS:
    """An in-memory reader that counts calls (the poller is the unit under test); lists
    are timed on `clock`, which a test hands to the poller when time matters."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.calls: Counter[str] = Counter()
        self.list_times: list[float] = []
        self.clusters: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.unreadable: list[Any] = []
        self.list_error: errors.NKSError | None = None
        self.get_errors: dict[str, errors.NKSError] = {}  # cluster -> what its GET raises
        self.group_errors: dict[str, errors.NKSError] = {}  # cluster -> its group GETs raise
        self.group_details: dict[str, dict[str, Any]] = {}  # cluster -> what only a GET shows
        self.tasks: dict[str, list[dict[str, Any]]] = {}  # cluster -> its task history

    async def list_clusters(self) -> Listing:
        self.calls["list_clusters"] += 1
        self.list_times.append(self.clock())
        if self.list_error is not None:
            raise self.list_error
        return Listing([Cluster.model_validate(c) for c in self.clusters.values()], self.unreadable)

    async def get_cluster(self, cluster: str) -> Cluster:
        self.calls["get_cluster"] += 1
        if cluster in self.get_errors:
            raise self.get_errors[cluster]
        if cluster not in self.clusters:
            raise errors.NotFoundError("gone", status_code=404)
        return Cluster.model_validate({**self.clusters[cluster], "api_address": "https://x"})

    async def list_nodegroups(self, cluster: str) -> Listing:
        self.calls["list_nodegroups"] += 1
        group = self.groups.get(cluster, {"status": "CREATE_COMPLETE"})
        return Listing([NodeGroup.model_validate({"uuid": "w", "name": "default-worker", **group})])

    async def get_nodegroup(self, cluster: str, nodegroup: str) -> NodeGroup:
        self.calls["get_nodegroup"] += 1
        if cluster in self.group_errors:
            raise self.group_errors[cluster]
        group = self.groups.get(cluster, {"status": "CREATE_COMPLETE"})
        details = self.group_details.get(cluster, {})
        return NodeGroup.model_validate({"uuid": "w", "name": "default-worker", **group, **details})

    async def list_events(self, cluster: str) -> Listing:
        self.calls["list_events"] += 1
        tasks = self.tasks.get(cluster, [{"uuid": "t1", "id": 1, "state": "SUCCESS"}])
        return Listing([TaskEvent.model_validate(task) for task in tasks])


class Woken:
    def __init__(self) -> None:
        self.keys: Counter[Hashable] = Counter()

    def __call__(self, key: Hashable) -> None:
        self.keys[key] += 1


def poller_for(nks: FakeNKS, woken: Woken | None = None, **kwargs: Any) -> AccountPoller:
    """A poller whose cycles run when the test says (`autostart=True` runs its own loop)."""
    settings = {
        "fast_seconds": 0.01,
        "slow_seconds": 5.0,
        "jitter_fraction": 0.0,
        "autostart": False,
        **kwargs,
    }
    return AccountPoller(nks, wake=woken, **settings)


async def test_steady_state_costs_one_list_per_cycle() -> None:
    nks = FakeNKS()
    for i in range(50):
        nks.clusters[f"c{i}"] = {"uuid": f"c{i}", "name": f"n{i}", "status": "CREATE_COMPLETE"}
    woken = Woken()
    poller = poller_for(nks, woken)
    for cid in nks.clusters:
        poller.watch(cid, ("key", cid))
    await poller.poll()
    assert all(poller.snapshot(cid).ready_to_use for cid in nks.clusters)  # type: ignore[union-attr]
    assert nks.calls["get_cluster"] == 50
    nks.calls.clear()
    woken.keys.clear()
    for _ in range(5):
        await poller.poll()
    assert nks.calls["list_clusters"] == 5
    assert nks.calls["get_cluster"] == 0  # nothing changed: no per-cluster call at all
    assert nks.calls["list_nodegroups"] == 0
    assert not woken.keys
    # A change of one cluster costs details for that cluster only, and wakes its watchers.
    nks.clusters["c7"]["status"] = "UPDATE_IN_PROGRESS"
    await poller.poll()
    assert nks.calls["get_cluster"] == 1
    assert woken.keys == {("key", "c7"): 1}
    await poller.close()


async def test_deleted_cluster_is_confirmed_gone() -> None:
    nks = FakeNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "n", "status": "CREATE_COMPLETE"}
    woken = Woken()
    poller = poller_for(nks, woken)
    snapshot = poller.watch("c1", "k")
    await poller.poll()
    del nks.clusters["c1"]
    woken.keys.clear()
    await poller.poll()
    assert snapshot.gone and woken.keys["k"] == 1
    await poller.close()


async def test_one_unreadable_entry_marks_only_its_cluster() -> None:
    nks = FakeNKS()
    nks.clusters["good"] = {"uuid": "good", "name": "g", "status": "CREATE_COMPLETE"}
    woken = Woken()
    poller = poller_for(nks, woken)
    poller.watch("good", "g")
    poller.watch("bad", "b")
    nks.unreadable = [Unreadable("bad", "status: expected a string")]
    await poller.poll()
    good, bad = poller.snapshot("good"), poller.snapshot("bad")
    assert good is not None and good.ready_to_use and not good.problems
    assert bad is not None and bad.problems == {"cluster": "status: expected a string"}
    assert not bad.gone  # an unreadable entry is not a deleted cluster
    assert woken.keys["b"] >= 1 and poller.last_error is None
    await poller.close()


async def test_failing_polls_back_off_and_never_list_faster_than_the_fast_interval() -> None:
    nks = FakeNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "n", "status": "CREATE_IN_PROGRESS"}
    nks.list_error = errors.ServerError("boom", status_code=503)
    clock = nks.clock
    poller = poller_for(
        nks, fast_seconds=0.05, slow_seconds=0.4, autostart=True, clock=clock, sleep=clock.sleep
    )
    poller.watch("c1", "k")
    # Lookups by name during the outage share the failure instead of listing again.
    for _ in range(20):
        with contextlib.suppress(errors.ServerError):
            await poller.find_by_name("n")
    await clock.run_until(clock() + 1.5)
    await poller.close()
    gaps = [b - a for a, b in zip(nks.list_times, nks.list_times[1:], strict=False)]
    assert gaps and min(gaps) >= 0.05 - 1e-9  # at most one list per fast interval
    assert len(nks.list_times) <= 1.5 / 0.05 / 3  # far fewer than one per fast interval
    assert max(gaps) <= 0.4 + 1e-9  # capped at the slow interval
    assert isinstance(poller.last_error, errors.ServerError)


async def test_rate_limit_waits_at_least_retry_after() -> None:
    nks = FakeNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "n", "status": "CREATE_COMPLETE"}
    nks.list_error = errors.RateLimitedError("slow down", status_code=429, retry_after=0.3)
    clock = nks.clock
    poller = poller_for(
        nks, fast_seconds=0.01, slow_seconds=5, autostart=True, clock=clock, sleep=clock.sleep
    )
    poller.watch("c1", "k")
    await clock.run_until(clock() + 0.5)
    await poller.close()
    assert isinstance(poller.last_error, errors.RateLimitedError)
    gaps = [b - a for a, b in zip(nks.list_times, nks.list_times[1:], strict=False)]
    assert gaps and min(gaps) >= 0.3  # Retry-After, not the fast interval
    assert nks.calls["list_clusters"] <= 3


class SlowNKS(FakeNKS):
    """Every call yields to the other tasks before it answers, and the most calls in flight
    at once are recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.most_in_flight = 0

    async def _slow(self) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0)
        self.in_flight -= 1

    async def list_clusters(self) -> Listing:
        await self._slow()
        return await super().list_clusters()

    async def get_cluster(self, cluster: str) -> Cluster:
        await self._slow()
        return await super().get_cluster(cluster)


async def test_a_burst_of_name_lookups_shares_one_list_call() -> None:
    nks = SlowNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "taken", "status": "CREATE_COMPLETE"}
    poller = poller_for(nks, fast_seconds=1.0)
    found = await asyncio.gather(*(poller.find_by_name(f"n{i}") for i in range(200)))
    assert found == [[]] * 200
    assert [c.uuid for c in await poller.find_by_name("taken")] == ["c1"]  # fresh enough
    assert nks.calls["list_clusters"] == 1


async def test_a_failed_lookup_fails_every_waiter_and_a_later_one_lists_again() -> None:
    nks = SlowNKS()
    nks.list_error = errors.ServerError("boom", status_code=500)
    poller = poller_for(nks, fast_seconds=0.05, clock=nks.clock, sleep=nks.clock.sleep)
    outcomes = await asyncio.gather(
        *(poller.find_by_name("x") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, errors.ServerError) for o in outcomes)
    assert nks.calls["list_clusters"] == 1
    nks.list_error = None
    with pytest.raises(errors.ServerError):  # within the fast interval: the same failure
        await poller.find_by_name("x")
    assert nks.calls["list_clusters"] == 1
    nks.clock.advance(0.06)
    assert await poller.find_by_name("x") == []
    assert nks.calls["list_clusters"] == 2


async def test_details_of_many_changed_clusters_are_read_a_few_at_a_time() -> None:
    nks = SlowNKS()
    for i in range(40):
        nks.clusters[f"c{i}"] = {"uuid": f"c{i}", "name": f"n{i}", "status": "CREATE_IN_PROGRESS"}
    poller = poller_for(nks, detail_concurrency=4)
    for cid in nks.clusters:
        poller.watch(cid, cid)
    await poller.poll()
    assert all(poller.snapshot(cid).ready_to_use for cid in nks.clusters)  # type: ignore[union-attr]
    assert nks.calls["get_cluster"] == 40
    assert nks.most_in_flight == 4
    await poller.close()


async def test_a_busy_cluster_is_re_read_even_when_its_entry_does_not_change() -> None:
    nks = FakeNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "n", "status": "CREATE_COMPLETE"}
    nks.groups["c1"] = {"status": "UPDATE_IN_PROGRESS"}  # a node group operation
    clock = nks.clock
    poller = poller_for(nks, detail_seconds=0.05, clock=clock, sleep=clock.sleep)
    poller.watch("c1", "k")
    await poller.poll()
    nks.calls.clear()
    clock.advance(0.02)
    await poller.poll()
    assert nks.calls == {"list_clusters": 1}  # details fresh: only the list
    clock.advance(0.04)
    await poller.poll()
    # Busy and stale: read again; only a node group moves, so the cluster's GET is kept.
    assert nks.calls["list_events"] == nks.calls["list_nodegroups"] == 1
    assert nks.calls["get_cluster"] == 0
    nks.calls.clear()
    clock.advance(5.0)  # the cluster's GET is now slow_seconds old
    await poller.poll()
    assert nks.calls["get_cluster"] == 1
    await poller.close()


async def test_what_the_operator_waits_for_is_looked_at_every_cycle_until_it_ends() -> None:
    nks = FakeNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "n", "status": "CREATE_COMPLETE"}
    woken = Woken()
    clock = nks.clock
    poller = poller_for(
        nks, woken, fast_seconds=0.01, detail_seconds=60.0, clock=clock, sleep=clock.sleep
    )
    poller.watch("c1", "k")
    await poller.poll()
    poller.expect_change("c1")  # e.g. a node group was just created: not in the list entry
    nks.groups["c1"] = {"status": "CREATE_IN_PROGRESS"}

    async def cycle() -> Counter[str]:
        nks.calls.clear()
        clock.advance(0.02)
        await poller.poll()
        return nks.calls

    assert (await cycle())["get_cluster"] == 1  # the change shows; still busy: wait on
    # Far within detail_seconds, yet looked at: the group list tells when the group's
    # operation ends (the cluster's list entry never shows it).
    assert await cycle() == {"list_clusters": 1, "list_nodegroups": 1}
    nks.groups["c1"] = {"status": "CREATE_COMPLETE"}
    woken.keys.clear()
    ended = await cycle()
    assert ended["get_cluster"] == 1 and ended["list_events"] == 1
    assert ended["list_nodegroups"] == 1  # the look's list serves the refresh it calls for
    assert woken.keys == {"k": 1}  # the end is seen in the first cycle after it
    assert await cycle() == {"list_clusters": 1}  # idle and nothing expected: the list alone
    await poller.close()


async def test_a_worker_group_is_got_only_when_its_list_entry_cannot_vouch_for_it() -> None:
    nks = FakeNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "n", "status": "UPDATE_IN_PROGRESS"}
    clock = nks.clock
    poller = poller_for(
        nks,
        fast_seconds=0.01,
        detail_seconds=0.05,
        slow_seconds=1.0,
        clock=clock,
        sleep=clock.sleep,
    )
    poller.watch("c1", "k")
    await poller.poll()
    assert nks.calls["get_nodegroup"] == 1  # first sight: every group
    poller.expect_change("c1", nodegroups=())  # an operation the operator sent runs

    async def refresh(what: dict[str, Any]) -> Counter[str]:
        nks.clusters["c1"].update(what)  # the cluster's entry moves: a refresh
        nks.calls.clear()
        clock.advance(0.02)
        await poller.poll()
        return nks.calls

    assert (await refresh({"status_reason": "a"}))["get_nodegroup"] == 0  # entry unchanged
    nks.groups["c1"] = {"status": "UPDATE_IN_PROGRESS"}
    assert (await refresh({"status_reason": "b"}))["get_nodegroup"] == 1  # its entry moved
    nks.group_details["c1"] = {"status_reason": "draining"}
    assert (await refresh({"status_reason": "c"}))["get_nodegroup"] == 0
    clock.advance(0.05)
    # Busy: GET again once its last GET is detail_seconds old (its reason moves alone).
    assert (await refresh({"status_reason": "d"}))["get_nodegroup"] == 1
    assert poller.snapshot("c1").nodegroups["default-worker"].status_reason == "draining"  # type: ignore[union-attr]
    # A new task that names the group: its GET, whatever the entry says.
    nks.groups["c1"] = {"status": "UPDATE_COMPLETE"}
    assert (await refresh({"status_reason": "e"}))["get_nodegroup"] == 1
    nks.group_details["c1"] = {"status_reason": "labels changed"}
    assert (await refresh({"status_reason": "f"}))["get_nodegroup"] == 0
    nks.tasks["c1"] = [
        {"uuid": "t1", "id": 1, "state": "SUCCESS"},
        {
            "uuid": "t2",
            "id": 2,
            "state": "SUCCESS",
            "resource_type": "nodegroup",
            "resource_uuid": "w",
            "resource_name": "default-worker",
        },
    ]
    assert (await refresh({"status_reason": "g"}))["get_nodegroup"] == 1
    assert poller.snapshot("c1").nodegroups["default-worker"].status_reason == "labels changed"  # type: ignore[union-attr]
    # A cluster task names no group: no GET for it; one that names nothing: every group.
    nks.tasks["c1"].append({"uuid": "t3", "id": 3, "state": "SUCCESS", "resource_type": "cluster"})
    assert (await refresh({"status_reason": "h"}))["get_nodegroup"] == 0
    nks.tasks["c1"].append({"uuid": "t4", "id": 4, "state": "SUCCESS"})
    assert (await refresh({"status_reason": "i"}))["get_nodegroup"] == 1
    # A write to the group: its GET every refresh while awaited; to the cluster: every group.
    poller.expect_change("c1", nodegroups=["default-worker"])
    assert (await refresh({"status_reason": "j"}))["get_nodegroup"] == 1
    assert (await refresh({"status_reason": "k"}))["get_nodegroup"] == 1
    poller.expect_change("c1", nodegroups=())
    assert (await refresh({"status_reason": "l"}))["get_nodegroup"] == 1  # still awaited
    # An idle group's GET is repeated after slow_seconds at the latest.
    poller._stop_expecting("c1")
    poller.expect_change("c1", nodegroups=())
    assert (await refresh({"status_reason": "m"}))["get_nodegroup"] == 0
    clock.advance(1.0)
    assert (await refresh({"status_reason": "n"}))["get_nodegroup"] == 1
    # A change of the cluster's entry nobody awaits (made outside the operator): every group.
    poller._stop_expecting("c1")
    assert (await refresh({"status_reason": "o"}))["get_nodegroup"] == 1
    await poller.close()


async def test_while_the_cluster_itself_runs_its_entry_alone_is_looked_at() -> None:
    nks = FakeNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "n", "status": "CREATE_IN_PROGRESS"}
    nks.groups["c1"] = {"status": "CREATE_IN_PROGRESS"}
    clock = nks.clock
    poller = poller_for(nks, detail_seconds=60.0, clock=clock, sleep=clock.sleep)
    poller.watch("c1", "k")
    poller.expect_change("c1", nodegroups=())  # the create just sent
    await poller.poll()
    nks.calls.clear()
    clock.advance(0.02)
    await poller.poll()
    assert nks.calls == {"list_clusters": 1}  # the cluster's end shows in its entry
    nks.clusters["c1"]["status"] = "CREATE_COMPLETE"  # its end, and its group's deletion
    nks.groups["c1"] = {"status": "DELETE_IN_PROGRESS"}
    clock.advance(0.02)
    await poller.poll()
    # The group's entry moved to deleting alone: its last GET stands, with that state.
    assert nks.calls["get_cluster"] == 1 and nks.calls["get_nodegroup"] == 0
    snapshot = poller.snapshot("c1")
    assert snapshot is not None
    assert snapshot.nodegroups["default-worker"].status == "DELETE_IN_PROGRESS"
    await poller.close()


async def _one_idle_cluster(
    woken: Woken | None = None, **settings: Any
) -> tuple[FakeNKS, AccountPoller]:
    """Cluster c1, idle, watched and read once, on the fake clock."""
    nks = FakeNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "n", "status": "CREATE_COMPLETE"}
    poller = poller_for(nks, woken, clock=nks.clock, sleep=nks.clock.sleep, **settings)
    poller.watch("c1", "k")
    await poller.poll()
    return nks, poller


async def test_a_write_that_lands_between_the_list_and_the_get_costs_one_refresh() -> None:
    nks, poller = await _one_idle_cluster()
    clock = nks.clock
    poller.request_refresh("c1")
    listed = nks.list_clusters

    async def list_then_write() -> Listing:
        answer = await listed()
        nks.clusters["c1"]["status"] = "DELETE_IN_PROGRESS"  # after the list, before the GET
        return answer

    nks.list_clusters = list_then_write  # type: ignore[method-assign]
    clock.advance(0.02)
    await poller.poll()
    nks.list_clusters = listed  # type: ignore[method-assign]
    assert poller.snapshot("c1").status == "DELETE_IN_PROGRESS"  # type: ignore[union-attr]
    nks.calls.clear()
    clock.advance(0.02)
    await poller.poll()
    assert nks.calls["get_cluster"] == 0  # the entry now shows what the GET already did
    nks.clusters["c1"]["status_reason"] = "moved"
    clock.advance(0.02)
    await poller.poll()
    assert nks.calls["get_cluster"] == 1  # and a later change is still seen
    await poller.close()


async def test_a_forced_read_or_a_failed_one_gets_every_group_again() -> None:
    nks, poller = await _one_idle_cluster()
    clock = nks.clock
    nks.calls.clear()
    poller.request_refresh("c1")
    clock.advance(0.02)
    await poller.poll()
    assert nks.calls["get_nodegroup"] == 1
    nks.get_errors["c1"] = errors.ServerError("boom", status_code=503)
    clock.advance(0.02)
    poller.request_refresh("c1")
    await poller.poll()
    del nks.get_errors["c1"]
    nks.calls.clear()
    clock.advance(1.0)
    await poller.poll()
    assert nks.calls["get_nodegroup"] == 1  # after a failure: in full
    await poller.close()


@pytest.mark.parametrize("unreadable", ["get_cluster", "get_nodegroup"])
async def test_an_unreadable_answer_is_read_again_in_full_every_cycle(unreadable: str) -> None:
    """While an awaited operation visibly runs, an unchanged list entry alone is looked at;
    an answer that could not be read says nothing, so its cluster is read every cycle."""
    nks = FakeNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "n", "status": "UPDATE_IN_PROGRESS"}
    nks.groups["c1"] = {"status": "UPDATE_IN_PROGRESS"}
    clock = nks.clock
    poller = poller_for(nks, detail_seconds=60.0, slow_seconds=60.0, clock=clock, sleep=clock.sleep)
    poller.watch("c1", "k")
    poller.expect_change("c1", nodegroups=())
    await poller.poll()
    broken = errors.InvalidResponseError("not JSON", status_code=200)
    (nks.get_errors if unreadable == "get_cluster" else nks.group_errors)["c1"] = broken
    poller.request_refresh("c1")
    clock.advance(0.02)
    await poller.poll()
    snapshot = poller.snapshot("c1")
    assert snapshot is not None and snapshot.problems
    for _ in range(3):  # entries unchanged, nothing forced: read again all the same
        nks.calls.clear()
        clock.advance(0.02)
        await poller.poll()
        assert nks.calls[unreadable] == 1
    nks.get_errors.clear()
    nks.group_errors.clear()
    clock.advance(0.02)
    await poller.poll()
    assert not snapshot.problems
    nks.calls.clear()
    clock.advance(0.02)
    await poller.poll()
    assert nks.calls == {"list_clusters": 1}  # readable again: the entry alone
    await poller.close()


async def test_an_outage_wakes_the_watchers_once_when_it_starts_and_once_when_it_ends() -> None:
    nks = FakeNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "n", "status": "CREATE_COMPLETE"}
    woken = Woken()
    clock = nks.clock
    poller = poller_for(nks, woken, clock=clock, sleep=clock.sleep)
    poller.watch("c1", "k")
    await poller.poll()
    woken.keys.clear()
    nks.list_error = errors.ServerError("boom", status_code=503)
    for _ in range(3):
        clock.advance(0.02)
        await poller.poll()
    assert nks.calls["list_clusters"] == 4 and poller.last_error is not None
    assert woken.keys == {"k": 1}
    nks.list_error = None
    clock.advance(0.02)
    await poller.poll()
    assert woken.keys == {"k": 2} and poller.last_error is None
    await poller.close()


async def test_a_failing_read_of_one_cluster_backs_off_alone_and_the_others_go_on() -> None:
    nks = FakeNKS()
    for cid in ("ok", "flaky"):
        nks.clusters[cid] = {"uuid": cid, "name": cid, "status": "CREATE_COMPLETE"}
    woken = Woken()
    clock = nks.clock
    poller = poller_for(
        nks, woken, fast_seconds=1.0, slow_seconds=10.0, clock=clock, sleep=clock.sleep
    )
    start = clock()
    poller.watch("ok", "ok")
    poller.watch("flaky", "flaky")
    nks.get_errors["flaky"] = errors.ServerError("502 Bad Gateway", status_code=502)
    await poller.poll()
    ok, flaky = poller.snapshot("ok"), poller.snapshot("flaky")
    assert ok is not None and ok.ready_to_use and ok.read_error is None
    assert flaky is not None and not flaky.ready_to_use and "502" in (flaky.read_error or "")
    assert poller.last_error is None  # the account's list answered: not an outage
    assert woken.keys == {"ok": 1, "flaky": 1}

    async def cycle(after: float) -> Counter[str]:
        clock.advance(start + after - clock())
        nks.calls.clear()
        await poller.poll()
        return nks.calls

    # After its backoff (1 s, then 2 s) a full read; within it only the list runs.
    assert (await cycle(1.0))["get_cluster"] == 1
    assert await cycle(2.0) == {"list_clusters": 1}
    assert woken.keys == {"ok": 1, "flaky": 1}  # woken when the failure began, not per retry
    # Success clears the failure and wakes its resources.
    del nks.get_errors["flaky"]
    assert (await cycle(3.0))["get_cluster"] == 1
    assert flaky.ready_to_use and flaky.read_error is None
    assert woken.keys == {"ok": 1, "flaky": 2}
    await poller.close()


async def test_a_throttled_detail_read_slows_the_whole_account_without_an_outage() -> None:
    nks = FakeNKS()
    nks.clusters["c1"] = {"uuid": "c1", "name": "n", "status": "UPDATE_IN_PROGRESS"}
    clock = nks.clock
    poller = poller_for(nks, fast_seconds=0.05, slow_seconds=10.0, clock=clock, sleep=clock.sleep)
    poller.watch("c1", "k")
    nks.get_errors["c1"] = errors.RateLimitedError("slow down", status_code=429, retry_after=1.0)
    await poller.poll()
    assert poller.last_error is None
    assert poller._next_delay() >= 1.0  # Retry-After holds for the account's next list
    del nks.get_errors["c1"]
    clock.advance(1.0)
    await poller.poll()
    assert poller._next_delay() == 0.05  # busy, and nothing failed: fast again
    await poller.close()


async def _one_idle_cluster_at_defaults(
    woken: Woken | None = None,
) -> tuple[FakeNKS, AccountPoller]:
    """The same, polled at the defaults users get (fast 2 s, slow 120 s, details every
    10 s while busy)."""
    defaults = OperatorSettings()
    return await _one_idle_cluster(
        woken,
        fast_seconds=defaults.fast_poll_seconds,
        slow_seconds=defaults.slow_poll_seconds,
        jitter_fraction=defaults.jitter_fraction,
    )


async def test_while_only_a_node_group_moves_the_cluster_get_is_kept_until_it_ends() -> None:
    nks, poller = await _one_idle_cluster_at_defaults()
    clock = nks.clock
    poller.expect_change("c1", nodegroups=["default-worker"])  # e.g. a resize just sent
    nks.groups["c1"] = {"status": "UPDATE_IN_PROGRESS"}
    nks.clusters["c1"]["node_count"] = 3  # the list entry's sum of the groups' nodes

    async def cycle(seconds: float) -> Counter[str]:
        nks.calls.clear()
        clock.advance(seconds)
        await poller.poll()
        return nks.calls

    assert (await cycle(2.0))["get_nodegroup"] == 1 and nks.calls["get_cluster"] == 0
    snapshot = poller.snapshot("c1")
    assert snapshot is not None and snapshot.cluster is not None
    assert snapshot.cluster.node_count == 3 and snapshot.cluster.api_address == "https://x"
    assert snapshot.nodegroups["default-worker"].status == "UPDATE_IN_PROGRESS"
    # A long operation: its details every 10 s, the cluster's GET once it is 120 s old.
    reads = [(await cycle(10.0))["get_cluster"] for _ in range(12)]
    assert nks.calls["list_nodegroups"] == 1 and reads == [0] * 11 + [1]
    nks.groups["c1"] = {"status": "UPDATE_COMPLETE"}  # its end: its nodes may have moved
    assert (await cycle(10.0))["get_cluster"] == 1  # (no longer awaited: the 10 s read)
    await poller.close()


async def test_a_write_to_the_cluster_itself_reads_its_get() -> None:
    nks, poller = await _one_idle_cluster()
    poller.expect_change("c1")  # any group, the control plane included
    nks.groups["c1"] = {"status": "UPDATE_IN_PROGRESS"}
    nks.calls.clear()
    nks.clock.advance(0.02)
    await poller.poll()
    assert nks.calls["get_cluster"] == 1
    await poller.close()


async def test_a_deletion_its_list_entry_shows_is_followed_there_alone() -> None:
    woken = Woken()
    nks, poller = await _one_idle_cluster_at_defaults(woken)
    clock = nks.clock
    poller.expect_change("c1", nodegroups=())  # the delete just sent
    nks.clusters["c1"]["status"] = "DELETE_IN_PROGRESS"
    for _ in range(10):  # 20 s, past the 10 s detail interval: its end shows in its entry
        nks.calls.clear()
        clock.advance(2.0)
        await poller.poll()
        assert nks.calls == {"list_clusters": 1}
    snapshot = poller.snapshot("c1")
    assert snapshot is not None and snapshot.status == "DELETE_IN_PROGRESS"
    assert woken.keys["k"] == 2  # the first read, then the deletion
    nks.clusters["c1"]["status"] = "DELETE_FAILED"
    nks.calls.clear()
    clock.advance(2.0)
    await poller.poll()
    assert nks.calls["list_events"] == nks.calls["get_cluster"] == 1  # why: read it
    assert snapshot.status == "DELETE_FAILED"
    nks.clusters.pop("c1")  # deleted at last: gone only once a GET answers 404
    nks.calls.clear()
    clock.advance(2.0)
    await poller.poll()
    assert nks.calls["get_cluster"] == 1 and snapshot.gone
    await poller.close()


async def test_a_deletion_made_outside_the_operator_is_read() -> None:
    nks, poller = await _one_idle_cluster()
    nks.clusters["c1"]["status"] = "DELETE_IN_PROGRESS"  # nobody here awaits it
    nks.calls.clear()
    nks.clock.advance(10.0)
    await poller.poll()
    assert nks.calls["list_events"] == nks.calls["get_cluster"] == 1
    await poller.close()


def test_an_entry_s_digest_is_computed_once_per_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    computed: list[Cluster] = []
    real = vouching.digest

    def counting(entry: Cluster, exclude: set[str] | None = None) -> bytes:
        computed.append(entry)
        return real(entry, exclude)

    monkeypatch.setattr(vouching, "digest", counting)
    digests = vouching.EntryDigests()
    listed = Cluster.model_validate({"uuid": "a", "name": "a", "status": "CREATE_COMPLETE"})
    first = digests.of("a", listed)
    assert digests.of("a", listed) == first and computed == [listed]
    moved = Cluster.model_validate({"uuid": "a", "name": "a", "status": "UPDATE_IN_PROGRESS"})
    assert digests.of("a", moved) != first and computed == [listed, moved]
    digests.forget("a")
    assert digests.of("a", moved) != first and computed == [listed, moved, moved]
