"""The per-resource daemon loop shared by both kinds: pass, then sleep until woken."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from nks_operator import metrics
from nks_operator.api.resources import Resource
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
            with metrics.reconcile(kind.lower()) as run:
                delay = await one_pass(ctx, current, slot)
                run.result = "requeue_after"
            status = current.get("status")
            ctx.registry.record_phase(meta["uid"], kind, (status or {}).get("phase"))
            metrics.set_managed(kind, ctx.registry.phase_counts(kind))
        await _sleep(slot, stopped, delay)


DeleteFn = Callable[[OperatorContext, dict[str, Any], ResourceSlot], Awaitable[float | None]]
# A deletion handler waits in place this long before handing back to kopf: kopf logs every
# TemporaryError as an error, and a deletion that is simply in progress is not one.
DELETION_PATIENCE_SECONDS = 600.0


async def run_deletion(
    resource: Resource, kind: str, body: kopf.Body, memo: kopf.Memo, delete_pass: DeleteFn
) -> None:
    """Delete in NKS and wait for NKS to confirm; returns when the finalizer may go."""
    ctx: OperatorContext = memo.ctx
    meta = body["metadata"]
    slot = ctx.registry.slot(meta["uid"], kind, meta["namespace"], meta["name"])
    deadline = time.monotonic() + DELETION_PATIENCE_SECONDS
    while True:
        async with slot.lock:  # never overlaps a pass that may be creating the resource
            fresh = await ctx.kube.get_object(resource, meta["namespace"], meta["name"])
            current = copy.deepcopy(dict(fresh if fresh is not None else body))
            delay = await delete_pass(ctx, current, slot)
        if delay is None:
            ctx.registry.forget(meta["uid"])
            metrics.set_managed(kind, ctx.registry.phase_counts(kind))
            return
        if time.monotonic() + delay > deadline:
            raise kopf.TemporaryError(f"still waiting for NKS to delete {kind}", delay=delay)
        await asyncio.sleep(delay)
