"""lastOperation.type: an enum whose values are the strings status has always held."""

from __future__ import annotations

from nks_operator.api.operations import OperationType, operation_type
from nks_operator.api.status import LastOperation
from nks_operator.nks.tasks import task_kind
from nks_operator.reconcile import addons, control_plane_log, day2, worker_settings

Op = OperationType


def test_values_are_the_serialised_strings() -> None:
    assert all(o.value == o.name for o in Op)
    last = LastOperation(type=Op.NODEGROUP_UPGRADE, state="Requested")
    assert last.model_dump(mode="json")["type"] == "NODEGROUP_UPGRADE"
    assert (
        LastOperation.model_validate({"type": "NODEGROUP_UPGRADE", "state": "InProgress"}).operation
        is Op.NODEGROUP_UPGRADE
    )


def test_an_older_releases_type_is_kept_as_read() -> None:
    last = LastOperation.model_validate({"type": "CLUSTER_UPDATE_SGW", "state": "Failed"})
    assert last.type == "CLUSTER_UPDATE_SGW" and last.operation is None
    assert operation_type(None) is None and operation_type("") is None


def test_properties_the_call_sites_use() -> None:
    assert {o for o in Op if o.is_create} == {Op.CLUSTER_CREATE, Op.NODEGROUP_CREATE}
    assert {o for o in Op if o.is_delete} == {Op.CLUSTER_DELETE, Op.NODEGROUP_DELETE}
    assert [o for o in Op if o.is_upgrade] == [Op.NODEGROUP_UPGRADE]
    assert {Op.UPDATE_SERVICE_GATEWAY, Op.SET_IP_ACL, Op.RENEW_CERTIFICATE} == day2.STATE_CONFIRMED
    assert {addons.INSTALL, addons.UPDATE, addons.UNINSTALL} == addons.OPERATIONS
    assert {o for o in Op if o.is_node_action} == {
        Op.NODEGROUP_NODE_ACTION_NODE_STOP,
        Op.NODEGROUP_NODE_ACTION_NODE_START,
    }


def test_task_confirmed_types_are_task_names() -> None:
    """A type NKS records a task for is that task's name (nks/tasks.py), so the task that
    confirms it is found by the type."""
    for o in Op:
        assert (task_kind(o) is None) is o.confirmed_by_state, o
    assert control_plane_log.OPERATION in Op
    assert set(worker_settings.OPERATIONS.values()) <= set(Op)
