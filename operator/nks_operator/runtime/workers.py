"""A fixed pool of workers taking keys from the work queue and reconciling them.

After each pass the worker decides the key's future, as controller-runtime does:

- a transient error (or a bug) requeues it with the key's exponential backoff (reset by
  the next success); a transient error asking for 0 seconds (a Kubernetes conflict: the
  pass worked on an old copy) runs it again at once, unless its last pass failed too;
- a terminal error is not retried: no backoff, no timer of its own. The key runs again
  when an input changes - the watch (spec, annotations, labels, deletion), the poller (NKS's
  state) or its parent wake it - or at the resync period, as every resource is looked at
  again (controller-runtime's SyncPeriod): the one path for inputs no event reports;
- a requested delay requeues it after that delay, and nothing more to do drops it.
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
    """What a pass says of its key (read only: a frozen result satisfies it)."""

    @property
    def requeue_after(self) -> float | None: ...

    @property
    def error(self) -> str | None: ...


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
        resync_seconds: float | None = None,
    ) -> None:
        """`resync_seconds`: when a key that ended in a terminal error is looked at again
        without an event (None: only on an event)."""
        self.queue = queue
        self.reconcile = reconcile
        self.count = count
        self.metrics = metrics
        self.resync_seconds = resync_seconds
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
        terminal = result is not None and result.error == "terminal"
        label = self._schedule(key, result)
        self.metrics.record_reconcile(controller, seconds, label, terminal=terminal)

    def _schedule(self, key: ObjectKey, result: Result | None) -> ReconcileResult:
        """Queue `key` again as `result` asks; the result label of the metrics."""
        if result is None or result.error == "transient":
            if result is not None and result.requeue_after == 0.0:
                # A conflict: the next pass works on the current object (backing off only
                # when the key's last pass failed too).
                self.queue.retry_now(key)
            else:
                self.queue.add_rate_limited(key)
            return "error"
        self.queue.forget(key)
        if result.error is not None:  # terminal: wait for an input to change
            if self.resync_seconds is not None:
                self.queue.add_after(key, self.resync_seconds)
            return "error"
        if result.requeue_after is None:
            return "success"
        if result.requeue_after <= 0:
            self.queue.add(key)
            return "requeue"
        self.queue.add_after(key, result.requeue_after)
        return "requeue_after"
