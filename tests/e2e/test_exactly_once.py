"""Exactly once: SIGKILL during create and delete, and a create whose answer is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nks_devtools.localkube import LocalKube
from tests.e2e.helpers import (
    Sim,
    apply,
    cluster_manifest,
    credentials_secret,
    events,
    new_tenant,
    wait_condition,
    wait_gone,
)
from tests.fixtures.operator import OperatorProcess, wait_for

pytestmark = pytest.mark.kube


@pytest.fixture
def crash_operator(
    kube: LocalKube, crds_installed: None, tmp_path: Path
) -> Iterator[OperatorProcess]:
    """An operator of this test's own (namespaces `crash-*`), free to be killed."""
    process = OperatorProcess(kube, "crash-*", tmp_path / "operator.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def sim(clean_simulator_thread: Any) -> Sim:
    return Sim(clean_simulator_thread.url, new_tenant())


def test_sigkill_right_after_the_create_call(
    crash_operator: OperatorProcess, crash_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = crash_namespace
    sim.patch_config(delay=2.0)
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo"))
    wait_for(lambda: sim.calls()["create_cluster"] >= 1, 60, interval=0.02, what="create call")
    crash_operator.kill()
    crash_operator.start()
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    assert len(sim.clusters()) == 1
    assert sim.writes()["create_cluster"] == 1

    kubectl("delete", "nksc", "demo", "-n", ns, "--wait=false")
    wait_for(lambda: sim.calls()["delete_cluster"] >= 1, 60, interval=0.02, what="delete call")
    crash_operator.kill()
    crash_operator.start()
    wait_gone(kube_api, "nksclusters", ns, "demo", timeout=90)
    assert sim.clusters() == []


def test_lost_create_response_is_adopted_not_repeated(
    crash_operator: OperatorProcess, crash_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = crash_namespace
    sim.http.put(
        "/_sim/faults",
        json={"rules": [{"operation": "create_cluster", "action": "drop_response", "count": 1}]},
    ).raise_for_status()
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo"))
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    assert len(sim.clusters()) == 1
    assert sim.clusters()[0]["uuid"] == obj["status"]["clusterID"]
    assert sim.writes()["create_cluster"] == 1
    reasons = [e["reason"] for e in events(kube_api, ns, "demo")]
    assert "CreateUncertain" in reasons and "Adopted" in reasons
    kubectl("delete", "nksc", "demo", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksclusters", ns, "demo", timeout=60)
    assert sim.clusters() == []


def test_sigkill_while_intent_recorded_and_deleted_before_restart(
    crash_operator: OperatorProcess, crash_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    """The CR is deleted while the operator is down after its create call: no leak."""
    ns = crash_namespace
    sim.patch_config(delay=2.0)
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo"))
    wait_for(lambda: sim.calls()["create_cluster"] >= 1, 60, interval=0.02, what="create call")
    crash_operator.kill()
    kubectl("delete", "nksc", "demo", "-n", ns, "--wait=false")
    crash_operator.start()
    wait_gone(kube_api, "nksclusters", ns, "demo", timeout=90)
    assert sim.clusters() == []
    assert sim.writes() == {"create_cluster": 1, "delete_cluster": 1}
