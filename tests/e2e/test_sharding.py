"""Sharding by label selector: two operators split one namespace, and a resource that
matches no selector is left alone (no finalizer, no status, no NKS call)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nks_devtools.localkube import LocalKube
from tests.e2e.helpers import (
    Sim,
    another_pass,
    apply,
    cluster_manifest,
    credentials_secret,
    get,
    new_tenant,
    wait_condition,
    wait_gone,
)
from tests.fixtures.operator import OperatorProcess

pytestmark = pytest.mark.kube

FINALIZER = "nks.nhncloud.com/finalizer"


@pytest.fixture
def shards(
    kube: LocalKube, crds_installed: None, tmp_path: Path
) -> Iterator[dict[str, OperatorProcess]]:
    """Two operators over `shard-*`: one for `shard=a`, one for `shard=b` (not started)."""
    found = {
        name: OperatorProcess(
            kube, "shard-*", tmp_path / f"operator-{name}.log", ["--selector", f"shard={name}"]
        )
        for name in ("a", "b")
    }
    try:
        yield found
    finally:
        for process in found.values():
            process.stop()


def _ours(obj: dict[str, Any] | None) -> list[str]:
    assert obj is not None
    return [f for f in obj["metadata"].get("finalizers") or [] if f.startswith(FINALIZER)]


def _labelled(name: str, shard: str | None) -> dict[str, Any]:
    manifest = cluster_manifest(name)
    if shard is not None:
        manifest["metadata"]["labels"] = {"shard": shard}
    return manifest


def test_two_shards_split_one_namespace(
    shards: dict[str, OperatorProcess],
    shard_namespace: str,
    kubectl: Any,
    kube_api: Any,
    clean_simulator_thread: Any,
) -> None:
    ns = shard_namespace
    sim = Sim(clean_simulator_thread.url, new_tenant())
    sim.patch_config(delay=0.5)
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    shards["a"].start()
    for name, shard in (("in-a", "a"), ("in-b", "b"), ("in-none", None)):
        apply(kubectl, ns, _labelled(name, shard))
    wait_condition(kube_api, "nksclusters", ns, "in-a", "Ready", "True", timeout=90)
    # A pass of in-a after the others were created: shard a has seen them (one watch,
    # in order) and must have left them alone.
    another_pass(kubectl, kube_api, ns, "in-a")
    for name in ("in-b", "in-none"):
        obj = get(kube_api, "nksclusters", ns, name)
        assert obj is not None
        assert not obj.get("status"), f"{name} was reconciled by shard a: {obj.get('status')}"
        assert _ours(obj) == [], name
    assert sim.writes()["create_cluster"] == 1
    finalizer_a = _ours(get(kube_api, "nksclusters", ns, "in-a"))
    assert len(finalizer_a) == 1

    shards["b"].start()
    wait_condition(kube_api, "nksclusters", ns, "in-b", "Ready", "True", timeout=90)
    assert sim.writes()["create_cluster"] == 2
    assert sorted(c["name"] for c in sim.clusters()) == ["in-a", "in-b"]
    untouched = get(kube_api, "nksclusters", ns, "in-none")
    assert untouched is not None and not untouched.get("status")
    # Shard b leaves shard a's finalizer alone (kopf strips its own from what it skips).
    assert _ours(get(kube_api, "nksclusters", ns, "in-a")) == finalizer_a
    finalizer_b = _ours(get(kube_api, "nksclusters", ns, "in-b"))
    assert len(finalizer_b) == 1 and finalizer_b != finalizer_a

    # Each shard deletes its own; the unlabelled one has no finalizer and just goes.
    kubectl("delete", "nksc", "--all", "-n", ns, "--wait=false")
    for name in ("in-a", "in-b", "in-none"):
        wait_gone(kube_api, "nksclusters", ns, name, timeout=90)
    assert sim.clusters() == []
    for process in shards.values():
        process.assert_alive()
