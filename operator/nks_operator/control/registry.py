"""Per-resource wake-up events and locks shared by daemons, deletion and watchers."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ResourceSlot:
    waker: asyncio.Event = field(default_factory=asyncio.Event)
    # Held for a whole reconcile pass, so deletion never overlaps a create call in flight.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # (task id, state) already posted as Events above the stored watermark.
    announced_tasks: set[tuple[int, str]] = field(default_factory=set)
    # Secret names (same namespace) whose change should trigger a pass.
    secrets: set[str] = field(default_factory=set)
    # Last Warning text posted per reason, so a repeated problem is not re-posted each pass.
    last_warnings: dict[str, str] = field(default_factory=dict)
    # What of the object last woke the daemon (generation, annotations): status-only
    # changes (our own writes) must not wake it again.
    last_trigger: str | None = None
    # NKS's IP ACL of a cluster, read at most once per slow resync (not in the list call).
    ip_acl: dict[str, Any] | None = None
    ip_acl_read_at: float = 0.0


class Registry:
    """Slots by resource uid, plus the indexes needed to wake the right ones.

    Every lookup is by key, never a scan of all resources: passes run thousands of times
    a minute at a few thousand resources, and a scan in each would be quadratic.
    """

    def __init__(self) -> None:
        self._slots: dict[str, ResourceSlot] = defaultdict(ResourceSlot)
        self._by_key: dict[tuple[str, str, str], str] = {}  # (kind, ns, name) -> uid
        self._keys: dict[str, tuple[str, str, str]] = {}  # uid -> (kind, ns, name)
        self._phases: dict[str, tuple[str, str]] = {}  # uid -> (kind, phase), for metrics
        self._phase_counts: dict[str, Counter[str]] = defaultdict(Counter)
        # Node groups by the (namespace, NKSCluster name) they belong to, and back.
        self._children: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._parents: dict[str, tuple[str, str]] = {}
        # The latest NKSCluster objects as kopf's watch delivered them, for node groups.
        self._clusters: dict[tuple[str, str], dict[str, Any]] = {}

    def record_phase(self, uid: str, kind: str, phase: str | None) -> None:
        old = self._phases.get(uid)
        if old is not None:
            self._count(old, -1)
        self._phases[uid] = (kind, phase or "Unknown")
        self._count(self._phases[uid], +1)

    def _count(self, kind_phase: tuple[str, str], step: int) -> None:
        kind, phase = kind_phase
        counts = self._phase_counts[kind]
        counts[phase] += step
        if counts[phase] <= 0:
            del counts[phase]

    def phase_counts(self, kind: str) -> dict[str, int]:
        return dict(self._phase_counts[kind])

    def slot(self, uid: str, kind: str, namespace: str, name: str) -> ResourceSlot:
        self._by_key[(kind, namespace, name)] = uid
        self._keys[uid] = (kind, namespace, name)
        return self._slots[uid]

    def forget(self, uid: str) -> None:
        self._slots.pop(uid, None)
        old = self._phases.pop(uid, None)
        if old is not None:
            self._count(old, -1)
        key = self._keys.pop(uid, None)
        if key is not None and self._by_key.get(key) == uid:
            del self._by_key[key]
        self.set_parent(uid, None)

    # -- node groups and their clusters -------------------------------------------------

    def set_parent(self, uid: str, parent: tuple[str, str] | None) -> None:
        """Node group `uid` belongs to `parent` (namespace, NKSCluster name) from now on."""
        old = self._parents.pop(uid, None)
        if old is not None:
            self._children[old].discard(uid)
            if not self._children[old]:
                del self._children[old]
        if parent is not None:
            self._parents[uid] = parent
            self._children[parent].add(uid)

    def wake_children(self, namespace: str, cluster_name: str) -> None:
        """Wake the node groups of one NKSCluster (they wait for it, or follow it)."""
        for uid in list(self._children.get((namespace, cluster_name), ())):
            self.wake_uid(uid)

    def remember_cluster(self, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        self._clusters[(meta["namespace"], meta["name"])] = body

    def forget_cluster(self, namespace: str, name: str) -> None:
        self._clusters.pop((namespace, name), None)

    def cluster(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The NKSCluster as last seen by the watch (None: not seen; ask the API)."""
        return self._clusters.get((namespace, name))

    def wake(self, kind: str, namespace: str, name: str, trigger: str | None = None) -> bool:
        """Wake a daemon; with `trigger`, only when it differs from the last one seen."""
        uid = self._by_key.get((kind, namespace, name))
        if uid is None or uid not in self._slots:
            return False
        slot = self._slots[uid]
        if trigger is not None:
            if trigger == slot.last_trigger:
                return False
            slot.last_trigger = trigger
        slot.waker.set()
        return True

    def wake_uid(self, uid: str) -> None:
        if uid in self._slots:
            self._slots[uid].waker.set()

    def wake_secret_users(self, namespace: str, secret_name: str) -> int:
        woken = 0
        for (_, ns, _), uid in list(self._by_key.items()):
            slot = self._slots.get(uid)
            if ns == namespace and slot is not None and secret_name in slot.secrets:
                slot.waker.set()
                woken += 1
        return woken
