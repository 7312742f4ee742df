"""One reconcile pass: the object it works on, its findings, and the helpers every step
shares (the pass's time arithmetic, the pause annotation, the create intent)."""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal

from pydantic import ValidationError

# The names live in api/; control/ and its tests still import them from here.
from nks_operator.api.annotations import CREATE_REQUESTED_ANNOTATION as CREATE_REQUESTED_ANNOTATION
from nks_operator.api.annotations import PAUSED_ANNOTATION as PAUSED_ANNOTATION
from nks_operator.api.annotations import (
    RECONCILE_REQUESTED_ANNOTATION as RECONCILE_REQUESTED_ANNOTATION,
)
from nks_operator.api.annotations import (
    RENEW_CERTIFICATE_ANNOTATION as RENEW_CERTIFICATE_ANNOTATION,
)
from nks_operator.api.status import CreationIntent
from nks_operator.control import events
from nks_operator.control.adapter import Adapter, FoundT, SpecT, StatusT
from nks_operator.control.context import OperatorContext
from nks_operator.control.memory import ResourceMemory
from nks_operator.control.status_writer import StatusWriter
from nks_operator.control.surroundings import Surroundings
from nks_operator.kube import credentials as kube_credentials
from nks_operator.polling.accounts import Account
from nks_operator.reconcile.outcome import Assessment, Problem, Stage
from nks_operator.reconcile.reasons import Reason
from nks_operator.runtime.cache import ObjectKey

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Released:
    """The finalizer is off (or was never this operator's): nothing more to do."""


# How every pass ends: what it found (the outcome decides the rest), or released.
Ending = Assessment | Released


class Stop(Exception):
    """End the pass early, from anywhere in a step, with this ending."""

    def __init__(self, ending: Ending) -> None:
        super().__init__(ending)
        self.ending = ending


@dataclass(frozen=True)
class PassResult:
    """What the worker does next with the key."""

    requeue_after: float | None  # None: nothing more to do (released, or gone)
    error: Literal["transient", "terminal"] | None = None
    kubernetes_error: bool = False


def parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def age_seconds(value: str | None) -> float:
    parsed = parse_time(value)
    if parsed is None:
        return 1e9
    return (datetime.datetime.now(datetime.UTC) - parsed).total_seconds()


def is_paused(body: Mapping[str, Any]) -> bool:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    # Any capitalisation of "true", nothing else: Argo CD's health check (Lua without the
    # string library) can compare exactly these.
    return str(annotations.get(PAUSED_ANNOTATION, "")).lower() == "true"


def parse_intent(body: Mapping[str, Any]) -> CreationIntent | None:
    """The create-intent annotation as written, signature not checked yet (SharedSteps.intent)."""
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(CREATE_REQUESTED_ANNOTATION)
    if not raw:
        return None
    try:
        return CreationIntent.model_validate(json.loads(raw))
    except (ValueError, ValidationError):
        logger.warning("Unreadable %s annotation ignored", CREATE_REQUESTED_ANNOTATION)
        return None


def intent_parts(kind: str, uid: str, intent: CreationIntent) -> tuple[str, ...]:
    """What the operator's signature of an intent covers: bound to the resource's UID, so
    an annotation copied from another resource does not verify either."""
    return (kind, uid, intent.name, intent.requested_at)


class Pass(Generic[SpecT, StatusT, FoundT]):
    """One pass over one resource: its object, parsed status and per-pass helpers."""

    spec: SpecT  # set once the spec validates (a deletion reads the raw spec)

    def __init__(
        self,
        ctx: OperatorContext,
        adapter: Adapter[SpecT, StatusT, FoundT],
        key: ObjectKey,
        body: dict[str, Any],
        memory: ResourceMemory,
    ) -> None:
        self._events = ctx.events
        self.adapter = adapter
        self.key = key
        self.body = body
        self.meta: dict[str, Any] = body["metadata"]
        self.name: str = key.name
        self.namespace: str = key.namespace
        self.generation: int | None = self.meta.get("generation")
        self.memory = memory
        self.status: StatusT = adapter.facts.status_model.model_validate(body.get("status") or {})
        self.writer = StatusWriter(
            ctx.kube,
            ctx.cache,
            adapter.facts.resource,
            key,
            self.generation,
            self.status,
            ctx.wake_children,
        )
        self.paused = is_paused(body)
        # All an adapter may use besides NKS (never the operator context).
        self.around = Surroundings(ctx, key, memory)
        self.credentials: kube_credentials.ResolvedCredentials | None = None
        # The account whose pass slot this pass holds (given back when the pass ends).
        self.slot: Account | None = None
        self.found: FoundT = adapter.facts.findings()

    @property
    def annotations(self) -> dict[str, str]:
        return self.meta.get("annotations") or {}

    def assess(self, stage: Stage, **fields: Any) -> Assessment:
        ready = next((c for c in self.status.conditions if c.type == "Ready"), None)
        return Assessment(
            ready_reason=self.adapter.facts.ready_reason,
            stage=stage,
            has_nks_id=self.adapter.identity.nks_id(self.status) is not None,
            paused=self.paused,
            previous_ready_reason=None if ready is None else ready.reason,
            **fields,
        )

    def stop(self, reason: Reason, message: str, **fields: Any) -> Stop:
        """End the pass with a problem (raise it)."""
        return Stop(self.assess(Stage.RUNNING, problem=Problem(reason, message), **fields))

    def event(self, type_: Literal["Normal", "Warning"], reason: Reason, message: str) -> None:
        self._events.post(self.body, type_, reason, message)

    def warn_once(self, reason: Reason, message: str) -> None:
        events.warn_once(self._events, self.body, self.memory, reason, message)


# A pass as the generic steps see it: any kind.
AnyPass = Pass[Any, Any, Any]
