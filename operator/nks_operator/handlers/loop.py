"""The per-resource daemon loop shared by both kinds: pass, then sleep until woken."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from nks_operator.control.common import OperatorContext
from nks_operator.control.registry import ResourceSlot

PassFn = Callable[[OperatorContext, dict[str, Any], ResourceSlot], Awaitable[float]]


async def _sleep(slot: ResourceSlot, stopped: Any, delay: float) -> None:
    waiters = [asyncio.ensure_future(slot.waker.wait()), asyncio.ensure_future(stopped.wait())]
    try:
        await asyncio.wait(waiters, timeout=max(delay, 0.05), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def run_daemon(
    kind: str, body: kopf.Body, stopped: Any, memo: kopf.Memo, one_pass: PassFn
) -> None:
    """Reconcile until kopf stops the daemon (deletion or operator exit).

    The daemon is the only writer of its resource's status while it lives, so it keeps
    the status it wrote itself instead of waiting for the watch to echo it back.
    """
    ctx: OperatorContext = memo.ctx
    meta = body["metadata"]
    slot = ctx.registry.slot(meta["uid"], kind, meta["namespace"], meta["name"])
    status: dict[str, Any] | None = None
    while not stopped:
        slot.waker.clear()
        async with slot.lock:
            if stopped:
                break
            current = copy.deepcopy(dict(body))
            if status is not None:
                current["status"] = status
            delay = await one_pass(ctx, current, slot)
            status = current.get("status")
        await _sleep(slot, stopped, delay)
