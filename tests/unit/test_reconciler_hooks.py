"""The reconciler's hooks for what an adapter reads besides the snapshot (the add-on
catalogue, installed add-ons, control-plane log settings), and operations NKS runs
without showing the cluster busy (add-on changes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nks_operator.control.adapter import Observed
from nks_operator.control.passes import Pass
from nks_operator.nks import errors
from nks_operator.nks.models import TaskEvent
from nks_operator.reconcile.day2 import Plan
from nks_operator.runtime.cache import ObjectKey
from tests.unit.test_reconciler import ID, KEY, FakeAdapter, Harness, operation, resize

SIBLING = ObjectKey("NKSNodeGroup", "ns", "pool")


class HookedAdapter(FakeAdapter):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.inputs_error: errors.NKSError | None = None
        self.unreadable_inputs: dict[str, str] = {}
        self.own_status: str | None = None
        self.created_with: Mapping[tuple[str, str], str] | None = None

    async def inputs(self, p: Pass, account: Any, observed: Observed | None) -> Mapping[str, str]:
        self.calls.log.append("inputs")
        if self.inputs_error is not None:
            raise self.inputs_error
        return dict(self.unreadable_inputs)

    def problems(self, p: Pass, supported: Any, observed: Observed | None) -> Any:
        self.calls.log.append("problems")
        return super().problems(p, supported, observed)

    def operation_status(self, p: Pass, observed: Observed, target: str | None) -> str | None:
        return self.own_status if self.own_status is not None else observed.status

    async def created(self, p: Pass, secrets: Mapping[tuple[str, str], str]) -> None:
        self.created_with = secrets


def harness(**settings: Any) -> tuple[Harness, HookedAdapter]:
    h = Harness(**settings)
    adapter = HookedAdapter(h.calls)
    h.adapter = adapter
    h.reconciler.adapters["NKSCluster"] = adapter
    return h, adapter


async def test_inputs_are_read_before_the_spec_checks() -> None:
    h, _adapter = harness()
    h.status_of(nksID=ID)
    h.observe()
    await h.run()
    assert h.calls.log.index("inputs") < h.calls.log.index("problems")


async def test_an_nks_error_reading_inputs_is_transient() -> None:
    h, adapter = harness()
    h.status_of(nksID=ID)
    h.observe()
    adapter.inputs_error = errors.ServerError("boom", status_code=503)
    adapter.plan_result = Plan(action=resize())
    await h.run()
    assert h.condition("Synced")["reason"] == "NKSUnavailable"
    assert "problems" not in h.calls.log
    assert not any(c.startswith("resize") for c in h.calls.log)


async def test_unreadable_parts_of_inputs_mark_synced() -> None:
    h, adapter = harness()
    h.status_of(nksID=ID)
    h.observe()
    adapter.unreadable_inputs = {"add-on calico": "no version"}
    await h.run()
    synced = h.condition("Synced")
    assert synced["reason"] == "NKSAnswerInvalid"
    assert "add-on calico: no version" in synced["message"]


async def test_an_operation_is_followed_by_the_status_the_adapter_names() -> None:
    h, adapter = harness()
    h.status_of(nksID=ID, lastOperation=operation())
    h.observe("UPDATE_COMPLETE")
    adapter.own_status = "UPDATE_IN_PROGRESS"  # e.g. the add-on's own status
    await h.run()
    assert h.status["lastOperation"]["state"] == "InProgress"
    adapter.own_status = "UPDATE_FAILED"
    await h.run()
    assert h.status["lastOperation"]["state"] == "Failed"


async def test_an_operation_nks_does_not_show_busy_keeps_the_cluster_claimed() -> None:
    """An add-on change leaves the cluster's status as it is: siblings learn that an
    operation runs only from the claim, renewed while it is followed."""
    h, _adapter = harness()
    h.status_of(nksID=ID, lastOperation=operation(type="CLUSTER_UPDATE_ADDON", target=None))
    snapshot = h.observe("UPDATE_COMPLETE")
    snapshot.tasks = [
        TaskEvent.model_validate(
            {"uuid": "t", "id": 11, "type": "CLUSTER_UPDATE_ADDON", "state": "IN_PROGRESS"}
        )
    ]
    result = await h.run()
    assert h.status["lastOperation"]["state"] == "InProgress"
    assert h.ctx.claims.held_by_other(ID, SIBLING)
    confirm = max(30.0, h.settings.fast_poll_seconds * 10)
    assert result.requeue_after <= confirm / 2  # renewed before it lapses
    # Shown busy: NKS's state tells the siblings; the claim goes.
    h.observe("UPDATE_IN_PROGRESS").tasks = snapshot.tasks
    await h.run()
    assert not h.ctx.claims.held_by_other(ID, SIBLING)


async def test_ended_operation_releases_the_claim() -> None:
    h, _adapter = harness()
    h.status_of(nksID=ID, lastOperation=operation(type="CLUSTER_UPDATE_ADDON", target=None))
    snapshot = h.observe("UPDATE_COMPLETE")
    snapshot.tasks = [
        TaskEvent.model_validate(
            {"uuid": "t", "id": 11, "type": "CLUSTER_UPDATE_ADDON", "state": "SUCCESS"}
        )
    ]
    h.ctx.claims.claim(ID, KEY, 30.0)
    await h.run()
    assert h.status["lastOperation"]["state"] == "Succeeded"
    assert not h.ctx.claims.held_by_other(ID, SIBLING)


async def test_the_adapter_learns_what_the_create_was_sent() -> None:
    h, adapter = harness()
    await h.run()
    assert "create demo" in h.calls.log
    assert adapter.created_with == {}
