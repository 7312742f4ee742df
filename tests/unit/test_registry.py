"""The registry's indexes: phase counts, node groups by cluster, the cluster cache."""

from __future__ import annotations

from nks_operator.control.registry import Registry


def test_phase_counts_follow_changes_and_forgets() -> None:
    registry = Registry()
    registry.slot("a", "NKSCluster", "ns", "a")
    registry.slot("b", "NKSCluster", "ns", "b")
    registry.record_phase("a", "NKSCluster", "Provisioning")
    registry.record_phase("b", "NKSCluster", "Provisioning")
    registry.record_phase("a", "NKSCluster", "Ready")
    registry.record_phase("g", "NKSNodeGroup", None)
    assert registry.phase_counts("NKSCluster") == {"Provisioning": 1, "Ready": 1}
    assert registry.phase_counts("NKSNodeGroup") == {"Unknown": 1}
    registry.forget("b")
    assert registry.phase_counts("NKSCluster") == {"Ready": 1}
    registry.forget("b")  # twice is harmless
    assert registry.phase_counts("NKSCluster") == {"Ready": 1}


def test_only_the_node_groups_of_a_cluster_are_woken() -> None:
    registry = Registry()
    mine = registry.slot("g1", "NKSNodeGroup", "ns", "g1")
    other = registry.slot("g2", "NKSNodeGroup", "ns", "g2")
    elsewhere = registry.slot("g3", "NKSNodeGroup", "other", "g3")
    registry.set_parent("g1", ("ns", "c1"))
    registry.set_parent("g2", ("ns", "c2"))
    registry.set_parent("g3", ("other", "c1"))
    registry.wake_children("ns", "c1")
    assert mine.waker.is_set()
    assert not other.waker.is_set() and not elsewhere.waker.is_set()
    # A changed clusterRef moves the node group; forgetting it removes it.
    mine.waker.clear()
    registry.set_parent("g1", ("ns", "c2"))
    registry.wake_children("ns", "c1")
    assert not mine.waker.is_set()
    registry.forget("g1")
    registry.wake_children("ns", "c2")
    assert not mine.waker.is_set() and other.waker.is_set()


def test_cluster_cache_by_namespace_and_name() -> None:
    registry = Registry()
    body = {"metadata": {"namespace": "ns", "name": "c1"}, "status": {"clusterID": "x"}}
    assert registry.cluster("ns", "c1") is None
    registry.remember_cluster(body)
    assert registry.cluster("ns", "c1") == body
    assert registry.cluster("other", "c1") is None
    registry.forget_cluster("ns", "c1")
    assert registry.cluster("ns", "c1") is None


def test_a_recreated_object_keeps_its_new_slot_when_the_old_is_forgotten() -> None:
    registry = Registry()
    registry.slot("old", "NKSCluster", "ns", "c")
    new = registry.slot("new", "NKSCluster", "ns", "c")
    registry.forget("old")
    assert registry.wake("NKSCluster", "ns", "c")
    assert new.waker.is_set()
