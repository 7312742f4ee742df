"""The call log: how many calls each operation got and with which status.

Tests and benchmarks read it (`GET /_sim/calls`) to assert which NKS calls the operator
made. Entries hold method, path, operation, status, tenant and time - never a header or
a body, so no token or password can leak through it.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class CallRecord:
    seq: int
    timestamp: float
    method: str
    path: str
    operation: str
    status: int
    tenant: str | None
    fault: str | None = None
    dropped: bool = False


@dataclass
class CallRecorder:
    log_size: int = 100_000
    counts: Counter[str] = field(default_factory=Counter)
    by_status: Counter[tuple[str, int]] = field(default_factory=Counter)
    _log: deque[CallRecord] = field(init=False)
    _seq: int = 0

    def __post_init__(self) -> None:
        self._log = deque(maxlen=self.log_size)

    def record(self, **fields: Any) -> CallRecord:
        self._seq += 1
        entry = CallRecord(seq=self._seq, **fields)
        self.counts[entry.operation] += 1
        self.by_status[(entry.operation, entry.status)] += 1
        self._log.append(entry)
        return entry

    def reset(self) -> None:
        self.counts.clear()
        self.by_status.clear()
        self._log.clear()

    def log(self, operation: str | None = None, since: int = 0) -> list[CallRecord]:
        return [r for r in self._log if r.seq > since and operation in (None, r.operation)]

    def count(self, operation: str, status: int | None = None) -> int:
        if status is None:
            return self.counts[operation]
        return self.by_status[(operation, status)]

    def describe(
        self, include_log: bool = True, operation: str | None = None, since: int = 0
    ) -> dict[str, Any]:
        statuses: dict[str, dict[str, int]] = {}
        for (op, status), n in sorted(self.by_status.items()):
            statuses.setdefault(op, {})[str(status)] = n
        result: dict[str, Any] = {
            "total": sum(self.counts.values()),
            "last_seq": self._seq,
            "counts": dict(sorted(self.counts.items())),
            "by_status": statuses,
        }
        if include_log:
            result["log"] = [asdict(r) for r in self.log(operation, since)]
        return result
