"""SIGKILL the operator at random (seeded) moments while a fleet is created, resized,
upgraded and deleted: exactly one NKS cluster per resource, every resource converges,
kubeconfig Secrets present and current, nothing left in NKS after the deletes.

The short form kills 5 times; `NKS_RESILIENCE_LONG=1` kills 20+ times over more resources.
`NKS_RESILIENCE_SEED` picks other moments; the seed is printed with every failure.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from kubernetes import client

from tests.e2e.helpers import credentials_secret, get, wait_gone
from tests.fixtures.operator import OperatorProcess
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
    nks_versions,
    patch,
    wait_settled,
)

pytestmark = pytest.mark.kube

CLUSTERS = 8 if LONG else 3
GROUPS = 4 if LONG else 1
KILLS = (
    {"create": 5, "resize": 5, "upgrade": 8, "delete": 5}
    if LONG
    else {"create": 1, "resize": 1, "upgrade": 2, "delete": 1}
)
# A kill between recording the create intent and sending the call costs the operator's
# adoption grace (30 s) before it creates: creates get the most time.
TIMEOUT = 240 if LONG else 150


class Killer:
    """SIGKILLs and restarts the operator at seeded random moments, and remembers when."""

    def __init__(self, operator: OperatorProcess, rng: random.Random) -> None:
        self.operator = operator
        self.rng = rng
        self.kills: list[tuple[str, float]] = []
        self.started = time.monotonic()

    def kill_during(self, phase: str, times: int, window: float = 6.0) -> None:
        """`times` kills, each a random moment (up to `window` s) after the last start."""
        for _ in range(times):
            time.sleep(self.rng.uniform(0.2, window))
            self.operator.kill()
            self.kills.append((phase, round(time.monotonic() - self.started, 2)))
            time.sleep(self.rng.uniform(0.0, 1.5))  # down for a moment, as after an OOM kill
            self.operator.start()

    def __str__(self) -> str:
        return f"seed {SEED}, kills (phase, seconds): {self.kills}"


@pytest.mark.timeout(2400 if LONG else 600)
def test_sigkill_at_random_moments_across_the_lifecycle(
    res_operator: OperatorProcess,
    res_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: ResilienceSim,
) -> None:
    ns = res_namespace
    clusters = cluster_names(CLUSTERS)
    groups = {f"g{i}": clusters[i] for i in range(GROUPS)}
    killer = Killer(res_operator, random.Random(SEED))
    sim.patch_config(delay=1.5)  # operations long enough for kills to land inside them
    credentials_secret(kubectl, ns, sim.url, sim.tenant)

    def settled(node_count: int, version: str, what: str) -> None:
        for plural, names in (("nksclusters", clusters), ("nksnodegroups", list(groups))):
            wait_settled(
                kube_api, ns, plural, names, node_count, version, TIMEOUT, f"{what} ({killer})", sim
            )
        assert_one_per_name(sim, clusters, groups)

    apply_fleet(kubectl, ns, clusters, groups)
    killer.kill_during("create", KILLS["create"])
    settled(1, OLD_VERSION, "created")
    assert_kubeconfigs_current(kube_api, ns, sim, clusters)
    writes = sim.writes()
    assert writes["create_cluster"] == len(clusters), f"{dict(writes)}; {killer}"
    assert writes["create_nodegroup"] == len(groups), f"{dict(writes)}; {killer}"

    for name in clusters:
        patch(kubectl, ns, "nksc", name, {"spec": {"defaultWorker": {"nodeCount": 2}}})
    for group in groups:
        patch(kubectl, ns, "nksng", group, {"spec": {"nodeCount": 2}})
    killer.kill_during("resize", KILLS["resize"])
    settled(2, OLD_VERSION, "resized")

    for name in clusters:
        patch(kubectl, ns, "nksc", name, {"spec": {"kubernetesVersion": NEW_VERSION}})
    killer.kill_during("upgrade", KILLS["upgrade"], window=4.0)
    settled(2, NEW_VERSION, "upgraded")
    for name in clusters:
        assert nks_versions(sim, name) == {NEW_VERSION}, f"{name}; {killer}"
    assert_kubeconfigs_current(kube_api, ns, sim, clusters)

    kubectl("delete", "nksng", "--all", "-n", ns, "--wait=false")
    kubectl("delete", "nksc", "--all", "-n", ns, "--wait=false")
    killer.kill_during("delete", KILLS["delete"], window=3.0)
    for name in clusters:
        wait_gone(kube_api, "nksclusters", ns, name, timeout=TIMEOUT)
    for group in groups:
        wait_gone(kube_api, "nksnodegroups", ns, group, timeout=60)
    assert sim.clusters() == [], f"left in NKS: {sim.cluster_names()}; {killer}"
    assert all(get(kube_api, "nksclusters", ns, name) is None for name in clusters)
    res_operator.assert_alive()
    assert crash_lines(res_operator.logs()) == [], str(killer)
    print(killer)
