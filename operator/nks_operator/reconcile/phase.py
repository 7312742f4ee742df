"""NKS's raw status strings -> the operator's phase and a stable/in-progress verdict."""

from __future__ import annotations

from nks_operator.api.status import Phase


def is_failed(nks_status: str | None) -> bool:
    return bool(nks_status) and nks_status.endswith("_FAILED")


def is_stable(nks_status: str | None) -> bool:
    """A state from which NKS accepts a new operation (`*_COMPLETE`)."""
    return (
        bool(nks_status)
        and nks_status.endswith("_COMPLETE")
        and not nks_status.startswith("DELETE")
    )


def is_in_progress(nks_status: str | None) -> bool:
    """Anything neither complete nor failed counts as in progress (nks-facts: unknown values)."""
    return not (is_stable(nks_status) or is_failed(nks_status))


def phase_for(nks_status: str | None, *, upgrading: bool = False) -> Phase:
    if not nks_status:
        return "Provisioning"
    if is_failed(nks_status):
        return "Failed"
    if nks_status.startswith("CREATE"):
        return "Ready" if nks_status.endswith("_COMPLETE") else "Provisioning"
    if nks_status.startswith("DELETE"):
        return "Deleting"
    if is_stable(nks_status):
        return "Ready"
    return "Upgrading" if upgrading else "Updating"
