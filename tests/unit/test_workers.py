"""The worker pool: what happens to a key after its pass, and the metrics it records."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from nks_operator.metrics import OperatorMetrics
from nks_operator.runtime.cache import ObjectKey
from nks_operator.runtime.workers import Workers
from nks_operator.runtime.workqueue import Backoff, WorkQueue

KEY = ObjectKey("NKSCluster", "ns", "demo")


@dataclass
class Result:
    requeue_after: float | None
    error: str | None = None


async def run_once(result: Result | Exception) -> tuple[WorkQueue[ObjectKey], OperatorMetrics]:
    metrics = OperatorMetrics()
    queue: WorkQueue[ObjectKey] = WorkQueue(backoff=Backoff(base_seconds=30))
    done = asyncio.Event()

    async def reconcile(key: ObjectKey) -> Result:
        done.set()
        if isinstance(result, Exception):
            raise result
        return result

    workers = Workers(queue, reconcile, count=2, metrics=metrics)
    workers.start()
    queue.add(KEY)
    await asyncio.wait_for(done.wait(), 1)
    await asyncio.sleep(0.01)
    await workers.stop()
    return queue, metrics


def count(metrics: OperatorMetrics, result: str) -> float | None:
    labels = {"controller": "nkscluster", "result": result}
    return metrics.registry.get_sample_value("controller_runtime_reconcile_total", labels)


async def test_requeue_after() -> None:
    queue, metrics = await run_once(Result(10.0))
    assert queue.pending(KEY) and queue.failures(KEY) == 0
    assert count(metrics, "requeue_after") == 1


async def test_done_when_nothing_is_scheduled() -> None:
    queue, metrics = await run_once(Result(None))
    assert not queue.pending(KEY)
    assert count(metrics, "success") == 1


async def test_transient_errors_back_off() -> None:
    queue, metrics = await run_once(Result(120.0, "transient"))
    assert queue.failures(KEY) == 1 and queue.pending(KEY)
    assert count(metrics, "error") == 1
    errors = metrics.registry.get_sample_value(
        "controller_runtime_terminal_reconcile_errors_total", {"controller": "nkscluster"}
    )
    assert not errors


async def test_terminal_errors_are_not_retried_on_their_timer() -> None:
    """controller-runtime never requeues a terminal error: neither its backoff nor the
    requeue it asks for; an event (or the resync, when set) runs it again."""
    queue, metrics = await run_once(Result(60.0, "terminal"))
    assert queue.failures(KEY) == 0 and not queue.pending(KEY)
    assert count(metrics, "error") == 1
    terminal = metrics.registry.get_sample_value(
        "controller_runtime_terminal_reconcile_errors_total", {"controller": "nkscluster"}
    )
    assert terminal == 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Passes:
    """Workers over a queue on a fake clock; each pass returns the next of `results`."""

    def __init__(self, *results: Result, resync_seconds: float | None = None) -> None:
        self.clock = Clock()
        self.metrics = OperatorMetrics()
        backoff = Backoff(base_seconds=30, jitter_fraction=0)
        self.queue: WorkQueue[ObjectKey] = WorkQueue(backoff=backoff, clock=self.clock)
        self.results = list(results)
        self.calls = 0
        self.workers = Workers(
            self.queue,
            self._reconcile,
            count=1,
            metrics=self.metrics,
            resync_seconds=resync_seconds,
        )

    async def _reconcile(self, key: ObjectKey) -> Result:
        result = self.results[min(self.calls, len(self.results) - 1)]
        self.calls += 1
        return result

    async def settle(self) -> None:
        """Let the workers take every key that is ready (the fake clock does not move)."""
        for _ in range(50):
            await asyncio.sleep(0)

    async def __aenter__(self) -> Passes:
        self.workers.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.workers.stop()


async def test_a_terminal_error_waits_for_an_input_or_the_resync() -> None:
    async with Passes(Result(2.0, "terminal"), Result(None), resync_seconds=120.0) as run:
        run.queue.add(KEY)
        await run.settle()
        assert run.calls == 1
        assert run.queue.due_in(KEY) == 120.0  # not the 2 s it asked for, and no backoff
        assert run.queue.failures(KEY) == 0
        run.clock.now += 119.0
        await run.settle()
        assert run.calls == 1
        run.queue.add(KEY)  # an input changed: the watch, the poller or the parent wakes it
        await run.settle()
        assert run.calls == 2


async def test_a_conflict_runs_again_at_once_then_backs_off() -> None:
    conflict = Result(0.0, "transient")
    async with Passes(conflict, conflict, Result(None)) as run:
        run.queue.add(KEY)
        await run.settle()
        assert run.calls == 2  # the retry came without the clock moving
        # The second conflict in a row backs off (30 s doubled once) instead of spinning.
        assert run.queue.due_in(KEY) == 60.0 and run.queue.failures(KEY) == 2
        run.clock.now += 60.0
        run.queue.add(KEY)  # the delay has passed (a wake-up stands in for the timer)
        await run.settle()
        assert run.calls == 3 and run.queue.failures(KEY) == 0
    assert count(run.metrics, "error") == 2 and count(run.metrics, "success") == 1


async def test_a_conflict_after_a_success_is_retried_at_once_again() -> None:
    conflict = Result(0.0, "transient")
    async with Passes(conflict, Result(None), conflict, Result(None)) as run:
        run.queue.add(KEY)
        await run.settle()
        assert run.calls == 2 and run.queue.failures(KEY) == 0
        run.queue.add(KEY)
        await run.settle()
        assert run.calls == 4 and not run.queue.pending(KEY)


async def test_a_bug_in_a_pass_never_ends_the_worker() -> None:
    queue, metrics = await run_once(RuntimeError("bug"))
    assert queue.failures(KEY) == 1
    assert count(metrics, "error") == 1
    active = metrics.registry.get_sample_value(
        "controller_runtime_active_workers", {"controller": "nkscluster"}
    )
    assert active == 0
