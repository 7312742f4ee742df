"""Events of one resource, each repeated Warning posted once."""

from __future__ import annotations

from typing import Any

from nks_operator.control.memory import ResourceMemory
from nks_operator.kube.events import EventPoster, EventType


def warn_once(
    poster: EventPoster,
    body: dict[str, Any],
    memory: ResourceMemory,
    reason: str,
    message: str,
) -> None:
    """A Warning, unless the last one of this reason said the same (each pass repeats it)."""
    if memory.last_warnings.get(str(reason)) == message:
        return
    memory.last_warnings[str(reason)] = message
    poster.post(body, "Warning", reason, message)


def clear_warnings(memory: ResourceMemory, *reasons: str) -> None:
    """These problems are gone: the next occurrence is posted again."""
    for reason in reasons:
        memory.last_warnings.pop(str(reason), None)


__all__ = ["EventType", "clear_warnings", "warn_once"]
