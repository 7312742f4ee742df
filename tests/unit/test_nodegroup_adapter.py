"""NodeGroupAdapter's methods, each called directly: what an NKSNodeGroup's pass reads of
its NKSCluster, checks, records and calls (the generic steps: test_reconciler.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from nks_operator.api.nodegroup import NKSNodeGroupStatus
from nks_operator.control.adapter import Location
from nks_operator.control.nodegroup import NodeGroupAdapter
from nks_operator.control.passes import Stop
from nks_operator.kube.ownership import Owner
from nks_operator.nks import DeleteResult, errors
from nks_operator.nks.models import Cluster, NodeGroup
from nks_operator.polling.poller import AccountPoller
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile.outcome import Assessment, Stage
from nks_operator.reconcile.reasons import Reason
from nks_operator.runtime.cache import ObjectKey
from tests.unit.adapter_pass import new_pass
from tests.unit.specs import NODEGROUP_SPEC, _merge
from tests.unit.test_cluster_adapter import OneCall
from tests.unit.test_reconciler import Harness

CLUSTER_ID = "0b6c8a30-5e4b-4bb4-a3c1-1b1d1bd7d1a0"
GROUP_ID = "7e1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b"
LOCATION = Location("kr2", None, CLUSTER_ID)
ADAPTER = NodeGroupAdapter()


def spec(**changes: Any) -> dict[str, Any]:
    return _merge(NODEGROUP_SPEC, changes)


def snapshot(cluster_status: str = "UPDATE_COMPLETE", **group: Any) -> ClusterSnapshot:
    found = ClusterSnapshot(CLUSTER_ID)
    found.cluster = Cluster.model_validate(
        {"uuid": CLUSTER_ID, "status": cluster_status, "coe_version": "v1.29.3"}
    )
    found.detailed = True
    found.nodegroups["pool"] = NodeGroup.model_validate(
        {"uuid": GROUP_ID, "name": "pool", "status": "CREATE_COMPLETE", **group}
    )
    return found


def without_its_cluster(p: Any) -> Any:
    """The NKSCluster is neither cached nor in the apiserver (the one read a fake)."""

    async def not_found(name: str) -> None:
        return None

    p.around.cluster_object = not_found
    return p


def ending(raised: pytest.ExceptionInfo[Stop]) -> Assessment:
    found = raised.value.ending
    assert isinstance(found, Assessment)
    return found


# -- identity ------------------------------------------------------------------------------


def test_the_nks_id_is_the_group_s_and_its_cluster_is_recorded() -> None:
    status = NKSNodeGroupStatus()
    ADAPTER.identity.set_nks_id(status, GROUP_ID, LOCATION)
    assert ADAPTER.identity.nks_id(status) == GROUP_ID and status.cluster_id == CLUSTER_ID
    assert not ADAPTER.facts.nks_id_is_cluster_id
    p = new_pass(ADAPTER, spec(nodeGroupName="big"), name="pool")
    assert ADAPTER.identity.nks_name(p.spec, "pool") == "big"


# -- locate: the parent NKSCluster -------------------------------------------------------------


async def test_without_its_cluster_a_new_group_waits() -> None:
    p = without_its_cluster(new_pass(ADAPTER, spec(), name="pool"))
    located = await ADAPTER.locate(p)
    assert isinstance(located, Assessment) and located.stage == Stage.WAITING_FOR_PARENT
    assert "does not exist yet" in located.message


async def test_a_created_group_whose_cluster_is_gone_stops() -> None:
    p = without_its_cluster(new_pass(ADAPTER, spec(), {"nodeGroupID": GROUP_ID}, name="pool"))
    with pytest.raises(Stop) as raised:
        await ADAPTER.locate(p)
    problem = ending(raised).problem
    assert problem is not None and problem.reason == Reason.CLUSTER_NOT_FOUND


async def test_a_cluster_not_ready_yet_is_waited_for() -> None:
    h = Harness()
    parent = {"metadata": {"name": "demo", "uid": "u-demo"}, "spec": {"region": "kr2"}}
    h.cache.store(ObjectKey("NKSCluster", "ns", "demo"), json.loads(json.dumps(parent)))
    p = new_pass(ADAPTER, spec(), name="pool", harness=h)
    located = await ADAPTER.locate(p)
    assert isinstance(located, Assessment) and "to be Ready" in located.message


def ready_parent(h: Harness) -> dict[str, Any]:
    """The NKSCluster "demo", Ready, holding its NKS cluster's ownership record."""
    parent = {
        "metadata": {"name": "demo", "namespace": "ns", "uid": "u-demo"},
        "spec": {
            "region": "kr2",
            "credentialsRef": {"name": "nhn"},
            "kubernetesVersion": "v1.29.3",
            "network": {"subnetID": "subnet-1"},
        },
        "status": {
            "clusterID": CLUSTER_ID,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "ClusterReady",
                    "message": "up",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ],
        },
    }
    h.cache.store(ObjectKey("NKSCluster", "ns", "demo"), json.loads(json.dumps(parent)))
    return parent


