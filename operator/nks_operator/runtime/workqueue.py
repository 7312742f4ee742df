"""A keyed work queue with controller-runtime's semantics.

- A key is queued once however often it is added before a worker takes it.
- A key is never processed by two workers at once: added while in flight, it is queued
  again when its worker calls `done()`.
- `add_after()` queues a key later (a requeue); an earlier deadline wins over a later one.
- `add_rate_limited()` queues a key after its own exponential backoff (base doubling per
  failure, up to a cap, with jitter) and an overall token bucket; `retry_now()` queues it at
  once the first time and backs off from the second failure in a row; `forget()` resets the
  key's failure count after a success.

Metrics are reported through an optional `QueueMetrics` so that this module stays free of
any Prometheus knowledge.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

K = TypeVar("K", bound=Hashable)


class QueueMetrics(Protocol):
    def added(self) -> None: ...
    def depth(self, value: int) -> None: ...
    def queued_for(self, seconds: float) -> None: ...
    def worked_for(self, seconds: float) -> None: ...
    def retried(self) -> None: ...


class ShutDown(Exception):
    """The queue was shut down: workers stop."""


@dataclass(frozen=True)
class Backoff:
    """Per-key exponential backoff plus an overall token bucket (controller-runtime's
    default rate limiter is the maximum of the same two)."""

    base_seconds: float = 0.5
    max_seconds: float = 300.0
    jitter_fraction: float = 0.1
    bucket_rate: float = 10.0  # retries per second across all keys
    bucket_burst: int = 100

    def delay(self, failures: int, rng: random.Random) -> float:
        exponent = min(failures, 32)  # 2**32 already exceeds any sane cap
        delay = min(self.base_seconds * (2.0**exponent), self.max_seconds)
        return delay * (1 + rng.uniform(-self.jitter_fraction, self.jitter_fraction))


class _TokenBucket:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.updated = clock()

    def reserve(self) -> float:
        """Take one token; returns how long to wait for it (0 when one was available)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class WorkQueue(Generic[K]):
    """Keys waiting for a worker; see the module docstring for the semantics."""

    def __init__(
        self,
        *,
        backoff: Backoff | None = None,
        metrics: QueueMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.backoff = backoff or Backoff()
        self.metrics = metrics
        self._clock = clock
        self._rng = rng or random.Random()
        self._bucket = _TokenBucket(self.backoff.bucket_rate, self.backoff.bucket_burst, clock)
        self._ready: dict[K, float] = {}  # queued keys (insertion order) -> when added
        self._processing: set[K] = set()
        self._dirty: dict[K, float] = {}  # added while processing -> when added
        self._failures: dict[K, int] = {}
        self._delayed: list[tuple[float, int, K]] = []  # heap of (due, seq, key)
        self._due: dict[K, float] = {}  # earliest pending deadline per delayed key
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self._shut_down = False

    # -- adding ------------------------------------------------------------------------

    def add(self, key: K) -> None:
        if self._shut_down:
            return
        if self.metrics is not None:
            self.metrics.added()
        now = self._clock()
        if key in self._processing:
            self._dirty.setdefault(key, now)
            return
        if key in self._ready:
            return
        self._ready[key] = now
        self._report_depth()
        self._wakeup.set()

    def add_after(self, key: K, seconds: float) -> None:
        """Queue `key` in `seconds`; a sooner pending deadline for it is kept."""
        if self._shut_down:
            return
        if seconds <= 0:
            self.add(key)
            return
        due = self._clock() + seconds
        current = self._due.get(key)
        if current is not None and current <= due:
            return
        self._due[key] = due
        heapq.heappush(self._delayed, (due, next(self._seq), key))
        self._wakeup.set()

    def add_rate_limited(self, key: K) -> float:
        """Queue `key` after its backoff; returns the delay chosen."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        delay = max(self.backoff.delay(failures, self._rng), self._bucket.reserve())
        if self.metrics is not None:
            self.metrics.retried()
        self.add_after(key, delay)
        return delay

    def retry_now(self, key: K) -> float:
        """Queue `key` at once, counted as a failure; one already failing waits its backoff
        instead, so a retry that keeps failing never spins. Returns the delay chosen."""
        if self._failures.get(key, 0):
            return self.add_rate_limited(key)
        self._failures[key] = 1
        if self.metrics is not None:
            self.metrics.retried()
        self.add(key)
        return 0.0

    def forget(self, key: K) -> None:
        """The key succeeded: its next failure starts the backoff from the base again."""
        self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        return self._failures.get(key, 0)

    def discard(self, key: K) -> None:
        """The object is gone: drop whatever is pending for it (an in-flight pass ends
        normally)."""
        self._ready.pop(key, None)
        self._dirty.pop(key, None)
        self._due.pop(key, None)  # its heap entries are skipped when they come due
        self._failures.pop(key, None)
        self._report_depth()

    # -- taking ------------------------------------------------------------------------

    async def get(self) -> K:
        """The next key to process; the caller must call `done(key)` afterwards."""
        while True:
            if self._shut_down:
                raise ShutDown
            self._promote_due()
            if self._ready:
                key = next(iter(self._ready))
                added = self._ready.pop(key)
                self._processing.add(key)
                self._report_depth()
                if self.metrics is not None:
                    self.metrics.queued_for(max(self._clock() - added, 0.0))
                return key
            self._wakeup.clear()
            timeout = None
            if self._delayed:
                timeout = max(self._delayed[0][0] - self._clock(), 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

    def done(self, key: K, worked_seconds: float | None = None) -> None:
        self._processing.discard(key)
        if worked_seconds is not None and self.metrics is not None:
            self.metrics.worked_for(worked_seconds)
        added = self._dirty.pop(key, None)
        if added is not None and key not in self._ready:
            self._ready[key] = added
            self._report_depth()
            self._wakeup.set()

    def _promote_due(self) -> None:
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            due, _, key = heapq.heappop(self._delayed)
            if self._due.get(key) != due:
                continue  # superseded by a sooner deadline, or discarded
            del self._due[key]
            self.add(key)

    # -- lifecycle ---------------------------------------------------------------------

    def shut_down(self) -> None:
        self._shut_down = True
        self._wakeup.set()

    def __len__(self) -> int:
        return len(self._ready)

    @property
    def in_flight(self) -> int:
        return len(self._processing)

    def due_in(self, key: K) -> float | None:
        """Seconds until `key` is queued by a delay; None when none is pending."""
        due = self._due.get(key)
        return None if due is None else due - self._clock()

    def pending(self, key: K) -> bool:
        """Queued, in flight, or due later."""
        return key in self._ready or key in self._processing or key in self._due

    def _report_depth(self) -> None:
        if self.metrics is not None:
            self.metrics.depth(len(self._ready))
