"""NKS's raw status strings -> the operator's phase and a stable/in-progress verdict.

NKS reports Heat-style statuses (`CREATE_IN_PROGRESS`, `UPDATE_COMPLETE`, ...). A
`ROLLBACK_*` status means the last operation failed and NKS undid it: the resource is back
in a state it can work from, but the operation did not happen.
"""

from __future__ import annotations

from nks_operator.api.status import Phase


def is_failed(nks_status: str | None) -> bool:
    return bool(nks_status) and str(nks_status).upper().endswith("_FAILED")


def is_rolled_back(nks_status: str | None) -> bool:
    return bool(nks_status) and str(nks_status).upper().startswith("ROLLBACK_")


def is_stable(nks_status: str | None) -> bool:
    """A state from which NKS accepts a new operation (`*_COMPLETE`, not a deletion)."""
    status = str(nks_status or "").upper()
    return status.endswith("_COMPLETE") and not status.startswith("DELETE")


def is_success(nks_status: str | None) -> bool:
    """The last operation ended as asked (a rollback is stable but not a success)."""
    return is_stable(nks_status) and not is_rolled_back(nks_status)


def is_in_progress(nks_status: str | None) -> bool:
    """Anything neither complete nor failed counts as in progress (unknown values too)."""
    return not (is_stable(nks_status) or is_failed(nks_status))


def phase_for(nks_status: str | None, *, upgrading: bool = False) -> Phase:
    status = str(nks_status or "").upper()
    if not status:
        return "Provisioning"
    if is_failed(status):
        return "Failed"
    if status.startswith("CREATE"):
        return "Ready" if status.endswith("_COMPLETE") else "Provisioning"
    if status.startswith("DELETE"):
        return "Deleting"
    if is_stable(status):
        return "Ready"
    return "Upgrading" if upgrading else "Updating"
