"""The operator's phase for an NKS status.

What each NKS status means is `nks/models/status.py`; this module maps it onto the
phases users see and re-exports its predicates for the reconcilers.
"""

from __future__ import annotations

from nks_operator.api.status import Phase
from nks_operator.nks.models.status import (
    StatusClass,
    classify,
    is_creation,
    is_deletion,
    is_failed,
    is_in_progress,
    is_rolled_back,
    is_stable,
    is_success,
)

__all__ = [
    "is_failed",
    "is_in_progress",
    "is_rolled_back",
    "is_stable",
    "is_success",
    "phase_for",
]


def phase_for(nks_status: str | None, *, upgrading: bool = False) -> Phase:
    if not nks_status:
        return "Provisioning"
    kind = classify(nks_status)
    if kind is StatusClass.FAILED:
        return "Failed"
    if is_creation(nks_status):
        return "Ready" if kind is StatusClass.STABLE else "Provisioning"
    if is_deletion(nks_status):
        return "Deleting"
    if is_stable(nks_status):
        return "Ready"
    return "Upgrading" if upgrading else "Updating"
