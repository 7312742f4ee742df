"""kopf handlers of NKSCluster."""

from __future__ import annotations

from typing import Any

import kopf

from nks_operator.api.resources import CLUSTER, GROUP, VERSION
from nks_operator.control.cluster import ClusterDeletion, ClusterPass
from nks_operator.control.common import (
    RECONCILE_REQUESTED_ANNOTATION,
    OperatorContext,
    change_trigger,
)
from nks_operator.control.registry import ResourceSlot
from nks_operator.handlers.loop import run_daemon, run_deletion
from nks_operator.handlers.shard import in_shard


async def _one_pass(ctx: OperatorContext, body: dict[str, Any], slot: ResourceSlot) -> float:
    return await ClusterPass(ctx, body, slot).run()


@kopf.daemon(GROUP, VERSION, CLUSTER.plural, id="reconcile", cancellation_timeout=30, when=in_shard)
async def reconcile(body: kopf.Body, stopped: Any, memo: kopf.Memo, **_: Any) -> None:
    await run_daemon(CLUSTER.kind, body, stopped, memo, _one_pass)


@kopf.on.event(GROUP, VERSION, CLUSTER.plural)
async def wake_on_change(
    body: kopf.Body, meta: kopf.Meta, memo: kopf.Memo, type: str | None, **_: Any
) -> None:
    """Any change of the object (spec, annotations) wakes its daemon now; any change at
    all (status too) wakes its node groups, which read it from the registry."""
    ctx: OperatorContext | None = memo.get("ctx")
    if ctx is None:
        return
    if type == "DELETED":
        ctx.registry.forget_cluster(meta["namespace"], meta["name"])
    else:
        ctx.registry.remember_cluster(dict(body))
    ctx.registry.wake_children(meta["namespace"], meta["name"])
    if type == "DELETED":
        return
    if not ctx.registry.wake(
        CLUSTER.kind, meta["namespace"], meta["name"], trigger=change_trigger(body)
    ):
        return
    annotations = meta.get("annotations") or {}
    if RECONCILE_REQUESTED_ANNOTATION in annotations:
        status = body.get("status") or {}
        cluster_id = status.get("clusterID")
        for account in list(ctx.accounts._accounts.values()):
            if cluster_id in account.poller.snapshots:
                account.poller.expect_change(cluster_id, seconds=0)


async def _delete_pass(
    ctx: OperatorContext, body: dict[str, Any], slot: ResourceSlot
) -> float | None:
    return await ClusterDeletion(ctx, body, slot).delete()


@kopf.on.delete(GROUP, VERSION, CLUSTER.plural, id="delete", when=in_shard)
async def delete(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    await run_deletion(CLUSTER, CLUSTER.kind, body, memo, _delete_pass)
    memo.ctx.registry.wake_children(body["metadata"]["namespace"], body["metadata"]["name"])
