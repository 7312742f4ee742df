"""Reading NKS's Heat-style status strings (CREATE_IN_PROGRESS, UPDATE_COMPLETE, ...)."""

from __future__ import annotations


def is_failed(status: str | None) -> bool:
    """Any `*_FAILED` status; `status_reason` says why."""
    return status is not None and status.upper().endswith("_FAILED")


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
