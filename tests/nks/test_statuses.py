"""Every NKS status has one meaning (nks/models/status.py), and the phase follows it."""

from __future__ import annotations

import pytest

from nks_operator.nks.models import status
from nks_operator.nks.models.status import StatusClass
from nks_operator.reconcile import phase

S = StatusClass

# status: (class, stable, in progress, failed, rollback, the last operation failed, phase)
TABLE: dict[str | None, tuple[StatusClass, bool, bool, bool, bool, bool, str]] = {
    "CREATE_IN_PROGRESS": (S.IN_PROGRESS, False, True, False, False, False, "Provisioning"),
    "CREATE_COMPLETE": (S.STABLE, True, False, False, False, False, "Ready"),
    "CREATE_FAILED": (S.FAILED, False, False, True, False, True, "Failed"),
    "UPDATE_IN_PROGRESS": (S.IN_PROGRESS, False, True, False, False, False, "Updating"),
    "UPDATE_COMPLETE": (S.STABLE, True, False, False, False, False, "Ready"),
    "UPDATE_FAILED": (S.FAILED, False, False, True, False, True, "Failed"),
    "DELETE_IN_PROGRESS": (S.IN_PROGRESS, False, True, False, False, False, "Deleting"),
    # The three the two old modules disagreed on:
    "DELETE_COMPLETE": (S.DELETED, False, False, False, False, False, "Deleting"),
    "ROLLBACK_COMPLETE": (S.ROLLED_BACK, True, False, False, True, True, "Ready"),
    "ROLLBACK_IN_PROGRESS": (S.ROLLING_BACK, False, True, False, True, False, "Updating"),
    "DELETE_FAILED": (S.FAILED, False, False, True, False, True, "Failed"),
    "ROLLBACK_FAILED": (S.FAILED, False, False, True, True, True, "Failed"),
    "RESUME_COMPLETE": (S.STABLE, True, False, False, False, False, "Ready"),
    "RESUME_FAILED": (S.FAILED, False, False, True, False, True, "Failed"),
    "RESTORE_COMPLETE": (S.STABLE, True, False, False, False, False, "Ready"),
    "SNAPSHOT_COMPLETE": (S.STABLE, True, False, False, False, False, "Ready"),
    "CHECK_COMPLETE": (S.STABLE, True, False, False, False, False, "Ready"),
    "ADOPT_COMPLETE": (S.STABLE, True, False, False, False, False, "Ready"),
    # Not listed anywhere: a failure by its suffix, anything else waited out.
    "SOMETHING_NEW_FAILED": (S.FAILED, False, False, True, False, True, "Failed"),
    "SOMETHING_NEW_IN_PROGRESS": (S.UNKNOWN, False, True, False, False, False, "Updating"),
    "SOMETHING_NEW_COMPLETE": (S.UNKNOWN, False, True, False, False, False, "Updating"),
    "": (S.UNKNOWN, False, True, False, False, False, "Provisioning"),
    None: (S.UNKNOWN, False, True, False, False, False, "Provisioning"),
}


def test_every_known_status_is_in_the_table() -> None:
    assert set(status.KNOWN_STATUSES) <= set(TABLE)


@pytest.mark.parametrize("value", list(TABLE))
def test_status_meaning(value: str | None) -> None:
    kind, stable, running, failed, rollback, op_failed, expected_phase = TABLE[value]
    assert status.classify(value) is kind
    assert status.is_stable(value) is stable
    assert status.is_in_progress(value) is running
    assert status.is_failed(value) is failed
    assert status.is_rolled_back(value) is rollback
    assert status.operation_failed(value) is op_failed
    assert status.is_success(value) is (kind is S.STABLE)
    assert phase.phase_for(value) == expected_phase
    # The reconcilers' names are the same functions: one answer for every caller.
    assert phase.is_stable(value) is stable and phase.is_failed(value) is failed


def test_status_is_read_in_any_case() -> None:
    assert status.classify("rollback_complete") is S.ROLLED_BACK
    assert status.action("update_in_progress") == "UPDATE"


def test_action_of_a_status() -> None:
    assert [status.action(s) for s in ("CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "X_Y", None)] == [
        "CREATE",
        "ROLLBACK",
        "X_Y",
        "",
    ]
    assert status.is_creation("CREATE_IN_PROGRESS") and not status.is_creation("UPDATE_COMPLETE")
    assert status.is_deletion("DELETE_FAILED") and not status.is_deletion("CREATE_COMPLETE")


def test_upgrading_phase() -> None:
    assert phase.phase_for("UPDATE_IN_PROGRESS", upgrading=True) == "Upgrading"
    assert phase.phase_for("ROLLBACK_IN_PROGRESS", upgrading=True) == "Upgrading"