async def test_a_ready_cluster_locates_the_group_and_lends_its_version_and_subnet() -> None:
    h = Harness()
    parent = ready_parent(h)
    await h.ctx.ownerships.claim("cluster", CLUSTER_ID, Owner.of("NKSCluster", parent["metadata"]))
    p = new_pass(ADAPTER, spec(), name="pool", harness=h)
    assert await ADAPTER.locate(p) == Location("kr2", "nhn", CLUSTER_ID)
    assert p.found.parent_version == "v1.29.3" and p.found.parent_subnet == "subnet-1"


async def test_a_cluster_without_its_ownership_record_is_waited_for() -> None:
    h = Harness()
    ready_parent(h)
    p = new_pass(ADAPTER, spec(), name="pool", harness=h)
    located = await ADAPTER.locate(p)
    assert isinstance(located, Assessment) and "to hold its NKS cluster" in located.message


async def test_another_cluster_s_group_is_refused() -> None:
    h = Harness()
    parent = ready_parent(h)
    await h.ctx.ownerships.claim("cluster", CLUSTER_ID, Owner.of("NKSCluster", parent["metadata"]))
    status = {"nodeGroupID": GROUP_ID, "clusterID": GROUP_ID}
    p = new_pass(ADAPTER, spec(), status, name="pool", harness=h)
    with pytest.raises(Stop) as raised:
        await ADAPTER.locate(p)
    problem = ending(raised).problem
    assert problem is not None and "spec.clusterRef is immutable" in problem.message


async def test_a_deletion_without_its_cluster_has_nothing_to_call() -> None:
    p = without_its_cluster(new_pass(ADAPTER, spec(), {"nodeGroupID": GROUP_ID}, name="pool"))
    assert await ADAPTER.deleting.locate_for_delete(p) is None


async def test_a_deletion_takes_its_cluster_from_the_watch() -> None:
    # A deleting group's pass runs every fast interval: no apiserver read of its cluster
    # each time (the fake apiserver here cannot answer one).
    h = Harness()
    ready_parent(h)
    status = {"nodeGroupID": GROUP_ID, "clusterID": CLUSTER_ID}
    p = new_pass(ADAPTER, spec(), status, name="pool", harness=h)
    assert await ADAPTER.deleting.locate_for_delete(p) == Location("kr2", "nhn", CLUSTER_ID)
    assert h.calls.log == []


# -- observe and check -------------------------------------------------------------------------


def test_observe_finds_the_group_by_uuid() -> None:
    observed = ADAPTER.observe(snapshot(), GROUP_ID)
    assert observed is not None and observed.status == "CREATE_COMPLETE"
    assert ADAPTER.observe(snapshot(), CLUSTER_ID) is None
    assert ADAPTER.facts.nks_resource == "nodegroup"  # its tasks are scoped by its uuid


def test_the_cluster_s_own_groups_are_not_adopted() -> None:
    p = new_pass(ADAPTER, spec(nodeGroupID=GROUP_ID), {"nodeGroupID": GROUP_ID}, name="pool")
    found = snapshot()
    found.nodegroups = {
        "default-worker": found.nodegroups["pool"].model_copy(update={"name": "default-worker"})
    }
    observed = ADAPTER.observe(found, GROUP_ID)
    problems, _drift = ADAPTER.checking.problems(p, {"v1.29.3": True}, observed)
    assert any("which its NKSCluster manages" in problem for problem in problems)


def test_another_node_group_id_is_refused() -> None:
    p = new_pass(ADAPTER, spec(nodeGroupID=CLUSTER_ID), {"nodeGroupID": GROUP_ID}, name="pool")
    problems, _drift = ADAPTER.checking.problems(p, {"v1.29.3": True}, None)
    assert any("spec.nodeGroupID is immutable" in problem for problem in problems)


async def test_check_gives_the_problems_the_drift_and_the_unreadable_parts_at_once() -> None:
    p = new_pass(ADAPTER, spec(nodeGroupID=CLUSTER_ID), {"nodeGroupID": GROUP_ID}, name="pool")
    checked = await ADAPTER.checking.check(p, None, {"v1.29.3": True}, None)  # type: ignore[arg-type]
    assert any("spec.nodeGroupID is immutable" in problem for problem in checked.problems)
    assert checked.drift == [] and checked.unreadable == {}


# -- create ------------------------------------------------------------------------------------


def test_a_create_waits_while_the_cluster_is_busy_or_a_sibling_is_created() -> None:
    h = Harness()
    p = new_pass(ADAPTER, spec(), name="pool", harness=h)
    busy = snapshot("UPDATE_IN_PROGRESS")
    assert (
        ADAPTER.creating.create_blocker(p, LOCATION, busy)
        == "waiting for the cluster's current operation"
    )
    idle = snapshot()
    assert ADAPTER.creating.create_blocker(p, LOCATION, idle) is None
    h.ctx.claims.claim(CLUSTER_ID, ObjectKey("NKSNodeGroup", "ns", "other"), 30)
    blocker = ADAPTER.creating.create_blocker(p, LOCATION, idle)
    assert blocker == "waiting for another node group of the cluster to be created first"


