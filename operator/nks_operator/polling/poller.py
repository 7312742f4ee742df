"""The per-account poll loop: one cluster list per cycle, details only for what changed.

NKS has no watch. Polling every resource on its own (as ACK and Crossplane do) costs one
call per resource per cycle; here one `GET /v1/clusters` per (credentials, region) tells
which clusters changed, and only those get their details, node groups and task history
re-read. The list runs every `fast_seconds` while something is busy (an operation runs,
or the operator just wrote and waits to see it) and every `slow_seconds` (jittered)
otherwise. A busy cluster whose list entry did not change (node group operations do not
show in it) is re-read every `detail_seconds`, or every cycle while the operator waits
for what it sent to show (`expect_change`, bounded in time); once it shows (a state in
progress), its end shows in a list entry: the cluster's, compared every cycle anyway, or
a group's, looked at with one group list per cycle instead of a whole refresh.

A refresh reads the task history, the node group list and the cluster, and GETs only the
worker groups the list cannot vouch for (`_needs_get`): new ones, those whose list entry
changed, those a writer waits on or a new task names, and the rest after a while when
their cluster is read (a busy group every `detail_seconds`, an idle one every
`slow_seconds`). It GETs every group on a forced or first read, after a failed or
unreadable one, and when the cluster's entry changed while the operator awaited nothing
(a change made outside it). While only worker groups move (one runs an operation, none
ended or left, the list entry shows the cluster's GET unchanged but for its node count),
the last cluster GET is kept, for at most `slow_seconds` (`_kept_cluster`). A deletion
the list entry shows, with nothing else moved, is taken from it without a refresh; its
end shows there too (gone, or failed).

Whatever fails, the account lists at most once per `fast_seconds`: a failing list backs
off exponentially (with jitter) up to `slow_seconds`, and name lookups share the list. A
cluster whose detail reads fail is retried on a backoff of its own while the others go
on (one flaky answer never stalls the account); a 429 anywhere slows the whole account.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Hashable, Sequence
from typing import Any, Protocol

from nks_operator.nks import errors
from nks_operator.nks.models import Cluster, NodeGroup, TaskEvent, is_in_progress
from nks_operator.polling.snapshot import KEPT_TASKS, ClusterSnapshot
from nks_operator.polling.vouching import (
    EntryDigests,
    EntryKey,
    GroupRead,
    deleting,
    deleting_now,
    entry_key,
    groups_settled,
    listed_digest,
    task_groups,
    unmoved,
)

logger = logging.getLogger(__name__)

# What a list entry shows that a node group's operation moves (the sum of the groups'
# nodes): the last cluster GET is kept with the entry's value while only groups move.
_COUNTED = frozenset({"node_count"})
# What a list entry shows moving when the cluster's deletion starts.
_DELETION_MOVES = frozenset({"status", "status_reason", "node_count"})

# Clusters whose details one account re-reads at a time: with hundreds changing at once
# (a burst of creates) a serial cycle would hold every Ready back by hundreds of calls.
DETAIL_CONCURRENCY = 16


class NKSReader(Protocol):
    """The read calls the poller needs (NKSClient provides them)."""

    async def list_clusters(self) -> Sequence[Cluster]: ...
    async def get_cluster(self, cluster: str) -> Cluster: ...
    async def list_nodegroups(self, cluster: str) -> Sequence[NodeGroup]: ...
    async def get_nodegroup(self, cluster: str, nodegroup: str) -> NodeGroup: ...
    async def list_events(self, cluster: str) -> Sequence[TaskEvent]: ...


Waker = Callable[[Hashable], None]


def _kept(tasks: Sequence[TaskEvent]) -> list[TaskEvent]:
    """The newest tasks, oldest first (what a snapshot keeps)."""
    return sorted((t for t in tasks if t.id is not None), key=lambda t: t.id or 0)[-KEPT_TASKS:]


def _unreadable(listing: Sequence[Any]) -> list[Any]:
    """Entries a list answer held that could not be read (see nks.client's Listing)."""
    return list(getattr(listing, "unreadable", None) or [])


def _busy(snapshot: ClusterSnapshot) -> bool:
    """The cluster or one of its node groups is in the middle of an operation."""
    if snapshot.cluster is None or snapshot.gone:
        return False
    return (
        is_in_progress(snapshot.status)
        or any(is_in_progress(group.status) for group in snapshot.workers().values())
        # A task still running in the history read before the state: read both again.
        or any(task.state == "IN_PROGRESS" for task in snapshot.tasks[-10:])
    )


def _only_workers_busy(nodegroups: dict[str, NodeGroup]) -> bool:
    """A worker group's operation runs, and none of the control plane."""
    busy = [group.is_control_plane for group in nodegroups.values() if is_in_progress(group.status)]
    return bool(busy) and not any(busy)


class AccountPoller:
    """Keeps the `ClusterSnapshot`s of the watched clusters of one account current."""

    def __init__(
        self,
        reader: NKSReader,
        *,
        fast_seconds: float,
        slow_seconds: float,
        jitter_fraction: float = 0.2,
        detail_seconds: float | None = None,
        name: str = "account",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        detail_concurrency: int = DETAIL_CONCURRENCY,
        wake: Waker | None = None,
        autostart: bool = True,
    ) -> None:
        self.reader = reader
        # False: cycles run only when `poll()` is called (tests, one-shot readers).
        self.autostart = autostart
        self.fast_seconds = fast_seconds
        self.slow_seconds = max(slow_seconds, fast_seconds)
        self.jitter_fraction = jitter_fraction
        self.detail_seconds = detail_seconds or max(5 * fast_seconds, 10.0)
        self.name = name
        self.detail_concurrency = detail_concurrency
        # Tests pass a fake clock and its sleep; only the wait for a kick stays real.
        self._clock = clock
        self._sleep = sleep
        self._wake = wake or (lambda key: None)
        self._snapshots: dict[str, ClusterSnapshot] = {}
        self._watchers: dict[str, set[Hashable]] = {}
        self._fingerprints: dict[str, bytes] = {}  # cluster -> digest of its list entry
        self._entry_digests = EntryDigests()  # of the entries as listed, for the comparison
        self._forced: set[str] = set()
        self._full: set[str] = set()  # forced clusters whose every worker group is GET
        self._expecting: dict[str, float] = {}  # cluster -> until when a change is expected
        # cluster -> the node groups (names or uuids) a writer waits on; None: any of them
        self._expected_groups: dict[str, set[str] | None] = {}
        self._group_reads: dict[str, dict[str, GroupRead]] = {}  # cluster -> group uuid -> GET
        self._summaries: list[Cluster] = []
        self._unreadable_ids: set[str] = set()  # listed, but their entries could not be read
        self._listed_at = -1e9  # last successful list
        self._list_tried_at = -1e9  # last list attempt, failed or not
        self._list_error: errors.NKSError | None = None
        self._listing: asyncio.Task[None] | None = None
        self._group_lists: dict[str, asyncio.Future[Sequence[NodeGroup]]] = {}
        # cluster -> the group list a look read this cycle, for the refresh it calls for
        self._looked: dict[str, Sequence[NodeGroup]] = {}
        self._kick = asyncio.Event()
        self._failures = 0
        self._detail_failures: dict[str, tuple[int, float]] = {}  # cluster -> (count, retry at)
        self._task: asyncio.Task[None] | None = None
        self._rng = random.Random()
        self.last_error: errors.NKSError | None = None
        self.cycles = 0

    # -- what reconcilers call -----------------------------------------------------------

    def watch(self, cluster_id: str, key: Hashable) -> ClusterSnapshot:
        """`key` is woken whenever this cluster's snapshot changes; returns the snapshot."""
        self._watchers.setdefault(cluster_id, set()).add(key)
        snapshot = self._snapshots.get(cluster_id)
        if snapshot is None:
            snapshot = self._snapshots[cluster_id] = ClusterSnapshot(cluster_id)
        if not snapshot.detailed and not snapshot.gone:
            self._forced.add(cluster_id)
            self._kick.set()
        self._ensure_running()
        return snapshot

    def unwatch(self, cluster_id: str, key: Hashable) -> None:
        watchers = self._watchers.get(cluster_id)
        if watchers is None:
            return
        watchers.discard(key)
        if not watchers:
            del self._watchers[cluster_id]
            self._snapshots.pop(cluster_id, None)
            self._fingerprints.pop(cluster_id, None)
            self._entry_digests.forget(cluster_id)
            self._group_reads.pop(cluster_id, None)
            self._stop_expecting(cluster_id)

    def snapshot(self, cluster_id: str) -> ClusterSnapshot | None:
        return self._snapshots.get(cluster_id)

    def seconds_since_read(self, snapshot: ClusterSnapshot) -> float:
        """How old the snapshot's details are."""
        return self._clock() - snapshot.refreshed_at

    def expect_change(
        self, cluster_id: str, seconds: float = 120.0, nodegroups: Collection[str] | None = None
    ) -> None:
        """After a write: poll fast and re-read this cluster every cycle until a change shows
        (while it visibly runs, only the list entries are looked at every cycle, `_due`)
        and the cluster is idle again, for at most `seconds` (NKS may accept a request and
        drop it silently; a long operation is then re-read every `detail_seconds`).
        `nodegroups`: the worker groups (names or uuids) the write may change, GET every
        cycle meanwhile (the others when their list entry or a task says so); None: any
        of them."""
        known = (
            self._expected_groups.get(cluster_id, set()) if cluster_id in self._expecting else set()
        )
        self._expected_groups[cluster_id] = (
            None if known is None or nodegroups is None else known | set(nodegroups)
        )
        self._expecting[cluster_id] = self._clock() + seconds
        self.request_refresh(cluster_id, full=False)

    def _stop_expecting(self, cluster_id: str) -> None:
        self._expecting.pop(cluster_id, None)
        self._expected_groups.pop(cluster_id, None)

    def clock(self) -> float:
        """Now, on the clock of `ClusterSnapshot.refreshed_at`."""
        return self._clock()

    def request_refresh(self, cluster_id: str | None = None, *, full: bool = True) -> None:
        """Re-read now (as soon as the list interval allows); `cluster_id` in full (every
        worker group GET too) unless `full` is False."""
        if cluster_id is not None:
            self._forced.add(cluster_id)
            if full:
                self._full.add(cluster_id)
        self._kick.set()
        self._ensure_running()

    async def nodegroups_now(self, cluster_id: str) -> Sequence[NodeGroup]:
        """The cluster's node group list read now, one call for every caller asking while
        it is in flight (the deletion passes of a cluster's groups look at once)."""
        pending = self._group_lists.get(cluster_id)
        if pending is None:
            pending = asyncio.ensure_future(self.reader.list_nodegroups(cluster_id))
            self._group_lists[cluster_id] = pending

            def done(read: asyncio.Future[Sequence[NodeGroup]]) -> None:
                self._group_lists.pop(cluster_id, None)
                if not read.cancelled():
                    read.exception()  # retrieved here too: every caller may have left

            pending.add_done_callback(done)
        return await asyncio.shield(pending)

    async def find_by_name(self, name: str) -> list[Cluster]:
        """Clusters of this name (NKS names are not unique), from a list no older than one
        fast interval (shared by every caller)."""
        await self._list(max_age=self.fast_seconds)
        return [item for item in self._summaries if item.name == name]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- the list call ---------------------------------------------------------------------

    async def _list(self, max_age: float) -> None:
        """Make `_summaries` at most `max_age` old, listing at most once per fast interval
        (a failed list within that interval fails every caller without another call)."""
        now = self._clock()
        if now - self._listed_at <= max_age:
            return
        if self._listing is None:
            if self._list_error is not None and now - self._list_tried_at < self.fast_seconds:
                raise self._list_error
            wait = self._list_tried_at + self.fast_seconds - now
            self._listing = asyncio.create_task(self._list_now(max(wait, 0.0)))
        await asyncio.shield(self._listing)
        if self._list_error is not None and self._clock() - self._listed_at > max_age:
            raise self._list_error

    async def _list_now(self, wait: float) -> None:
        try:
            if wait > 0:
                await self._sleep(wait)
            self._list_tried_at = self._clock()
            try:
                summaries = await self.reader.list_clusters()
            except errors.NKSError as error:
                self._list_error = error
                return
            self._list_error = None
            self._summaries = list(summaries)
            self._listed_at = self._list_tried_at
            self._unreadable_ids = set()
            for entry in _unreadable(summaries):
                uuid = getattr(entry, "uuid", None)
                if uuid:
                    self._unreadable_ids.add(uuid)
                snapshot = self._snapshots.get(uuid) if uuid else None
                if snapshot is not None:
                    self._set_problem(snapshot, "cluster", str(getattr(entry, "problem", "")))
                else:
                    logger.warning(
                        "NKS listed a cluster of %s that cannot be read: %s",
                        self.name,
                        getattr(entry, "problem", entry),
                    )
        finally:
            self._listing = None

    # -- the loop --------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self.autostart and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(), name=f"nks-poller-{self.name}")

    def _busy(self) -> bool:
        now = self._clock()
        return (
            bool(self._detail_failures)  # a read to retry soon
            or any(until > now for until in self._expecting.values())
            or any(_busy(snapshot) for snapshot in self._snapshots.values())
        )

    def _backoff(self, failures: int) -> float:
        """fast, 2 fast, 4 fast, ... up to slow; jitter never below one fast interval."""
        base = min(self.slow_seconds, self.fast_seconds * 2.0 ** (failures - 1))
        jittered = base * (1 + self._rng.uniform(-self.jitter_fraction, self.jitter_fraction))
        return min(max(jittered, self.fast_seconds), self.slow_seconds)

    def _next_delay(self) -> float:
        if self._failures:
            return self._backoff(self._failures)
        if self._busy():
            return self.fast_seconds
        spread = self.slow_seconds * self.jitter_fraction
        return self.slow_seconds + self._rng.uniform(-spread, spread)

    async def poll(self) -> None:
        """One poll cycle now (the loop's step; tests call it directly)."""
        self._kick.clear()
        try:
            throttled = await self._cycle()
        except errors.NKSError as error:
            self._failed(error)
        else:
            recovered = self.last_error is not None
            self._failures = 0
            self.last_error = None
            if throttled is not None:
                self._slow_down(throttled)
            if recovered:
                self._notify_all()  # their resources stop reporting the outage
        self.cycles += 1

    async def _run(self) -> None:
        while self._watchers or self._forced:
            await self.poll()
            delay = self._next_delay()
            if self._failures == 0:
                # A kick (new cluster, re-read request) shortens the wait, never below the
                # list interval, which `_list` enforces.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._kick.wait(), delay)
            else:
                await self._sleep(delay)
        self._task = None

    def _failed(self, error: errors.NKSError) -> None:
        """The list failed: what NKS holds for this account is unknown."""
        first = self.last_error is None
        self.last_error = error
        self._slow_down(error)
        logger.warning("Polling %s failed (%d in a row): %s", self.name, self._failures, error)
        if first:
            self._notify_all()  # their resources report the outage (and back off on their own)

    def _slow_down(self, error: errors.NKSError) -> None:
        """One more failure in a row; Retry-After is honoured by counting enough failures
        to wait at least that long."""
        self._failures = self._failures_for(self._failures + 1, error)

    def _failures_for(self, failures: int, error: errors.NKSError) -> int:
        if isinstance(error, errors.RateLimitedError) and error.retry_after:
            while (
                self.fast_seconds * 2 ** (failures - 1) < error.retry_after
                and self.fast_seconds * 2 ** (failures - 1) < self.slow_seconds
            ):
                failures += 1
        return failures

    async def _cycle(self) -> errors.RateLimitedError | None:
        """One list and the details it calls for; returns a 429 a detail read drew (the
        account then slows down). A failing list fails the cycle."""
        ids = list(self._watchers) + [c for c in self._forced if c not in self._watchers]
        summaries = await self.cycle_summaries(ids)
        by_id = {item.uuid: item for item in summaries}
        now = self._clock()
        limit = asyncio.Semaphore(self.detail_concurrency)

        async def check(cluster_id: str) -> None:
            async with limit:
                await self._check(cluster_id, by_id.get(cluster_id), now)

        outcomes = await asyncio.gather(*(check(c) for c in ids), return_exceptions=True)
        throttled: errors.RateLimitedError | None = None
        for outcome in outcomes:
            if isinstance(outcome, errors.RateLimitedError):
                throttled = outcome
            elif isinstance(outcome, BaseException):
                raise outcome  # a bug, not an NKS answer
        return throttled

    async def cycle_summaries(self, ids: list[str]) -> list[Cluster]:
        """The list entries a cycle compares with its snapshots: one fresh list of the
        account's clusters (bench/per_resource.py reads them one GET per cluster instead,
        the baseline it compares with)."""
        await self._list(max_age=0.0)
        return self._summaries

    async def _check(self, cluster_id: str, summary: Cluster | None, now: float) -> None:
        """Re-read one cluster's details when its list entry says it may have changed."""
        snapshot = self._snapshots.get(cluster_id)
        if snapshot is None:
            snapshot = self._snapshots[cluster_id] = ClusterSnapshot(cluster_id)
        forced, full = cluster_id in self._forced, cluster_id in self._full
        self._forced.discard(cluster_id)
        self._full.discard(cluster_id)
        if self._expecting.get(cluster_id, now + 1) <= now:
            self._stop_expecting(cluster_id)
        try:
            if self._detail_failures.get(cluster_id, (0, now))[1] > now:
                pass  # its reads failed lately: retried after its own backoff
            elif summary is None:
                # Confirmed gone once is gone: no GET per cycle for a deleted cluster.
                if cluster_id not in self._unreadable_ids and not snapshot.gone:
                    await self._confirm_gone(snapshot)
            else:
                fingerprint = self._entry_digests.of(cluster_id, summary)
                changed = fingerprint != self._fingerprints.get(cluster_id)
                # In full: after an answer that could not be read (every cycle until it
                # can be), and on a change nobody awaits (made outside the operator:
                # nothing tells which of its groups it touched).
                unreadable = bool(snapshot.problems)
                unawaited = changed and cluster_id not in self._expecting
                if changed or forced or unreadable or await self._due(snapshot, summary, now):
                    self._fingerprints[cluster_id] = fingerprint
                    full = full or unreadable or unawaited
                    await self._read_listed(snapshot, summary, full=full)
                    self._fingerprints[cluster_id] = listed_digest(summary, snapshot, fingerprint)
        except errors.NKSError as error:
            self._read_failed(snapshot, error)
            if isinstance(error, errors.RateLimitedError):
                raise
        finally:
            self._looked.pop(cluster_id, None)
            if cluster_id not in self._watchers:
                self._snapshots.pop(cluster_id, None)
                self._fingerprints.pop(cluster_id, None)
                self._group_reads.pop(cluster_id, None)
                self._detail_failures.pop(cluster_id, None)
                self._entry_digests.forget(cluster_id)

    async def _read_listed(
        self, snapshot: ClusterSnapshot, summary: Cluster, *, full: bool
    ) -> None:
        """The refresh a list entry calls for; a deletion it shows needs none."""
        if full or not self._deletion_listed(snapshot, summary):
            await self._refresh_details(snapshot, full=full, summary=summary)

    def _deletion_listed(self, snapshot: ClusterSnapshot, summary: Cluster) -> bool:
        """The list entry shows the cluster being deleted and nothing else moved since
        the last read: the snapshot takes the state from it instead of a refresh (nothing
        but the state matters any more; the end shows in the list, gone or failed)."""
        last = snapshot.cluster
        if not (
            deleting(summary.status)
            and last is not None
            and snapshot.detailed
            and not snapshot.problems
            and snapshot.read_error is None
            and unmoved(summary, last, _DELETION_MOVES)
        ):
            return False
        moved = {name: getattr(summary, name) for name in _DELETION_MOVES}
        if any(getattr(last, name) != value for name, value in moved.items()):
            snapshot.cluster = last.model_copy(update=moved)
            snapshot.version += 1
            self._notify(snapshot.uuid)
        snapshot.checked_at = self._clock()
        return True

    async def _due(self, snapshot: ClusterSnapshot, summary: Cluster, now: float) -> bool:
        """Whether a cluster whose list entry did not change is read again now: never read,
        busy (not deleting: that ends in its entry) and not read for `detail_seconds`, or
        awaited by the operator (every cycle until what it sent shows)."""
        expecting = snapshot.uuid in self._expecting
        busy = expecting or is_in_progress(summary.status) or _busy(snapshot)
        age = now - snapshot.refreshed_at
        if not snapshot.detailed:
            return True
        if deleting(summary.status) and deleting(snapshot.status):
            return False  # its end shows in the list entry: gone, or failed
        if busy and age >= self.detail_seconds:
            return True
        if not expecting or age < self.fast_seconds:
            return False
        # Node group operations never show in the cluster's list entry; once what the
        # operator sent shows (a state in progress), its end shows in the list entries.
        if not snapshot.busy or await self._groups_moved(snapshot):
            return True
        snapshot.checked_at = now
        return False

    async def _groups_moved(self, snapshot: ClusterSnapshot) -> bool:
        """While an operation visibly runs: whether a list entry may show its end. The
        cluster's own shows in its list entry (compared before; the groups a create or
        delete of the cluster moves end with it); a worker group's in the group list,
        read here (one call instead of a refresh) and handed to the refresh it calls for:
        that one reads the task history after it, and GETs after the history every group
        a new task names, so a state read before a task ended never stands for it."""
        if is_in_progress(snapshot.status) or not any(
            is_in_progress(group.status) for group in snapshot.workers().values()
        ):
            return False  # the cluster's own operation (its groups' with it): its entry tells
        try:
            listed = await self.reader.list_nodegroups(snapshot.uuid)
        except errors.NotFoundError:
            return True  # the refresh reads it gone
        reads = self._group_reads.get(snapshot.uuid, {})
        workers = [item for item in listed if not item.is_control_plane]
        moved = (
            bool(_unreadable(listed))
            or {item.uuid for item in workers} != set(reads)
            or any(reads[item.uuid].entry != entry_key(item) for item in workers)
        )
        if moved:
            self._looked[snapshot.uuid] = listed
        return moved

    def _read_failed(self, snapshot: ClusterSnapshot, error: errors.NKSError) -> None:
        """A detail read of this cluster failed: its resources say so (nothing is planned on
        the old view) and it is read again, in full, after a backoff of its own."""
        cluster_id = snapshot.uuid
        failures = self._failures_for(self._detail_failures.get(cluster_id, (0, 0.0))[0] + 1, error)
        self._detail_failures[cluster_id] = (failures, self._clock() + self._backoff(failures))
        self._fingerprints.pop(cluster_id, None)
        self._group_reads.pop(cluster_id, None)  # read in full once it answers again
        logger.info(
            "Reading cluster %s of %s failed (%d in a row): %s",
            cluster_id,
            self.name,
            failures,
            error,
        )
        if snapshot.read_error is None:
            snapshot.read_error = str(error)
            snapshot.version += 1
            self._notify(cluster_id)

    async def _confirm_gone(self, snapshot: ClusterSnapshot) -> None:
        try:
            details = await self.reader.get_cluster(snapshot.uuid)
        except errors.NotFoundError:
            if self._answered(snapshot) or not snapshot.gone:
                snapshot.gone = True
                snapshot.version += 1
                self._notify(snapshot.uuid)
            return
        except errors.InvalidResponseError as error:
            changed = self._answered(snapshot)
            self._set_problem(snapshot, "cluster", error.message, force=changed)
            return
        # Listed nowhere but still readable (e.g. pagination race): keep it.
        snapshot.cluster_read_at = self._clock()
        await self._refresh_details(snapshot, details, full=True)

    async def _refresh_details(
        self,
        snapshot: ClusterSnapshot,
        details: Cluster | None = None,
        *,
        full: bool = False,
        summary: Cluster | None = None,
    ) -> None:
        """Read the cluster's task history, node groups and details (`full`: GET every
        worker group, whatever its list entry says; `summary`: the list entry this read
        follows, which may vouch for the last cluster GET)."""
        cluster_id = snapshot.uuid
        problems: dict[str, str] = {}
        try:
            # Task history first: a task it shows finished is then reflected in the state
            # read after it, so a finished operation is never mistaken for a pending one.
            tasks = await self.reader.list_events(cluster_id)
            kept = _kept(tasks)
            wanted = self._wanted_groups(snapshot, kept, full)
            nodegroups = await self._read_nodegroups(snapshot, problems, wanted)
            if details is None:
                details = self._kept_cluster(snapshot, summary, nodegroups, full)
            if details is None:
                details = await self.reader.get_cluster(cluster_id)
                snapshot.cluster_read_at = self._clock()
        except errors.NotFoundError:
            self._answered(snapshot)
            snapshot.gone = True
            snapshot.version += 1
            self._notify(cluster_id)
            return
        except errors.InvalidResponseError as error:
            # This cluster's answer is unreadable; the others go on.
            changed = self._answered(snapshot)
            self._set_problem(snapshot, "cluster", error.message, force=changed)
            snapshot.refreshed_at = self._clock()
            return
        for entry in _unreadable(tasks):
            logger.warning("NKS task of cluster %s cannot be read: %s", cluster_id, entry)
        recovered = self._answered(snapshot)
        before = (snapshot.cluster, snapshot.nodegroups, snapshot.tasks, snapshot.problems)
        snapshot.cluster, snapshot.nodegroups, snapshot.tasks = details, nodegroups, kept
        snapshot.detailed, snapshot.gone, snapshot.problems = True, False, problems
        snapshot.refreshed_at = self._clock()
        changed = before != (details, nodegroups, kept, problems)
        if recovered or changed or snapshot.version == 0:
            snapshot.version += 1
            if changed and not _busy(snapshot):
                # What a writer waited for has happened and ended (or was never begun).
                self._stop_expecting(cluster_id)
            self._notify(cluster_id)

    def _kept_cluster(
        self,
        snapshot: ClusterSnapshot,
        summary: Cluster | None,
        nodegroups: dict[str, NodeGroup],
        full: bool,
    ) -> Cluster | None:
        """The last cluster GET, with the list entry's node count, while only worker
        groups move: an operation of one of them runs and none ended or left since the
        last read (what the GET shows of their nodes moves at the end, which is read), the
        list entry shows the rest of the GET unchanged, and no write to the cluster itself
        is awaited. None: GET it (and at least every `slow_seconds` anyway)."""
        last = snapshot.cluster
        if (
            full
            or summary is None
            or last is None
            or not snapshot.detailed
            or snapshot.problems
            or self._expected_groups.get(snapshot.uuid, set()) is None
            or self._clock() - snapshot.cluster_read_at >= self.slow_seconds
            or is_in_progress(summary.status)
            or not _only_workers_busy(nodegroups)
            or groups_settled(snapshot.nodegroups, nodegroups)
            or not unmoved(summary, last, _COUNTED)
        ):
            return None
        if summary.node_count == last.node_count:
            return last
        return last.model_copy(update={"node_count": summary.node_count})

    def _wanted_groups(
        self, snapshot: ClusterSnapshot, tasks: Sequence[TaskEvent], full: bool
    ) -> set[str] | None:
        """The worker groups (names or uuids) to GET whatever their list entries say; None:
        all of them (a forced or first read, a write to the cluster itself, a new task that
        names no group)."""
        expected = self._expected_groups.get(snapshot.uuid, set())
        if full or not snapshot.detailed or expected is None:
            return None
        named = task_groups(snapshot.tasks, tasks)
        return None if named is None else named | expected

    def _needs_get(self, key: EntryKey, read: GroupRead | None, wanted: bool) -> bool:
        """The list entry has no version, labels or addresses: a group is GET when its
        entry cannot vouch for the last GET (new, changed, written to, named by a new task),
        and anyway once its last GET is `detail_seconds` old while it is busy (its
        addresses and reason move while the state does not) or `slow_seconds` old."""
        if wanted or read is None or read.entry != key:
            return True
        age = self._clock() - read.at
        return age >= (self.detail_seconds if is_in_progress(key.status) else self.slow_seconds)

    async def _group_list(self, cluster_id: str) -> Sequence[NodeGroup]:
        """The list a look read this cycle (`_groups_moved`), else a fresh one."""
        listed = self._looked.pop(cluster_id, None)
        return await self.reader.list_nodegroups(cluster_id) if listed is None else listed

    async def _read_nodegroups(
        self, snapshot: ClusterSnapshot, problems: dict[str, str], wanted: set[str] | None
    ) -> dict[str, NodeGroup]:
        """One list per cluster and a GET per worker group the list entry cannot vouch for
        (`_needs_get`): the entry has no version or labels, so an operation that ran
        between two reads shows only in the GET (or in the task history, which names the
        group); `wanted` None GETs every worker group."""
        listed = await self._group_list(snapshot.uuid)
        for entry in _unreadable(listed):
            key = getattr(entry, "name", None) or getattr(entry, "uuid", None)
            if key:
                problems[str(key)] = str(getattr(entry, "problem", ""))
        reads = self._group_reads.get(snapshot.uuid, {})
        fresh: dict[str, GroupRead] = {}
        result: dict[str, NodeGroup] = {}
        for item in listed:
            name = item.name or item.uuid
            if item.is_control_plane:
                result[name] = item  # the control plane: its GET answers 403
                continue
            read, key = reads.get(item.uuid), entry_key(item)
            named = wanted is None or name in wanted or item.uuid in wanted
            if read is not None and not self._needs_get(key, read, named):
                result[name], fresh[item.uuid] = read.answer, read
                continue
            if read is not None and deleting_now(read, key):
                # Only its state moved, to deleting: nothing of its GET matters any more.
                answer = read.answer.model_copy(update={"status": item.status})
                result[name], fresh[item.uuid] = answer, GroupRead(key, answer, read.at)
                continue
            try:
                result[name] = await self.reader.get_nodegroup(snapshot.uuid, item.uuid)
                fresh[item.uuid] = GroupRead(key, result[name], self._clock())
            except errors.NotFoundError:
                continue  # deleted between list and get
            except errors.ForbiddenError:
                result[name] = item
            except errors.InvalidResponseError as error:
                problems[name] = error.message
                problems[item.uuid] = error.message
                result[name] = item
        self._group_reads[snapshot.uuid] = fresh
        return result

    def _answered(self, snapshot: ClusterSnapshot) -> bool:
        """NKS answered a detail read: the cluster's backoff ends; True if it had failed."""
        self._detail_failures.pop(snapshot.uuid, None)
        failed, snapshot.read_error = snapshot.read_error is not None, None
        return failed

    def _set_problem(
        self, snapshot: ClusterSnapshot, what: str, problem: str, *, force: bool = False
    ) -> None:
        if force or snapshot.problems.get(what) != problem:
            snapshot.problems = {**snapshot.problems, what: problem}
            snapshot.version += 1
            self._notify(snapshot.uuid)

    def _notify_all(self) -> None:
        for cluster_id in list(self._watchers):
            self._notify(cluster_id)

    def _notify(self, cluster_id: str) -> None:
        for key in list(self._watchers.get(cluster_id, ())):
            self._wake(key)
