"""What each NKS status means: the one place that reads NKS's Heat-style status strings.

NKS reports `<ACTION>_<STATE>` (`CREATE_IN_PROGRESS`, `UPDATE_COMPLETE`, ...) for clusters,
node groups and add-ons. Every status is one `StatusClass`; the predicates below answer
the questions the operator asks, all from that class (evidence: docs/nks-api-notes.md,
"Statuses and outcomes"):

- stable: a new operation may start (`*_COMPLETE`, `ROLLBACK_COMPLETE` included);
- in progress: something runs, wait (unknown values too: the set is not closed);
- failed: the resource sits in a failed state (`*_FAILED`, `ROLLBACK_FAILED` included);
- rollback: the last operation failed and NKS undoes it (`ROLLBACK_IN_PROGRESS`) or undid
  it (`ROLLBACK_COMPLETE`: idle again, but the operation did not happen) or failed to
  (`ROLLBACK_FAILED`);
- deleted: `DELETE_COMPLETE`, the resource is gone: neither stable nor running.
"""

from __future__ import annotations

from enum import StrEnum


class StatusClass(StrEnum):
    STABLE = "stable"
    IN_PROGRESS = "in_progress"
    FAILED = "failed"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    DELETED = "deleted"
    UNKNOWN = "unknown"


_S = StatusClass
# Magnum's `ClusterStatus` (NKS is a Magnum fork) and the statuses the guides show.
KNOWN_STATUSES: dict[str, StatusClass] = {
    "CREATE_IN_PROGRESS": _S.IN_PROGRESS,
    "CREATE_COMPLETE": _S.STABLE,
    "CREATE_FAILED": _S.FAILED,
    "UPDATE_IN_PROGRESS": _S.IN_PROGRESS,
    "UPDATE_COMPLETE": _S.STABLE,
    "UPDATE_FAILED": _S.FAILED,
    "DELETE_IN_PROGRESS": _S.IN_PROGRESS,
    "DELETE_COMPLETE": _S.DELETED,
    "DELETE_FAILED": _S.FAILED,
    "RESUME_COMPLETE": _S.STABLE,
    "RESUME_FAILED": _S.FAILED,
    "RESTORE_COMPLETE": _S.STABLE,
    "SNAPSHOT_COMPLETE": _S.STABLE,
    "CHECK_COMPLETE": _S.STABLE,
    "ADOPT_COMPLETE": _S.STABLE,
    "ROLLBACK_IN_PROGRESS": _S.ROLLING_BACK,
    "ROLLBACK_COMPLETE": _S.ROLLED_BACK,
    "ROLLBACK_FAILED": _S.FAILED,
}
# Another `*_FAILED` is a failure (NHN's provider treats every one as an error); anything
# else not listed is unknown and waited out, never acted from.
_FAILED_SUFFIX = "_FAILED"
_STATES = ("_IN_PROGRESS", "_COMPLETE", _FAILED_SUFFIX)
ROLLBACK_ACTION = "ROLLBACK"


def _text(status: str | None) -> str:
    return (status or "").upper()


def classify(status: str | None) -> StatusClass:
    text = _text(status)
    known = KNOWN_STATUSES.get(text)
    if known is not None:
        return known
    return _S.FAILED if text.endswith(_FAILED_SUFFIX) else _S.UNKNOWN


def action(status: str | None) -> str:
    """The operation a status is about (`CREATE`, `UPDATE`, `DELETE`, `ROLLBACK`, ...);
    empty when there is no status."""
    text = _text(status)
    state = next((s for s in _STATES if text.endswith(s)), "")
    return text.removesuffix(state)


def is_stable(status: str | None) -> bool:
    """NKS accepts a new operation: the last one ended (a rollback included)."""
    return classify(status) in (_S.STABLE, _S.ROLLED_BACK)


def is_success(status: str | None) -> bool:
    """The last operation ended as asked (a rollback is stable but not a success)."""
    return classify(status) is _S.STABLE


def is_in_progress(status: str | None) -> bool:
    """Something runs; a missing or unknown status counts as running."""
    return classify(status) in (_S.IN_PROGRESS, _S.ROLLING_BACK, _S.UNKNOWN)


def is_failed(status: str | None) -> bool:
    """The resource is in a failed state (`*_FAILED`); `status_reason` says why."""
    return classify(status) is _S.FAILED


def is_rolled_back(status: str | None) -> bool:
    """The last operation failed and NKS is undoing it, undid it or failed to."""
    return action(status) == ROLLBACK_ACTION


def operation_failed(status: str | None) -> bool:
    """The last operation ended in failure: a failed state or a completed rollback."""
    return classify(status) in (_S.FAILED, _S.ROLLED_BACK)


def is_deleted(status: str | None) -> bool:
    return classify(status) is _S.DELETED


def is_creation(status: str | None) -> bool:
    """The status of a create (`CREATE_*`)."""
    return action(status) == "CREATE"


def is_deletion(status: str | None) -> bool:
    """The status of a delete (`DELETE_*`)."""
    return action(status) == "DELETE"


class StatusMixin:
    """Status helpers for models with a `status` field."""

    status: str | None

    @property
    def is_failed(self) -> bool:
        return is_failed(self.status)

    @property
    def operation_failed(self) -> bool:
        return operation_failed(self.status)

    @property
    def is_stable(self) -> bool:
        return is_stable(self.status)

    @property
    def is_in_progress(self) -> bool:
        return is_in_progress(self.status)

    @property
    def is_rolled_back(self) -> bool:
        return is_rolled_back(self.status)
