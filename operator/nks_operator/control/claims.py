"""One operation per NKS cluster: who has just sent one that NKS does not show yet.

NKS runs one operation per cluster at a time and refuses (or silently drops) a second.
Once NKS shows an operation, the cluster looks busy to everyone; between the call and that
moment, the claim keeps the cluster's other resources (sibling node groups) from sending.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable


class Claims:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._holders: dict[str, tuple[Hashable, float]] = {}

    def held_by_other(self, cluster_id: str, holder: Hashable) -> bool:
        current = self._holders.get(cluster_id)
        return current is not None and current[0] != holder and current[1] > self._clock()

    def claim(self, cluster_id: str, holder: Hashable, seconds: float) -> None:
        self._holders[cluster_id] = (holder, self._clock() + seconds)

    def release(self, cluster_id: str, holder: Hashable) -> None:
        current = self._holders.get(cluster_id)
        if current is not None and current[0] == holder:
            del self._holders[cluster_id]
