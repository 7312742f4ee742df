"""Virtual time for code that takes a `clock` and a `sleep`: nothing waits for real.

Time moves only when the test says so: `advance()` by a given amount, or `step()` to the
earliest wake-up once the expected number of tasks sleep on this clock (an observable
state, never a guess at how long the code under test needs).
"""

from __future__ import annotations

import asyncio
from typing import Any


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.time = start
        self._sleeping: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        entry = (self.time + max(seconds, 0.0), asyncio.get_running_loop().create_future())
        self._sleeping.append(entry)
        try:
            await entry[1]
        finally:
            self._sleeping.remove(entry)

    @property
    def sleepers(self) -> int:
        """Tasks asleep on this clock and not yet due."""
        return sum(1 for _, future in self._sleeping if not future.done())

    def advance(self, seconds: float) -> None:
        """Move time on by `seconds`, waking every sleeper then due."""
        self.time += seconds
        self._wake()

    async def step(self, sleepers: int = 1, *, until: asyncio.Future[Any] | None = None) -> None:
        """Once `sleepers` tasks sleep here, move to the earliest wake-up and wake it (or
        return as soon as `until` is done)."""
        while self.sleepers < sleepers:
            if until is not None and until.done():
                return
            await asyncio.sleep(0)  # the tasks under test run until they sleep here
        self.time = max(self.time, min(at for at, f in self._sleeping if not f.done()))
        self._wake()

    async def run_until(self, moment: float, sleepers: int = 1) -> None:
        """Step until the clock reads `moment` or later."""
        while self.time < moment:
            await self.step(sleepers)

    def _wake(self) -> None:
        for at, future in self._sleeping:
            if at <= self.time and not future.done():
                future.set_result(None)
