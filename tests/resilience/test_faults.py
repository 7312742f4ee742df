"""NKS faults, token expiry and a kube-apiserver restart in the middle of a fleet's life.

About 20 % of all NKS calls fail (5xx with JSON/HTML/empty bodies, 429 + Retry-After,
timeouts, answers lost after the change was applied, accepted-but-dropped writes) while
clusters and node groups are created, resized, upgraded and deleted. Every resource must
converge, NKS must hold exactly one cluster / node group per resource at every step, and
nothing may be left in NKS after the deletes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from nks_devtools.localkube import LocalKube
from nks_devtools.simulator import SimulatorConfig, SimulatorThread
from tests.e2e.helpers import (
    ROOT,
    credentials_secret,
    get,
    new_tenant,
    wait_gone,
)
from tests.fixtures.hygiene import session_hygiene
from tests.fixtures.kube import Kubectl, _kubectl_binary
from tests.fixtures.operator import OperatorProcess, wait_for
from tests.resilience.helpers import (
    LONG,
    NEW_VERSION,
    OLD_VERSION,
    SEED,
    ResilienceSim,
    apply_fleet,
    assert_kubeconfigs_current,
    assert_one_per_name,
    cluster_names,
    crash_lines,
    mixed_faults,
    nks_versions,
    patch,
    wait_settled,
)

pytestmark = pytest.mark.kube

CLUSTERS = 20 if LONG else 6
GROUPS = 10 if LONG else 3
# A create answered with a 5xx is looked up by name and re-sent only after the operator's
# adoption grace (30 s), possibly more than once: creates get the most time.
CREATE_TIMEOUT = 300 if LONG else 180
STEP_TIMEOUT = 300 if LONG else 150


def _delete_all(kubectl: Any, ns: str) -> None:
    kubectl("delete", "nksng", "--all", "-n", ns, "--wait=false")
    kubectl("delete", "nksc", "--all", "-n", ns, "--wait=false")


@pytest.mark.timeout(1800 if LONG else 600)
def test_fleet_converges_under_nks_faults_and_token_expiry(
    res_operator: OperatorProcess,
    res_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: ResilienceSim,
) -> None:
    ns = res_namespace
    clusters = cluster_names(CLUSTERS)
    groups = {f"g{i}": clusters[i] for i in range(GROUPS)}
    sim.patch_config(delay=1.0)
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    sim.set_faults(mixed_faults(0.2), seed=SEED)

    # Create.
    apply_fleet(kubectl, ns, clusters, groups)
    wait_settled(
        kube_api, ns, "nksclusters", clusters, 1, OLD_VERSION, CREATE_TIMEOUT, "created", sim
    )
    wait_settled(
        kube_api, ns, "nksnodegroups", groups, 1, OLD_VERSION, CREATE_TIMEOUT, "groups", sim
    )
    assert_one_per_name(sim, clusters, groups)

    # Resize, with every token of the tenant revoked while the resizes run.
    tokens_before = sim.calls()["issue_token"]
    for name in clusters:
        patch(kubectl, ns, "nksc", name, {"spec": {"defaultWorker": {"nodeCount": 2}}})
    for group in groups:
        patch(kubectl, ns, "nksng", group, {"spec": {"nodeCount": 2}})
    wait_for(lambda: sim.writes()["resize_cluster"] >= 2, 60, what="resizes under way")
    sim.expire_tokens()
    wait_settled(
        kube_api, ns, "nksclusters", clusters, 2, OLD_VERSION, STEP_TIMEOUT, "resized", sim
    )
    wait_settled(
        kube_api, ns, "nksnodegroups", groups, 2, OLD_VERSION, STEP_TIMEOUT, "resized", sim
    )
    assert sim.calls()["issue_token"] > tokens_before, "no new token after the expiry"
    for cluster in sim.clusters():
        sizes = {g["name"]: g["node_count"] for g in cluster["nodegroups"]}
        assert sizes["default-worker"] == 2, cluster["name"]
        assert all(sizes[g] == 2 for g, c in groups.items() if c == cluster["name"]), sizes

    # Upgrade: control plane, then every worker group (node groups follow their cluster).
    for name in clusters:
        patch(kubectl, ns, "nksc", name, {"spec": {"kubernetesVersion": NEW_VERSION}})
    wait_settled(
        kube_api, ns, "nksclusters", clusters, 2, NEW_VERSION, STEP_TIMEOUT, "upgraded", sim
    )
    wait_settled(
        kube_api, ns, "nksnodegroups", groups, 2, NEW_VERSION, STEP_TIMEOUT, "upgraded", sim
    )
    for name in clusters:
        assert nks_versions(sim, name) == {NEW_VERSION}, name
    assert_one_per_name(sim, clusters, groups)

    hits = sim.fault_hits()
    assert sum(hits.values()) >= 20, f"too few faults fired to prove anything: {dict(hits)}"
    sim.clear_faults()
    assert_kubeconfigs_current(kube_api, ns, sim, clusters)
    sim.set_faults(mixed_faults(0.2), seed=SEED + 1)

    # Delete: NKS must end up empty.
    _delete_all(kubectl, ns)
    for name in clusters:
        wait_gone(kube_api, "nksclusters", ns, name, timeout=STEP_TIMEOUT)
    for group in groups:
        wait_gone(kube_api, "nksnodegroups", ns, group, timeout=60)
    assert sim.clusters() == [], f"left in NKS: {sim.cluster_names()}"
    res_operator.assert_alive()
    assert crash_lines(res_operator.logs()) == []


@pytest.fixture
def private_kube(tmp_path: Path) -> Iterator[LocalKube]:
    """A LocalKube of this test's own, free to be restarted (no controller manager)."""
    kube = LocalKube(controller_manager=False)
    kube.start()
    try:
        yield kube
    finally:
        kube.stop()


