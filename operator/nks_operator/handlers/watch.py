"""kopf's watches feed the cache and the work queue; nothing else happens here.

The shard's label selector is checked here rather than as kopf's `when=` filter, which
builds every handler argument once more per watch event (BENCHMARKS.md, issue 21)."""

from __future__ import annotations

from typing import Any

import kopf

from nks_operator.api.annotations import RECONCILE_REQUESTED_ANNOTATION
from nks_operator.api.resources import CLUSTER, GROUP, NODEGROUP, VERSION
from nks_operator.control.context import OperatorContext
from nks_operator.handlers.shard import matches
from nks_operator.runtime.cache import ObjectKey


def _observe(ctx: OperatorContext, kind: str, raw: dict[str, Any], type_: str | None) -> None:
    meta = raw["metadata"]
    if not matches(ctx.selector, meta.get("labels")):
        return
    key = ObjectKey(kind, meta["namespace"], meta["name"])
    if type_ == "DELETED":
        ctx.forget(key)
        if kind == CLUSTER.kind:
            ctx.wake_children(key)
        return
    stored = ctx.cache.store(key, raw)
    if stored.needs_pass:
        ctx.queue.add(key)
        if RECONCILE_REQUESTED_ANNOTATION in (meta.get("annotations") or {}):
            ctx.refresh_nks(key)
    if stored.parent_changed:
        ctx.wake_children(key)


@kopf.on.event(GROUP, VERSION, CLUSTER.plural)
async def cluster_event(event: kopf.RawEvent, memo: kopf.Memo, type: str | None, **_: Any) -> None:
    ctx: OperatorContext | None = memo.get("ctx")
    if ctx is not None:
        _observe(ctx, CLUSTER.kind, dict(event["object"]), type)


@kopf.on.event(GROUP, VERSION, NODEGROUP.plural)
async def nodegroup_event(
    event: kopf.RawEvent, memo: kopf.Memo, type: str | None, **_: Any
) -> None:
    ctx: OperatorContext | None = memo.get("ctx")
    if ctx is not None:
        _observe(ctx, NODEGROUP.kind, dict(event["object"]), type)
