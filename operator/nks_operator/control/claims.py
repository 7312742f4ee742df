"""One operation per NKS cluster: who has just sent one that NKS does not show yet.

NKS runs one operation per cluster at a time and refuses (or silently drops) a second.
Once NKS shows an operation, the cluster looks busy to everyone; between the call and that
moment, the claim keeps the cluster's other resources (sibling node groups) from sending.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

# However long reads keep failing, a claim lasts at most this many times its `seconds`.
HOLD_LIMIT = 10


class Claims:
    """A claim ends when its holder releases it (NKS shows the operation, or the holder
    judged it dropped), or once the cluster has been read `seconds` after it was taken: a
    view that late shows the operation if NKS started it. Measured by wall time alone, a
    claim would end while reads fail and let a sibling send into a running operation."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._holders: dict[str, tuple[Hashable, float, float]] = {}  # holder, until, limit

    def held_by_other(
        self, cluster_id: str, holder: Hashable, read_at: float | None = None
    ) -> bool:
        """`read_at`: when the caller's view of the cluster was read (same clock; default
        now)."""
        current = self._holders.get(cluster_id)
        if current is None or current[0] == holder:
            return False
        _, until, limit = current
        now = self._clock()
        return until > (now if read_at is None else read_at) and limit > now

    def claim(self, cluster_id: str, holder: Hashable, seconds: float) -> None:
        now = self._clock()
        self._holders[cluster_id] = (holder, now + seconds, now + HOLD_LIMIT * seconds)

    def release(self, cluster_id: str, holder: Hashable) -> None:
        current = self._holders.get(cluster_id)
        if current is not None and current[0] == holder:
            del self._holders[cluster_id]

    def release_all(self, holder: Hashable) -> None:
        """The holder is gone."""
        for cluster_id in [c for c, held in self._holders.items() if held[0] == holder]:
            del self._holders[cluster_id]
