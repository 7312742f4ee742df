"""What every controller pass shares: the context built at start-up, status writing and
Event posting that never repeats itself."""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

import kopf
from pydantic import BaseModel

from nks_operator.api.resources import GROUP, Resource
from nks_operator.api.status import ResourceStatus
from nks_operator.control.registry import Registry, ResourceSlot
from nks_operator.kube.api import KubeAPI
from nks_operator.polling.accounts import Accounts
from nks_operator.reconcile import conditions
from nks_operator.settings import OperatorSettings

logger = logging.getLogger(__name__)

PAUSED_ANNOTATION = f"{GROUP}/paused"
RECONCILE_REQUESTED_ANNOTATION = f"{GROUP}/reconcile-requested-at"
FINALIZER = f"{GROUP}/finalizer"
RENEW_CERTIFICATE_ANNOTATION = f"{GROUP}/renew-certificate"


@dataclass
class OperatorContext:
    """Dependencies built once at start-up and shared by every handler."""

    settings: OperatorSettings
    kube: KubeAPI
    accounts: Accounts
    registry: Registry


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def change_trigger(body: Any) -> str:
    """What a user can change: generation (spec) and annotations other than kopf's."""
    meta = body.get("metadata", {})
    annotations = {
        key: value
        for key, value in (meta.get("annotations") or {}).items()
        if not key.startswith(f"{GROUP}/")
        or key in (PAUSED_ANNOTATION, RECONCILE_REQUESTED_ANNOTATION)
    }
    return json.dumps([meta.get("generation"), annotations], sort_keys=True)


def is_paused(body: dict[str, Any]) -> bool:
    annotations = body.get("metadata", {}).get("annotations") or {}
    return str(annotations.get(PAUSED_ANNOTATION, "")).lower() == "true"


def _drop_empty_strings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_empty_strings(v) for k, v in value.items() if v != ""}
    if isinstance(value, list):
        return [_drop_empty_strings(item) for item in value]
    return value


def status_dict(status: BaseModel) -> dict[str, Any]:
    # Empty strings are left out: they carry nothing, and the Go JSON decoder of some
    # apiserver builds (our 1.20 test build among them) reads "" in a CR as null.
    return _drop_empty_strings(status.model_dump(mode="json", by_alias=True, exclude_none=True))


class StatusWriter:
    """Accumulates one pass's status and writes it once, only if something changed."""

    def __init__(
        self,
        ctx: OperatorContext,
        resource: Resource,
        body: dict[str, Any],
        status: ResourceStatus,
    ) -> None:
        self.ctx = ctx
        self.resource = resource
        self.body = body
        self.meta = body["metadata"]
        self.generation: int | None = self.meta.get("generation")
        self.original = status_dict(status)
        self.status = status
        self.baseline = list(status.conditions)

    def conditions(self, *updates: conditions.ConditionUpdate) -> None:
        self.status.conditions = conditions.apply(
            self.status.conditions,
            updates,
            generation=self.generation,
            now=now_iso(),
            baseline=self.baseline,
        )

    def ready(
        self, status: Literal["True", "False", "Unknown"], reason: str, message: str = ""
    ) -> None:
        self.conditions(conditions.ConditionUpdate(conditions.READY, status, reason, message))

    def synced(
        self, status: Literal["True", "False", "Unknown"], reason: str, message: str = ""
    ) -> None:
        self.conditions(conditions.ConditionUpdate(conditions.SYNCED, status, reason, message))

    async def flush(self) -> None:
        """Write status now (e.g. the creation intent must be stored before the POST)."""
        new = status_dict(self.status)
        if new == self.original:
            return
        # Merge patch: fields that disappeared must be nulled explicitly.
        patch: dict[str, Any] = dict(new)
        for key in self.original:
            if key not in new:
                patch[key] = None
        result = await self.ctx.kube.patch_status(
            self.resource, self.meta["namespace"], self.meta["name"], patch
        )
        self.original = new
        self.baseline = list(self.status.conditions)
        if result is not None:
            self.body["status"] = result.get("status", {})


def post_event(
    body: dict[str, Any],
    slot: ResourceSlot | None,
    type_: Literal["Normal", "Warning"],
    reason: str,
    message: str,
    *,
    once: bool = False,
) -> None:
    """Post a Kubernetes Event; with `once`, a Warning identical to the last is skipped."""
    if once and slot is not None:
        if slot.last_warnings.get(reason) == message:
            return
        slot.last_warnings[reason] = message
    try:
        kopf.event(body, type=type_, reason=reason, message=message[:1024])
    except Exception:  # Events are best effort; never fail a pass for one
        logger.exception("Could not post event %s", reason)


def clear_warning(slot: ResourceSlot | None, reason: str) -> None:
    if slot is not None:
        slot.last_warnings.pop(reason, None)
