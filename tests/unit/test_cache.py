"""The object cache: one trimmed copy per object, what wakes a pass, the own-status overlay."""

from __future__ import annotations

import copy
from typing import Any

from nks_operator.api import relations
from nks_operator.control.memory import Memories
from nks_operator.runtime.cache import LAST_APPLIED, ObjectCache, ObjectKey

CLUSTER = ObjectKey("NKSCluster", "ns", "demo")


def kinds_cache() -> ObjectCache:
    """The cache as the operator builds it: the two kinds' relations from api/."""
    return ObjectCache(
        parent_of=relations.PARENT_OF,
        children_view=relations.SEEN_BY_CHILDREN,
        own_annotations=relations.OWN_ANNOTATIONS,
    )


def body(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "nks.nhncloud.com/v1alpha1",
        "kind": "NKSCluster",
        "metadata": {
            "name": "demo",
            "namespace": "ns",
            "uid": "u1",
            "generation": 1,
            "resourceVersion": "10",
            "annotations": {LAST_APPLIED: "{...a whole copy...}", "team": "a"},
            "managedFields": [{"manager": "kubectl"}],
        },
        "spec": {"region": "kr2"},
        "status": status,
    }


def test_trimmed_copy_without_managed_fields_or_last_applied() -> None:
    cache = kinds_cache()
    cache.store(CLUSTER, body())
    stored = cache.get(CLUSTER)
    assert stored is not None
    assert "managedFields" not in stored["metadata"]
    assert stored["metadata"]["annotations"] == {"team": "a"}
    assert stored["spec"] == {"region": "kr2"}


def test_status_only_changes_do_not_need_a_pass() -> None:
    cache = kinds_cache()
    assert cache.store(CLUSTER, body()).needs_pass  # first sight
    assert not cache.store(CLUSTER, body(phase="Ready")).needs_pass
    changed = body()
    changed["metadata"]["generation"] = 2
    assert cache.store(CLUSTER, changed).needs_pass
    annotated = copy.deepcopy(changed)
    annotated["metadata"]["annotations"]["nks.nhncloud.com/paused"] = "true"
    assert cache.store(CLUSTER, annotated).needs_pass
    own = copy.deepcopy(annotated)
    own["metadata"]["annotations"]["nks.nhncloud.com/create-requested"] = "{}"
    assert not cache.store(CLUSTER, own).needs_pass  # the operator's own bookkeeping


def test_node_groups_see_their_cluster_change() -> None:
    cache = kinds_cache()
    cache.store(CLUSTER, body())
    assert not cache.store(CLUSTER, body(phase="Provisioning")).parent_changed
    ready = body(clusterID="c1", conditions=[{"type": "Ready", "status": "True"}])
    assert cache.store(CLUSTER, ready).parent_changed


def test_children_index_follows_cluster_ref() -> None:
    cache = kinds_cache()
    group = ObjectKey("NKSNodeGroup", "ns", "pool")
    other = ObjectKey("NKSNodeGroup", "other", "pool")
    ref = {
        "metadata": {"name": "pool", "namespace": "ns"},
        "spec": {"clusterRef": {"name": "demo"}},
    }
    cache.store(group, ref)
    cache.store(other, {**ref, "metadata": {"name": "pool", "namespace": "other"}})
    assert cache.children("ns", "demo") == [group]
    moved = {**ref, "spec": {"clusterRef": {"name": "prod"}}}
    cache.store(group, moved)
    assert cache.children("ns", "demo") == []
    assert cache.children("ns", "prod") == [group]
    cache.forget(group)
    assert cache.children("ns", "prod") == []


def test_own_status_is_served_until_the_watch_shows_it() -> None:
    cache = kinds_cache()
    cache.store(CLUSTER, body(phase="Pending"))
    cache.wrote_status(CLUSTER, {"phase": "Provisioning"}, {"metadata": {"resourceVersion": "11"}})
    # An older event still in flight must not bring the old status back.
    cache.store(CLUSTER, body(phase="Pending"))
    stored = cache.get(CLUSTER)
    assert stored is not None and stored["status"] == {"phase": "Provisioning"}
    echo = body(phase="Provisioning")
    echo["metadata"]["resourceVersion"] = "11"
    cache.store(CLUSTER, echo)
    # From now on the watch is current: someone else's later status change shows.
    cache.store(CLUSTER, body(phase="Ready"))
    stored = cache.get(CLUSTER)
    assert stored is not None and stored["status"] == {"phase": "Ready"}


def test_phase_counts_follow_changes_and_forgets() -> None:
    memories = Memories()
    a, b = CLUSTER, ObjectKey("NKSCluster", "ns", "b")
    memories.of(a)
    memories.of(b)
    assert memories.record_phase(a, "Provisioning")
    assert memories.record_phase(b, "Provisioning")
    assert memories.record_phase(a, "Ready")
    assert not memories.record_phase(a, "Ready")  # unchanged
    memories.record_phase(ObjectKey("NKSNodeGroup", "ns", "g"), None)
    assert memories.phase_counts("NKSCluster") == {"Provisioning": 1, "Ready": 1}
    assert memories.phase_counts("NKSNodeGroup") == {"Unknown": 1}
    memories.forget(b)
    assert memories.phase_counts("NKSCluster") == {"Ready": 1}
    memories.forget(b)  # twice is harmless
    assert memories.phase_counts("NKSCluster") == {"Ready": 1}


