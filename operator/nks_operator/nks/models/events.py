"""Task history ("events"): the most reliable proof that an operation started."""

from __future__ import annotations

from nks_operator.nks.models.base import (
    NKSAnswer,
    OptLooseInt,
    OptTimestamp,
)


class TaskEvent(NKSAnswer):
    """One task of a cluster's history; `state` is SUCCESS, FAIL or IN_PROGRESS.

    `type` is one of `/v1/supports`' `supported_event_type`; the guide lists none for IP
    ACL, service gateway or certificate changes (docs/nks-api-notes.md, "Task history").
    """

    uuid: str
    id: OptLooseInt = None
    type: str | None = None  # e.g. CLUSTER_CREATE, NODEGROUP_UPGRADE (see /v1/supports)
    state: str | None = None
    contents: str | None = None  # progress or failure detail; null on success
    project_id: str | None = None
    cluster_uuid: str | None = None
    cluster_name: str | None = None
    resource_uuid: str | None = None
    resource_name: str | None = None
    resource_type: str | None = None  # "cluster" or "nodegroup"
    created_at: OptTimestamp = None
    updated_at: OptTimestamp = None

    @property
    def succeeded(self) -> bool:
        return (self.state or "").upper() == "SUCCESS"

    @property
    def failed(self) -> bool:
        return (self.state or "").upper() == "FAIL"

    @property
    def in_progress(self) -> bool:
        return not self.succeeded and not self.failed
