"""Each immutability rule is one function: the webhook and the reconciler give the same
answer and the same message."""

from __future__ import annotations

from nks_operator.reconcile import admission, immutability
from tests.unit.specs import CLUSTER_SPEC, _merge

UUID_A = "11111111-1111-1111-1111-111111111111"
UUID_B = "22222222-2222-2222-2222-222222222222"


def test_managed_id() -> None:
    rule = immutability.managed_id_changed
    assert rule(immutability.CLUSTER_ID, UUID_A, UUID_A) is None
    assert rule(immutability.CLUSTER_ID, None, UUID_B) is None  # nothing managed yet
    assert rule(immutability.CLUSTER_ID, UUID_A, None) is None  # the spec names none
    assert rule(immutability.NODE_GROUP_ID, UUID_A, UUID_B) == (
        f"spec.nodeGroupID is immutable: this resource manages {UUID_A}, the spec asks for {UUID_B}"
    )


def test_region() -> None:
    assert immutability.region_changed(None, "kr1") is None
    assert immutability.region_changed("KR1", "kr1") is None  # NKS writes regions upper case
    assert immutability.region_changed("kr2", "kr1") == (
        "spec.region is immutable: the cluster is in kr2, the spec asks for kr1"
    )


def test_the_webhook_says_what_the_reconciler_says() -> None:
    new = _merge(CLUSTER_SPEC, {"clusterID": UUID_B})
    old = _merge(CLUSTER_SPEC, {"clusterID": UUID_A})
    problems = admission.review_cluster(new, old, "demo", old_status={"clusterID": UUID_A})
    assert problems == [immutability.managed_id_changed(immutability.CLUSTER_ID, UUID_A, UUID_B)]