def test_own_status_that_readies_a_cluster_wakes_its_node_groups() -> None:
    cache = kinds_cache()
    cache.store(CLUSTER, body(clusterID="c1"))
    ready = {"clusterID": "c1", "conditions": [{"type": "Ready", "status": "True"}]}
    assert cache.wrote_status(CLUSTER, ready, {"metadata": {"resourceVersion": "11"}})
    # The watch's echo holds what the cache already serves: it cannot be the trigger.
    echo = body(**ready)
    echo["metadata"]["resourceVersion"] = "11"
    assert not cache.store(CLUSTER, echo).parent_changed
    # A status write the node groups do not read wakes nobody.
    assert not cache.wrote_status(CLUSTER, {**ready, "phase": "Ready"}, None)


def test_an_echo_that_arrives_before_the_writes_answer_overlays_nothing() -> None:
    cache = kinds_cache()
    cache.store(CLUSTER, body(phase="Pending"))
    echo = body(phase="Provisioning")
    echo["metadata"]["resourceVersion"] = "11"
    cache.store(CLUSTER, echo)  # the watch was quicker than the patch's answer
    cache.wrote_status(CLUSTER, {"phase": "Provisioning"}, {"metadata": {"resourceVersion": "11"}})
    # Someone else's status change right after must show (it would stay hidden for good).
    later = body(phase="Provisioning", clusterID="c-1")
    later["metadata"]["resourceVersion"] = "12"
    cache.store(CLUSTER, later)
    stored = cache.get(CLUSTER)
    assert stored is not None and stored["status"]["clusterID"] == "c-1"


def test_a_later_version_ends_the_overlay_even_without_the_echo() -> None:
    cache = kinds_cache()
    cache.store(CLUSTER, body(phase="Pending"))
    cache.wrote_status(CLUSTER, {"phase": "Provisioning"}, {"metadata": {"resourceVersion": "11"}})
    later = body(phase="Provisioning", clusterID="c-1")
    later["metadata"]["resourceVersion"] = "13"  # the echo (11) was skipped by a re-list
    cache.store(CLUSTER, later)
    stored = cache.get(CLUSTER)
    assert stored is not None and stored["status"]["clusterID"] == "c-1"


def test_the_cache_knows_no_kind_by_itself() -> None:
    """Without the kinds' relations nothing names a parent, nothing is a parent, and every
    annotation is a user's."""
    cache = ObjectCache()
    group = ObjectKey("NKSNodeGroup", "ns", "pool")
    cache.store(group, {"metadata": {"name": "pool"}, "spec": {"clusterRef": {"name": "demo"}}})
    assert cache.children("ns", "demo") == []
    cache.store(CLUSTER, body())
    assert not cache.store(CLUSTER, body(clusterID="c1")).parent_changed
    own = body()
    own["metadata"]["annotations"]["nks.nhncloud.com/create-requested"] = "{}"
    assert cache.store(CLUSTER, own).needs_pass


def test_relations_given_by_the_caller() -> None:
    cache = ObjectCache(
        parent_of={"Child": lambda b: b["spec"]["parent"]},
        children_view={"Parent": lambda b: b["spec"].get("shared")},
        own_annotations=frozenset({"mine"}),
    )
    child = ObjectKey("Child", "ns", "c")
    parent = ObjectKey("Parent", "ns", "p")
    cache.store(child, {"metadata": {"name": "c"}, "spec": {"parent": "p"}})
    assert cache.children("ns", "p") == [child]
    cache.store(parent, {"metadata": {"name": "p"}, "spec": {"shared": 1}})
    assert cache.store(parent, {"metadata": {"name": "p"}, "spec": {"shared": 2}}).parent_changed
    stored = cache.store(
        parent, {"metadata": {"name": "p", "annotations": {"mine": "x"}}, "spec": {"shared": 2}}
    )
    assert not stored.needs_pass and not stored.parent_changed


def test_objects_are_kept_as_copies_sharing_their_short_strings() -> None:
    """What kopf decoded is not held on to: the cache keeps an equal copy whose keys and
    short values are one object across every object kept."""
    cache = kinds_cache()
    first, second = body(phase="Ready"), body(phase="Ready")
    second["metadata"]["name"] = "other"
    cache.store(CLUSTER, first)
    cache.store(ObjectKey("NKSCluster", "ns", "other"), second)
    kept_1, kept_2 = cache.get(CLUSTER), cache.get(ObjectKey("NKSCluster", "ns", "other"))
    assert kept_1 is not None and kept_2 is not None
    assert kept_1["spec"] == first["spec"] and kept_1["spec"] is not first["spec"]
    assert kept_1["status"]["phase"] is kept_2["status"]["phase"]
    assert next(iter(kept_1["metadata"])) is next(iter(kept_2["metadata"]))
