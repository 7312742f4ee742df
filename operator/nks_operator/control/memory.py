"""What the operator remembers of each resource between passes (never persisted).

Everything here may be lost on restart at no cost but a repeated read or Event: the
durable state lives in the resource's status and metadata.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from nks_operator.polling.poller import AccountPoller
from nks_operator.runtime.cache import ObjectKey


@dataclass
class ResourceMemory:
    # Last Warning text posted per reason, so a repeated problem is not re-posted each pass.
    last_warnings: dict[str, str] = field(default_factory=dict)
    # (task id, state) already posted as Events above the stored watermark.
    announced_tasks: set[tuple[int, str]] = field(default_factory=set)
    # What the kind's adapter keeps between passes: its own dataclass (the cluster's reads
    # of what the snapshot lacks), through `Surroundings.remembered`.
    kept: object | None = None
    # Refresh time of the snapshot that first missed this resource: it is gone only when
    # a later read misses it too (the snapshot may predate its creation).
    missing_since: float | None = None
    # The last send's answer was an error that does not tell whether NKS took it (5xx,
    # timeout, lost connection): if it never shows, that send does not count as an attempt
    # NKS accepted (at most UNCOUNTED_RESENDS times per operation).
    answer_lost: bool = False
    uncounted_resends: int = 0
    resend_uncounted: bool = False  # the next send repeats the last attempt's number
    # The credentials Secret this resource last used (its finalizer is dropped when no
    # resource refers to it any more).
    credentials_secret: str | None = None
    # The NKS cluster whose poller wakes this resource.
    watching: tuple[AccountPoller, str] | None = None
    # Poller-clock time of this resource's last own look at NKS while deleting (a read or
    # the delete call): a snapshot refreshed after it may answer instead of another read.
    delete_looked_at: float | None = None


class Memories:
    """One `ResourceMemory` per resource key, dropped when the resource goes."""

    def __init__(self) -> None:
        self._memories: dict[ObjectKey, ResourceMemory] = {}
        # Phases for the managed-resources gauge, counted as they change (never rescanned).
        self._phases: dict[ObjectKey, str] = {}
        self._counts: dict[str, Counter[str]] = defaultdict(Counter)

    def of(self, key: ObjectKey) -> ResourceMemory:
        memory = self._memories.get(key)
        if memory is None:
            memory = self._memories[key] = ResourceMemory()
        return memory

    def get(self, key: ObjectKey) -> ResourceMemory | None:
        return self._memories.get(key)

    def forget(self, key: ObjectKey) -> ResourceMemory | None:
        self._count(key, None)
        return self._memories.pop(key, None)

    def record_phase(self, key: ObjectKey, phase: str | None) -> bool:
        """Returns whether the counts changed."""
        return self._count(key, phase or "Unknown")

    def phase_counts(self, kind: str) -> dict[str, int]:
        return {phase: n for phase, n in self._counts[kind].items() if n > 0}

    def _count(self, key: ObjectKey, phase: str | None) -> bool:
        old = self._phases.get(key)
        if old == phase:
            return False
        counts = self._counts[key.kind]
        if old is not None:
            counts[old] -= 1
            if counts[old] <= 0:
                del counts[old]
        if phase is None:
            self._phases.pop(key, None)
        else:
            self._phases[key] = phase
            counts[phase] += 1
        return True
