"""When the client repeats a failed request by itself, and how long it waits.

Reads (GET) and the identity token request are repeated on transient failures - 5xx,
429 and transport errors - with exponential backoff and jitter, honouring Retry-After,
within a bounded number of attempts and a time budget.

Writes (POST/PATCH/DELETE on /v1) are never blindly repeated: after a 5xx or a timeout
the change may have been applied, so the error goes to the caller, who re-reads NKS state
(the operator's reconcile loop) before acting again. Two write failures are repeated,
because they prove the request was not executed:

- 429: a rate limiter refuses a request before it is processed (RFC 6585); the write is
  repeated after Retry-After (`retry_writes_on_rate_limit`).
- a connection that could not be made (`TransportError.may_have_reached_server` False):
  no byte of the request left (`retry_writes_when_unsent`).

A caller that backs off on its own (the operator's poller and work queue) turns read
retries off (`retry_reads`): repeated inside each of its attempts, they would multiply
its calls during an outage.

A Retry-After longer than `max_retry_after`, or beyond the time budget, is not slept
through: the `RateLimitedError` goes to the caller with its `retry_after`, so a
controller can requeue instead of holding a worker.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt

from nks_operator.nks.errors import RateLimitedError, ServerError, TransportError

logger = logging.getLogger(__name__)

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries; the defaults suit a controller polling NKS."""

    max_attempts: int = 4  # including the first; 1 disables retries
    initial_backoff: float = 0.5  # seconds before the first retry (before jitter)
    max_backoff: float = 10.0  # cap of one exponential backoff step
    max_elapsed: float = 45.0  # no retry starts after this many seconds in total
    max_retry_after: float = 30.0  # a longer Retry-After is left to the caller
    jitter: bool = True  # "equal jitter": half the step fixed, half random
    retry_reads: bool = True  # reads and the token request
    retry_writes_on_rate_limit: bool = True
    retry_writes_when_unsent: bool = True
    sleep: Sleep = field(default=asyncio.sleep, repr=False, compare=False)

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry `retry_number` (1-based), jittered."""
        step = min(self.max_backoff, self.initial_backoff * 2.0 ** (retry_number - 1))
        if not self.jitter:
            return step
        return step / 2 + random.uniform(0, step / 2)

    def is_retryable(self, error: BaseException, *, write: bool) -> bool:
        """Whether `error` may be retried at all (ignoring attempts and time)."""
        if not write and not self.retry_reads:
            return False
        if isinstance(error, RateLimitedError):
            return not write or self.retry_writes_on_rate_limit
        if isinstance(error, TransportError):
            if not write:
                return True
            return self.retry_writes_when_unsent and not error.may_have_reached_server
        if isinstance(error, ServerError):
            return not write
        return False


NO_RETRIES = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    operation: str,
    write: bool,
) -> T:
    """Run `attempt` until it succeeds or the policy says to give up; re-raise the last error."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(max(1, policy.max_attempts)),
        retry=_RetryDecision(policy, write),
        wait=_Wait(policy),
        sleep=policy.sleep,
        before_sleep=_LogRetry(operation, policy),
        reraise=True,
    )
    return await retrying(attempt)


def _retry_after(error: BaseException | None) -> float | None:
    return error.retry_after if isinstance(error, RateLimitedError) else None


class _RetryDecision:
    def __init__(self, policy: RetryPolicy, write: bool) -> None:
        self.policy = policy
        self.write = write

    def __call__(self, state: RetryCallState) -> bool:
        if state.outcome is None or not state.outcome.failed:
            return False
        error = state.outcome.exception()
        if error is None or not self.policy.is_retryable(error, write=self.write):
            return False
        elapsed = state.seconds_since_start or 0.0
        retry_after = _retry_after(error)
        if retry_after is not None:
            # Sleeping less than asked would only earn another 429.
            if retry_after > self.policy.max_retry_after:
                return False
            return elapsed + retry_after <= self.policy.max_elapsed
        return elapsed < self.policy.max_elapsed


class _Wait:
    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, state: RetryCallState) -> float:
        delay = self.policy.backoff(state.attempt_number)
        error = state.outcome.exception() if state.outcome is not None else None
        retry_after = _retry_after(error)
        if retry_after is not None:
            delay = max(delay, retry_after)
        remaining = self.policy.max_elapsed - (state.seconds_since_start or 0.0)
        # Never sleep below Retry-After (checked by _RetryDecision), nor past the budget.
        return max(retry_after or 0.0, min(delay, max(0.0, remaining)))


class _LogRetry:
    def __init__(self, operation: str, policy: RetryPolicy) -> None:
        self.operation = operation
        self.policy = policy

    def __call__(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning(
            "NKS %s failed (%s); retry %d/%d in %.2fs",
            self.operation,
            error,
            state.attempt_number,
            self.policy.max_attempts - 1,
            delay,
        )