async def test_create_sends_the_spec_to_the_cluster() -> None:
    p = new_pass(ADAPTER, spec(), name="pool")
    account = OneCall(create_nodegroup=NodeGroup.model_validate({"uuid": GROUP_ID}))
    assert await ADAPTER.creating.create(account, LOCATION, p.spec, "pool", {}) == GROUP_ID  # type: ignore[arg-type]
    [(name, (cluster_id, request))] = account.calls
    assert name == "create_nodegroup" and cluster_id == CLUSTER_ID and request.name == "pool"


# -- bookkeeping around operations -----------------------------------------------------------


def test_stopped_nodes_are_recorded_when_the_action_is_sent() -> None:
    p = new_pass(ADAPTER, spec(), {"nodeGroupID": GROUP_ID, "stoppedNodes": ["a"]}, name="pool")
    ADAPTER.converging.after_send(p, "NODEGROUP_NODE_ACTION_NODE_STOP", {"node_ids": ["b"]})
    assert p.status.stopped_nodes == ["a", "b"]
    ADAPTER.converging.after_send(p, "NODEGROUP_NODE_ACTION_NODE_START", {"node_ids": ["a"]})
    assert p.status.stopped_nodes == ["b"]


def test_a_node_action_s_success_makes_the_servers_read_again() -> None:
    p = new_pass(ADAPTER, spec(), {"nodeGroupID": GROUP_ID}, name="pool")
    forgotten: list[bool] = []

    class Account:
        def forget_servers(self) -> None:
            forgotten.append(True)

    ADAPTER.converging.after_success(p, Account(), "NODEGROUP_NODE_ACTION_NODE_STOP")  # type: ignore[arg-type]
    assert forgotten == [True]


# -- delete ------------------------------------------------------------------------------------


def looking(**answers: Any) -> OneCall:
    """An account whose poller reads through the one-call client."""
    account = OneCall(**answers)
    account.poller = AccountPoller(account, fast_seconds=1, slow_seconds=60, autostart=False)  # type: ignore[attr-defined,arg-type]
    return account


async def test_read_for_delete_finds_the_group_in_its_cluster() -> None:
    group = NodeGroup.model_validate({"uuid": GROUP_ID, "status": "DELETE_IN_PROGRESS"})
    there = looking(list_nodegroups=[group])
    assert await ADAPTER.deleting.read_for_delete(there, LOCATION, GROUP_ID) == "DELETE_IN_PROGRESS"  # type: ignore[arg-type]
    assert (
        await ADAPTER.deleting.read_for_delete(looking(list_nodegroups=[]), LOCATION, GROUP_ID)  # type: ignore[arg-type]
        is None
    )
    gone = looking(list_nodegroups=errors.NotFoundError("no cluster", status_code=404))
    assert await ADAPTER.deleting.read_for_delete(gone, LOCATION, GROUP_ID) is None  # type: ignore[arg-type]


async def test_groups_deleted_at_once_share_one_look() -> None:
    """The deletion passes of a cluster's groups look at the same moment: one list call
    answers all of them; a look after it ended reads again."""
    group = NodeGroup.model_validate({"uuid": GROUP_ID, "status": "DELETE_IN_PROGRESS"})
    account = looking(list_nodegroups=[group])
    looks = [ADAPTER.deleting.read_for_delete(account, LOCATION, g) for g in (GROUP_ID, "other")]  # type: ignore[arg-type]
    assert await asyncio.gather(*looks) == ["DELETE_IN_PROGRESS", None]
    assert len(account.calls) == 1
    await ADAPTER.deleting.read_for_delete(account, LOCATION, GROUP_ID)  # type: ignore[arg-type]
    assert len(account.calls) == 2


async def test_delete_calls_nks_with_cluster_and_group() -> None:
    account = OneCall(delete_nodegroup=DeleteResult.ACCEPTED)
    assert await ADAPTER.deleting.delete(account, LOCATION, GROUP_ID)  # type: ignore[arg-type]
    assert account.calls == [("delete_nodegroup", (CLUSTER_ID, GROUP_ID))]


async def test_a_group_missing_from_the_snapshot_asks_for_a_read_not_a_full_one() -> None:
    """A group just created is not in the snapshot read before it: the next read lists the
    groups (which tells whether it exists) and GETs it as new; its siblings' GETs, which
    their list entries vouch for, are not repeated."""
    h = Harness()
    p = new_pass(ADAPTER, spec(), {"nksID": "new-group", "clusterID": CLUSTER_ID}, harness=h)
    requested: list[dict[str, Any]] = []

    def request_refresh(cluster_id: str | None = None, *, full: bool = True) -> None:
        requested.append({"cluster": cluster_id, "full": full})

    h.account.poller.request_refresh = request_refresh  # type: ignore[method-assign]
    found = snapshot()
    found.refreshed_at = 5.0
    missing = h.reconciler._missing(p, h.account, found, "new-group")  # type: ignore[arg-type]
    assert missing is not None and missing.stage is Stage.OBSERVING
    assert requested == [{"cluster": CLUSTER_ID, "full": False}]
