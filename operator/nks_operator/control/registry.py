"""Per-resource wake-up events and locks shared by daemons, deletion and watchers."""

from __future__ import annotations

import asyncio
from collections import defaultdict
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
    """Slots by resource uid, plus the indexes needed to wake the right ones."""

    def __init__(self) -> None:
        self._slots: dict[str, ResourceSlot] = defaultdict(ResourceSlot)
        self._by_key: dict[tuple[str, str, str], str] = {}  # (kind, ns, name) -> uid
        self._phases: dict[str, tuple[str, str]] = {}  # uid -> (kind, phase), for metrics

    def record_phase(self, uid: str, kind: str, phase: str | None) -> None:
        self._phases[uid] = (kind, phase or "Unknown")

    def phase_counts(self, kind: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for k, phase in self._phases.values():
            if k == kind:
                counts[phase] = counts.get(phase, 0) + 1
        return counts

    def slot(self, uid: str, kind: str, namespace: str, name: str) -> ResourceSlot:
        self._by_key[(kind, namespace, name)] = uid
        return self._slots[uid]

    def forget(self, uid: str) -> None:
        self._slots.pop(uid, None)
        self._phases.pop(uid, None)
        for key, value in list(self._by_key.items()):
            if value == uid:
                del self._by_key[key]

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

    def wake_kind(self, kind: str, namespace: str) -> None:
        for (k, ns, _), uid in list(self._by_key.items()):
            if k == kind and ns == namespace and uid in self._slots:
                self._slots[uid].waker.set()
