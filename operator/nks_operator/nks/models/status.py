"""Reading NKS's Heat-style status strings (CREATE_IN_PROGRESS, UPDATE_COMPLETE, ...).

`ROLLBACK_COMPLETE` is both stable (nothing runs, a new operation may start) and failed
(the operation that led there did not happen); NHN's provider treats every `*_FAILED` and
`ROLLBACK_*` status as an error (docs/nks-api-notes.md, "Statuses and outcomes").
"""

from __future__ import annotations


def is_rolled_back(status: str | None) -> bool:
    """`ROLLBACK_COMPLETE` / `ROLLBACK_FAILED`: the last operation failed and was undone
    (or failed to be undone)."""
    text = (status or "").upper()
    return text.startswith("ROLLBACK_") and text.endswith(("_COMPLETE", "_FAILED"))


def is_failed(status: str | None) -> bool:
    """The last operation failed: any `*_FAILED`, or `ROLLBACK_COMPLETE`; `status_reason`
    says why."""
    return status is not None and (status.upper().endswith("_FAILED") or is_rolled_back(status))


def is_stable(status: str | None) -> bool:
    """A `*_COMPLETE` status: the only state from which a new operation should start."""
    return status is not None and status.upper().endswith("_COMPLETE")


def is_in_progress(status: str | None) -> bool:
    """Neither complete nor failed; unknown or missing statuses count as in progress."""
    return not is_failed(status) and not is_stable(status)


class StatusMixin:
    """Status helpers for models with a `status` field."""

    status: str | None

    @property
    def is_failed(self) -> bool:
        return is_failed(self.status)

    @property
    def is_stable(self) -> bool:
        return is_stable(self.status)

    @property
    def is_in_progress(self) -> bool:
        return is_in_progress(self.status)

    @property
    def is_rolled_back(self) -> bool:
        return is_rolled_back(self.status)
