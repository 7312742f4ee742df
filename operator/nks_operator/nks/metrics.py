"""The metrics hook: every HTTP request the client makes is reported to one callback.

Kept to a plain callable so the metrics layer (Prometheus) plugs in without this
package depending on it:

    def observe(sample: RequestSample) -> None:
        REQUESTS.labels(sample.operation, sample.outcome).observe(sample.duration_seconds)

    NKSClient(..., metrics=observe)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestSample:
    """One HTTP attempt: retries and re-authentication each produce their own sample."""

    operation: str  # an `Operation` value, e.g. "get_cluster"
    method: str
    status_code: int | None  # None when no usable HTTP answer arrived
    # Why not, when status_code is None: the exception class name (e.g. "ReadTimeout"),
    # "CallTimeout" (the attempt's deadline), "AnswerTooLarge" or "DecodingError".
    error: str | None
    duration_seconds: float

    @property
    def outcome(self) -> str:
        """A low-cardinality label: the status code ("200", "429") or the error class."""
        if self.status_code is not None:
            return str(self.status_code)
        return self.error or "unknown"


class MetricsHook(Protocol):
    def __call__(self, sample: RequestSample, /) -> None: ...


def report(hook: MetricsHook | None, sample: RequestSample) -> None:
    """Hand `sample` to `hook`; a failing hook is logged, never breaks the NKS call."""
    if hook is None:
        return
    try:
        hook(sample)
    except Exception:
        logger.exception("NKS metrics hook failed for %s", sample.operation)
