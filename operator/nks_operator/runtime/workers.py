"""A fixed pool of workers taking keys from the work queue and reconciling them.

After each pass the worker decides the key's future, as controller-runtime does: an error
requeues it with the key's exponential backoff (reset by the next success), a requested
delay requeues it after that delay, and nothing more to do drops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from nks_operator.metrics import OperatorMetrics, ReconcileResult
from nks_operator.runtime.cache import ObjectKey
from nks_operator.runtime.workqueue import ShutDown, WorkQueue

logger = logging.getLogger(__name__)


class Result(Protocol):
    requeue_after: float | None
    error: str | None


Reconcile = Callable[[ObjectKey], Awaitable[Result]]


def controller_name(key: ObjectKey) -> str:
    """controller-runtime's `controller` label: the kind in lower case."""
    return key.kind.lower()


class Workers:
    def __init__(
        self,
        queue: WorkQueue[ObjectKey],
        reconcile: Reconcile,
        *,
        count: int,
        metrics: OperatorMetrics,
    ) -> None:
        self.queue = queue
        self.reconcile = reconcile
        self.count = count
        self.metrics = metrics
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for number in range(self.count):
            self._tasks.append(asyncio.create_task(self._work(), name=f"worker-{number}"))

    async def stop(self) -> None:
        self.queue.shut_down()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _work(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            controller = controller_name(key)
            workers = self.metrics.active_workers.labels(controller)
            workers.inc()
            started = time.perf_counter()
            result: Result | None = None
            try:
                result = await self.reconcile(key)
            except Exception:
                # A bug must not end the worker: the key is retried with backoff.
                logger.exception("%s: reconcile failed", key)
            finally:
                workers.dec()
                seconds = time.perf_counter() - started
                self.queue.done(key, seconds)
            self._after(key, controller, seconds, result)

    def _after(
        self, key: ObjectKey, controller: str, seconds: float, result: Result | None
    ) -> None:
        label: ReconcileResult
        if result is None or result.error is not None:
            label = "error"
            if result is None or result.error == "transient":
                self.queue.add_rate_limited(key)
            else:
                self.queue.forget(key)
                if result.requeue_after is not None:
                    self.queue.add_after(key, result.requeue_after)
        else:
            self.queue.forget(key)
            if result.requeue_after is None:
                label = "success"
            elif result.requeue_after <= 0:
                label = "requeue"
                self.queue.add(key)
            else:
                label = "requeue_after"
                self.queue.add_after(key, result.requeue_after)
        terminal = result is not None and result.error == "terminal"
        self.metrics.record_reconcile(controller, seconds, label, terminal=terminal)
