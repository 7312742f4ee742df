"""Kubernetes-style conditions, updated without touching lastTransitionTime needlessly.

Every condition written here is a valid metav1.Condition: its message is never empty (the
`Condition` model makes an empty one the reason) and at most MESSAGE_MAX_LENGTH long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from nks_operator.api.status import MESSAGE_MAX_LENGTH, Condition

READY = "Ready"
SYNCED = "Synced"
PROGRESSING = "Progressing"


@dataclass(frozen=True)
class ConditionUpdate:
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""


def apply(
    current: Sequence[Condition],
    updates: Sequence[ConditionUpdate],
    *,
    generation: int | None,
    now: str,
    baseline: Sequence[Condition] | None = None,
) -> list[Condition]:
    """Merge updates into conditions; the transition time moves only when the status
    differs from `baseline` (the conditions as stored before this pass), so a pass that
    goes through another status on its way back does not move it."""
    by_type = {condition.type: condition for condition in current}
    stored = {c.type: c for c in (current if baseline is None else baseline)}
    for update in updates:
        previous = stored.get(update.type)
        by_type[update.type] = Condition(
            type=update.type,
            status=update.status,
            reason=update.reason,
            message=_bounded(update.message),
            last_transition_time=(
                previous.last_transition_time
                if previous is not None and previous.status == update.status
                else now
            ),
            observed_generation=generation,
        )
    order = {READY: 0, SYNCED: 1, PROGRESSING: 2}
    return sorted(by_type.values(), key=lambda c: (order.get(c.type, 9), c.type))


def _bounded(message: str) -> str:
    # An NKS error text can be long; the apiserver refuses a longer message, and the whole
    # status write with it.
    if len(message) <= MESSAGE_MAX_LENGTH:
        return message
    return message[: MESSAGE_MAX_LENGTH - 1] + "\u2026"


def find(conditions: Sequence[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def is_true(conditions: Sequence[Condition], type_: str) -> bool:
    condition = find(conditions, type_)
    return condition is not None and condition.status == "True"
