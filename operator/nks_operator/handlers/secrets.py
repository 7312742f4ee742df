"""Credentials Secrets: a created or changed Secret wakes the resources that use it."""

from __future__ import annotations

from typing import Any

import kopf

from nks_operator.control.common import OperatorContext


@kopf.on.event("", "v1", "secrets")
async def wake_secret_users(meta: kopf.Meta, memo: kopf.Memo, **_: Any) -> None:
    ctx: OperatorContext | None = memo.get("ctx")
    if ctx is not None:
        ctx.kube.secret_changed(meta["namespace"], meta["name"])
        ctx.registry.wake_secret_users(meta["namespace"], meta["name"])
