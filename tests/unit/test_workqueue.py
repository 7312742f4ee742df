"""The work queue: dedup, one worker per key, delayed requeue, per-key backoff, metrics."""

from __future__ import annotations

import asyncio
import random

import pytest

from nks_operator.runtime.workqueue import Backoff, ShutDown, WorkQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counting:
    def __init__(self) -> None:
        self.adds = 0
        self.retries = 0
        self.depths: list[int] = []
        self.waits: list[float] = []
        self.works: list[float] = []

    def added(self) -> None:
        self.adds += 1

    def depth(self, value: int) -> None:
        self.depths.append(value)

    def queued_for(self, seconds: float) -> None:
        self.waits.append(seconds)

    def worked_for(self, seconds: float) -> None:
        self.works.append(seconds)

    def retried(self) -> None:
        self.retries += 1


async def test_a_key_is_queued_once_however_often_added() -> None:
    metrics = Counting()
    queue: WorkQueue[str] = WorkQueue(metrics=metrics)
    for _ in range(5):
        queue.add("a")
    queue.add("b")
    assert len(queue) == 2
    assert await queue.get() == "a"
    assert await queue.get() == "b"
    assert metrics.adds == 6 and metrics.depths[-1] == 0


async def test_never_two_workers_on_one_key() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    assert await queue.get() == "a"
    queue.add("a")  # changed while in flight: not handed out again yet
    assert len(queue) == 0 and queue.pending("a")
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    queue.done("a")  # its worker finished: now it comes back
    assert await asyncio.wait_for(waiter, 1) == "a"


async def test_add_after_keeps_the_sooner_deadline() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 0.05)
    queue.add_after("a", 10)  # later: ignored, the sooner one stands
    assert await asyncio.wait_for(queue.get(), 1) == "a"
    queue.done("a")
    queue.add_after("b", 10)
    queue.add_after("b", 0.05)  # sooner: wins
    assert await asyncio.wait_for(queue.get(), 1) == "b"


async def test_discard_drops_what_is_pending() -> None:
    clock = Clock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    queue.add("a")
    queue.add_after("b", 0.01)
    queue.discard("a")
    queue.discard("b")
    queue.add("c")
    assert await asyncio.wait_for(queue.get(), 1) == "c"
    queue.done("c")
    clock.now += 1  # past b's deadline: a get promotes whatever is due
    queue.add("d")
    assert await asyncio.wait_for(queue.get(), 1) == "d"
    assert len(queue) == 0 and not queue.pending("b")


def test_backoff_doubles_per_key_and_resets_on_success() -> None:
    backoff = Backoff(base_seconds=1, max_seconds=30, jitter_fraction=0, bucket_burst=1000)
    clock = Clock()
    queue: WorkQueue[str] = WorkQueue(backoff=backoff, clock=clock, rng=random.Random(1))
    delays = [queue.add_rate_limited("a") for _ in range(7)]
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert queue.add_rate_limited("b") == 1  # per key
    queue.forget("a")
    assert queue.add_rate_limited("a") == 1


def test_retry_now_goes_at_once_then_backs_off() -> None:
    backoff = Backoff(base_seconds=1, max_seconds=30, jitter_fraction=0, bucket_burst=1000)
    clock = Clock()
    queue: WorkQueue[str] = WorkQueue(backoff=backoff, clock=clock)
    assert queue.retry_now("a") == 0.0 and len(queue) == 1 and queue.due_in("a") is None
    assert queue.retry_now("a") == 2  # failing again: the backoff of a second failure
    assert queue.due_in("a") == 2
    queue.forget("a")
    assert queue.retry_now("a") == 0.0


def test_overall_bucket_limits_a_storm_of_retries() -> None:
    backoff = Backoff(base_seconds=0.001, jitter_fraction=0, bucket_rate=10, bucket_burst=5)
    clock = Clock()
    queue: WorkQueue[int] = WorkQueue(backoff=backoff, clock=clock)
    delays = [queue.add_rate_limited(key) for key in range(20)]
    assert max(delays[:5]) < 0.01  # the burst goes at once
    assert delays[-1] == pytest.approx(1.5)  # then 10 per second: the 20th waits 1.5 s


def test_jitter_stays_within_its_fraction() -> None:
    backoff = Backoff(base_seconds=4, jitter_fraction=0.1)
    rng = random.Random(7)
    for _ in range(100):
        assert 3.6 <= backoff.delay(0, rng) <= 4.4


async def test_shut_down_wakes_the_workers() -> None:
    queue: WorkQueue[str] = WorkQueue()
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)
    queue.shut_down()
    with pytest.raises(ShutDown):
        await asyncio.wait_for(waiter, 1)
