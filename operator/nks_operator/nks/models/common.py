"""Response shapes shared by several operations."""

from __future__ import annotations

from nks_operator.nks.models.base import NKSModel


class ActionResponse(NKSModel):
    """`{"uuid": ...}`: the answer to create/resize and the NKS-only actions.

    The uuid is the cluster's or the node group's, not a task id; the task shows up in
    the cluster's task history (`list_events`).
    """

    uuid: str | None = None
