"""The per-account poll loop: one cluster list per cycle, details only for what changed.

NKS has no watch. Polling every resource on its own (as ACK and Crossplane do) costs one
call per resource per cycle; here one `GET /v1/clusters` per (credentials, region) tells
which clusters changed, and only those get their details, node groups and task history
re-read. The loop runs fast while something is in progress and slowly otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any, Protocol

from nks_operator.nks import errors
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile.phase import is_in_progress

logger = logging.getLogger(__name__)

# Clusters whose details one account re-reads at a time: with hundreds changing at once
# (a burst of creates) a serial cycle would hold every Ready back by hundreds of calls.
DETAIL_CONCURRENCY = 8


class NKSReader(Protocol):
    """The read calls the poller needs (an NKSClient adapter provides them as wire dicts)."""

    async def list_clusters(self) -> list[dict[str, Any]]: ...
    async def get_cluster(self, cluster_id: str) -> dict[str, Any]: ...
    async def list_nodegroups(self, cluster_id: str) -> list[dict[str, Any]]: ...
    async def get_nodegroup(self, cluster_id: str, nodegroup_id: str) -> dict[str, Any]: ...
    async def list_events(self, cluster_id: str) -> list[dict[str, Any]]: ...


def _busy(snapshot: ClusterSnapshot) -> bool:
    """The cluster or one of its node groups is in the middle of an operation."""
    if snapshot.details is None:
        return False
    return (
        is_in_progress(snapshot.status)
        or any(
            is_in_progress(group.get("status"))
            for name, group in snapshot.nodegroups.items()
            if name != "default-master"
        )
        # A task still running in the history read before the state: read both again.
        or any(task.get("state") == "IN_PROGRESS" for task in snapshot.events[-20:])
    )


def _fingerprint(item: dict[str, Any]) -> str:
    return json.dumps(item, sort_keys=True, default=str)


class AccountPoller:
    """Keeps `ClusterSnapshot`s of the watched clusters of one account current."""

    def __init__(
        self,
        reader: NKSReader,
        *,
        fast_seconds: float,
        slow_seconds: float,
        jitter_fraction: float = 0.2,
        name: str = "account",
        clock: Callable[[], float] = time.monotonic,
        per_resource: bool = False,
        detail_concurrency: int = DETAIL_CONCURRENCY,
    ) -> None:
        self.reader = reader
        self.detail_concurrency = detail_concurrency
        # Benchmark baseline: one GET per cluster per cycle instead of one list.
        self.per_resource = per_resource
        self.fast_seconds = fast_seconds
        self.slow_seconds = slow_seconds
        self.jitter_fraction = jitter_fraction
        self.name = name
        self._clock = clock
        self.snapshots: dict[str, ClusterSnapshot] = {}
        self._watchers: dict[str, set[asyncio.Event]] = {}
        self._fingerprints: dict[str, str] = {}
        self._forced: set[str] = set()
        self._fast_until: dict[str, float] = {}
        self._summaries: list[dict[str, Any]] = []
        self._listed_at = -1e9
        self._listing: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()
        self._cycle_done = asyncio.Condition()
        self._cycles = 0
        self._in_cycle = False
        self._refresh_waiters = 0
        self._task: asyncio.Task[None] | None = None
        self.last_error: errors.NKSError | None = None

    # -- what controllers call ---------------------------------------------------------

    def watch(self, cluster_id: str, waker: asyncio.Event) -> ClusterSnapshot:
        """Be woken (`waker.set()`) whenever this cluster's snapshot changes."""
        self._watchers.setdefault(cluster_id, set()).add(waker)
        snapshot = self.snapshots.setdefault(cluster_id, ClusterSnapshot(cluster_id))
        if snapshot.details is None:
            self._forced.add(cluster_id)
            self._kick.set()
        self._ensure_running()
        return snapshot

    def unwatch(self, cluster_id: str, waker: asyncio.Event) -> None:
        watchers = self._watchers.get(cluster_id)
        if watchers is not None:
            watchers.discard(waker)
            if not watchers:
                del self._watchers[cluster_id]
                self.snapshots.pop(cluster_id, None)
                self._fingerprints.pop(cluster_id, None)

    def expect_change(self, cluster_id: str, seconds: float = 120.0) -> None:
        """After a write: poll fast and re-read this cluster until a change shows up.

        NKS may accept a request and drop it silently, so the fast window is bounded.
        """
        self._fast_until[cluster_id] = self._clock() + seconds
        self._forced.add(cluster_id)
        self._kick.set()

    async def refresh(self, cluster_id: str | None = None, wait_seconds: float = 60.0) -> None:
        """Run a cycle now (re-reading `cluster_id` in full) and wait for it to finish."""
        if cluster_id is not None:
            self._forced.add(cluster_id)
        self._refresh_waiters += 1
        try:
            async with self._cycle_done:
                # A cycle already running may have missed the request: wait for the next.
                target = self._cycles + (2 if self._in_cycle else 1)
                self._kick.set()
                self._ensure_running()
                await asyncio.wait_for(
                    self._cycle_done.wait_for(lambda: self._cycles >= target), wait_seconds
                )
        finally:
            self._refresh_waiters -= 1

    async def find_by_name(self, name: str, max_age: float = 1.0) -> list[dict[str, Any]]:
        """Clusters of this name (NKS names are not unique), from a list at most `max_age` old."""
        if self._clock() - self._listed_at > max_age:
            # Single flight: a burst of new resources shares one list call, instead of
            # each parsing its own copy of a list as long as the burst.
            if self._listing is None:
                self._listing = asyncio.create_task(self._list_all())
            await asyncio.shield(self._listing)
        return [item for item in self._summaries if item.get("name") == name]

    async def _list_all(self) -> None:
        try:
            self._summaries = await self.reader.list_clusters()
            self._listed_at = self._clock()
        finally:
            self._listing = None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- the loop ----------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"nks-poller-{self.name}")

    def _next_delay(self) -> float:
        now = self._clock()
        busy = any(until > now for until in self._fast_until.values()) or any(
            _busy(snapshot) for snapshot in self.snapshots.values() if not snapshot.gone
        )
        if busy:
            return self.fast_seconds
        spread = self.slow_seconds * self.jitter_fraction
        return self.slow_seconds + random.uniform(-spread, spread)

    async def _run(self) -> None:
        while self._watchers or self._forced or self._refresh_waiters:
            delay = self.fast_seconds
            self._kick.clear()
            try:
                self._in_cycle = True
                await self._cycle()
                self.last_error = None
                delay = self._next_delay()
            except errors.RateLimitedError as error:
                self.last_error = error
                delay = max(self.fast_seconds, error.retry_after or self.slow_seconds / 4)
                logger.warning("NKS rate limit on %s; next poll in %.1fs", self.name, delay)
            except errors.NKSError as error:
                self.last_error = error
                delay = min(self.slow_seconds, max(self.fast_seconds * 3, 5.0))
                logger.warning("Polling %s failed: %s", self.name, error)
                for watchers in self._watchers.values():
                    for waker in watchers:
                        waker.set()
            finally:
                self._in_cycle = False
                async with self._cycle_done:
                    self._cycles += 1
                    self._cycle_done.notify_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), delay)
        self._task = None

    async def _list(self) -> list[dict[str, Any]]:
        if not self.per_resource:
            return await self.reader.list_clusters()
        found = []
        for cluster_id in list(self._watchers) + sorted(self._forced - set(self._watchers)):
            try:
                found.append(await self.reader.get_cluster(cluster_id))
            except errors.NotFoundError:
                continue
        return found

    async def _cycle(self) -> None:
        summaries = await self._list()
        if not self.per_resource:  # per-resource reads only see the watched clusters
            self._summaries, self._listed_at = summaries, self._clock()
        by_id = {item.get("uuid"): item for item in summaries}
        now = self._clock()
        limit = asyncio.Semaphore(self.detail_concurrency)

        async def check(cluster_id: str) -> None:
            async with limit:
                await self._check(cluster_id, by_id.get(cluster_id), now)

        ids = list(self._watchers) + [c for c in self._forced if c not in self._watchers]
        outcomes = await asyncio.gather(*(check(c) for c in ids), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome  # the first failure fails the cycle, after all finished

    async def _check(self, cluster_id: str, summary: dict[str, Any] | None, now: float) -> None:
        """Re-read one cluster's details when its list entry says it may have changed."""
        snapshot = self.snapshots.setdefault(cluster_id, ClusterSnapshot(cluster_id))
        forced = cluster_id in self._forced
        self._forced.discard(cluster_id)
        if summary is None:
            await self._confirm_gone(snapshot)
            return
        fingerprint = _fingerprint(summary)
        changed = fingerprint != self._fingerprints.get(cluster_id)
        fast = self._fast_until.get(cluster_id, 0) > now
        if (
            changed
            or forced
            or fast
            or snapshot.details is None
            or is_in_progress(summary.get("status"))
            or _busy(snapshot)
        ):
            self._fingerprints[cluster_id] = fingerprint
            snapshot.summary = summary
            await self._refresh_details(snapshot)
        if cluster_id not in self._watchers:
            self.snapshots.pop(cluster_id, None)

    async def _confirm_gone(self, snapshot: ClusterSnapshot) -> None:
        try:
            details = await self.reader.get_cluster(snapshot.uuid)
        except errors.NotFoundError:
            if not snapshot.gone:
                snapshot.gone = True
                snapshot.version += 1
                self._wake(snapshot.uuid)
            return
        # Listed nowhere but still readable (e.g. pagination race): keep it.
        snapshot.summary = details
        await self._refresh_details(snapshot, details)

    async def _refresh_details(
        self, snapshot: ClusterSnapshot, details: dict[str, Any] | None = None
    ) -> None:
        cluster_id = snapshot.uuid
        try:
            # Task history first: a task it shows finished is then reflected in the state
            # read after it, so a finished operation is never mistaken for a pending one.
            events = await self.reader.list_events(cluster_id)
            details = details or await self.reader.get_cluster(cluster_id)
            nodegroups = await self._read_nodegroups(snapshot)
        except errors.NotFoundError:
            snapshot.gone = True
            snapshot.version += 1
            self._wake(cluster_id)
            return
        before = (_fingerprint(snapshot.details or {}), _fingerprint(snapshot.nodegroups))
        snapshot.details, snapshot.nodegroups, snapshot.gone = details, nodegroups, False
        snapshot.events = sorted(events, key=lambda e: e.get("id") or 0)
        snapshot.refreshed_at = self._clock()
        if before != (_fingerprint(details), _fingerprint(nodegroups)) or snapshot.version == 0:
            snapshot.version += 1
            # The change a writer waited for has shown up; in-progress states keep the
            # loop fast from here on.
            self._fast_until.pop(cluster_id, None)
        self._wake(cluster_id)

    async def _read_nodegroups(self, snapshot: ClusterSnapshot) -> dict[str, dict[str, Any]]:
        """One list per cluster; a GET only for groups whose list entry changed."""
        listed = await self.reader.list_nodegroups(snapshot.uuid)
        result: dict[str, dict[str, Any]] = {}
        for item in listed:
            name = item.get("name") or ""
            previous = snapshot.nodegroups.get(name)
            unchanged = previous is not None and all(
                previous.get(key) == value for key, value in item.items()
            )
            if unchanged and not is_in_progress(item.get("status")):
                result[name] = previous
                continue
            try:
                result[name] = await self.reader.get_nodegroup(snapshot.uuid, item["uuid"])
            except errors.NotFoundError:
                continue  # deleted between list and get
            except errors.ForbiddenError:
                result[name] = dict(item)  # default-master and similar: list data only
        return result

    def _wake(self, cluster_id: str) -> None:
        for waker in self._watchers.get(cluster_id, ()):
            waker.set()
