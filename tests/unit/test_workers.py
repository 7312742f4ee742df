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


async def test_terminal_errors_wait_for_their_requeue() -> None:
    queue, metrics = await run_once(Result(60.0, "terminal"))
    assert queue.failures(KEY) == 0 and queue.pending(KEY)
    assert count(metrics, "error") == 1
    terminal = metrics.registry.get_sample_value(
        "controller_runtime_terminal_reconcile_errors_total", {"controller": "nkscluster"}
    )
    assert terminal == 1


async def test_a_bug_in_a_pass_never_ends_the_worker() -> None:
    queue, metrics = await run_once(RuntimeError("bug"))
    assert queue.failures(KEY) == 1
    assert count(metrics, "error") == 1
    active = metrics.registry.get_sample_value(
        "controller_runtime_active_workers", {"controller": "nkscluster"}
    )
    assert active == 0