@pytest.fixture
def private_simulator() -> Iterator[SimulatorThread]:
    thread = SimulatorThread(SimulatorConfig(delay=2.0)).start()
    session_hygiene().track_simulator(thread)
    try:
        yield thread
    finally:
        thread.stop()


@pytest.mark.timeout(900 if LONG else 300)
def test_kube_apiserver_restart_mid_run(
    private_kube: LocalKube, private_simulator: SimulatorThread, tmp_path: Path
) -> None:
    """The apiserver goes away twice: during the creates and during the resizes."""
    kubectl = Kubectl(_kubectl_binary(), private_kube.kubeconfig, tmp_path / "kubectl-cache")
    kubectl("apply", "-f", str(ROOT / "crds"))
    for crd in ("nksclusters.nks.nhncloud.com", "nksnodegroups.nks.nhncloud.com"):
        kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    ns = "res-restart"
    kubectl("create", "namespace", ns)
    sim = ResilienceSim(private_simulator.url, new_tenant())
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    operator = OperatorProcess(private_kube, ns, tmp_path / "operator.log")
    operator.start()
    api = private_kube.api_client()
    rounds = 4 if LONG else 1
    clusters = cluster_names(2)
    groups = {"g0": "c0"}
    try:
        apply_fleet(kubectl, ns, clusters, groups)
        wait_for(lambda: sim.writes()["create_cluster"] >= 2, 60, what="create calls")
        private_kube.restart_apiserver(downtime=3.0)
        api.close()
        api = private_kube.api_client()
        wait_settled(api, ns, "nksclusters", clusters, 1, OLD_VERSION, 120, "created")
        wait_settled(api, ns, "nksnodegroups", groups, 1, OLD_VERSION, 120, "group")
        # Under Ready resources the apiserver crashes (SIGKILL, no shutdown) and comes
        # back: the same operator process must converge the next change.
        private_kube.restart_apiserver(downtime=3.0, grace=0)
        api.close()
        api = private_kube.api_client()
        operator.assert_alive()
        for count in range(2, 2 + rounds):
            # A spec change after the restart proves the operator's watch came back.
            resizes = sim.calls()["resize_cluster"]
            for name in clusters:
                patch(kubectl, ns, "nksc", name, {"spec": {"defaultWorker": {"nodeCount": count}}})
            wait_for(
                lambda: sim.calls()["resize_cluster"] > resizes,  # noqa: B023
                60,
                what="resize calls",
            )
            private_kube.restart_apiserver(downtime=3.0)
            api.close()
            api = private_kube.api_client()
            wait_settled(api, ns, "nksclusters", clusters, count, OLD_VERSION, 120, "resized")
        assert_one_per_name(sim, clusters, groups)
        operator.assert_alive()
        started = time.monotonic()
        _delete_all(kubectl, ns)
        for name in clusters:
            wait_gone(api, "nksclusters", ns, name, timeout=120)
        wait_gone(api, "nksnodegroups", ns, "g0", timeout=60)
        assert sim.clusters() == []
        assert time.monotonic() - started < 120
        operator.assert_alive()
        assert get(api, "nksclusters", ns, "c0") is None
        session_hygiene().collect(api, [ns])
    finally:
        operator.stop()
        api.close()
        sim.http.close()
