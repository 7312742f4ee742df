"""kopf handlers of NKSNodeGroup."""

from __future__ import annotations

from typing import Any

import kopf

from nks_operator.api.resources import GROUP, NODEGROUP, VERSION
from nks_operator.control.common import OperatorContext, change_trigger
from nks_operator.control.nodegroup import NodeGroupDeletion, NodeGroupPass
from nks_operator.control.registry import ResourceSlot
from nks_operator.handlers.loop import run_daemon, run_deletion
from nks_operator.handlers.shard import in_shard


async def _one_pass(ctx: OperatorContext, body: dict[str, Any], slot: ResourceSlot) -> float:
    return await NodeGroupPass(ctx, body, slot).run()


@kopf.daemon(
    GROUP, VERSION, NODEGROUP.plural, id="reconcile", cancellation_timeout=30, when=in_shard
)
async def reconcile(body: kopf.Body, stopped: Any, memo: kopf.Memo, **_: Any) -> None:
    await run_daemon(NODEGROUP.kind, body, stopped, memo, _one_pass)


@kopf.on.event(GROUP, VERSION, NODEGROUP.plural)
async def wake_on_change(
    body: kopf.Body, meta: kopf.Meta, memo: kopf.Memo, type: str | None, **_: Any
) -> None:
    ctx: OperatorContext | None = memo.get("ctx")
    if ctx is not None and type != "DELETED":
        trigger = change_trigger(body)
        ctx.registry.wake(NODEGROUP.kind, meta["namespace"], meta["name"], trigger=trigger)


async def _delete_pass(
    ctx: OperatorContext, body: dict[str, Any], slot: ResourceSlot
) -> float | None:
    return await NodeGroupDeletion(ctx, body, slot).delete()


@kopf.on.delete(GROUP, VERSION, NODEGROUP.plural, id="delete", when=in_shard)
async def delete(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    await run_deletion(NODEGROUP, NODEGROUP.kind, body, memo, _delete_pass)
