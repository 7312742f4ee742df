"""Leader election end to end: two operators on one Lease over the same namespaces.

Only the Lease holder acts on NKS; after a SIGKILL the other one takes the Lease once it
has expired and converges what changed meanwhile; a SIGTERM hands the Lease back. Which
process leads is read from the Lease's holderIdentity (each process logs the identity it
leads as), what it did from the simulator's call log and the processes' own logs. A leader
whose Lease another candidate takes stops at once and exits with code 1.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nks_devtools.localkube import LocalKube
from tests.e2e.helpers import (
    Sim,
    apply,
    cluster_manifest,
    credentials_secret,
    get,
    new_tenant,
    wait_condition,
    wait_gone,
    write_log,
)
from tests.fixtures.operator import OperatorProcess, namespace_fixture, wait_for

pytestmark = pytest.mark.kube

LEASE = "nks-e2e-leader"
# Lines only a process that reconciles writes: its NKS requests (DEBUG), its identity
# tokens and the Events it posts.
ACTIVITY = re.compile(r"NKS \w+ (GET|POST|PUT|PATCH|DELETE) |issued NKS identity token|NKSCluster ")

lease_namespace = pytest.fixture(namespace_fixture("lease"))


@pytest.fixture
def pair(
    kube: LocalKube, crds_installed: None, lease_namespace: str, tmp_path: Path
) -> Iterator[dict[str, OperatorProcess]]:
    """Two operators over `lease-*` sharing the Lease LEASE in the test's namespace."""
    args = ["--leader-election", LEASE, "--leader-election-namespace", lease_namespace]
    found = {
        name: OperatorProcess(kube, "lease-*", tmp_path / f"operator-{name}.log", args)
        for name in ("a", "b")
    }
    try:
        yield found
    finally:
        for process in found.values():
            process.stop()


def read_lease(api: client.ApiClient, namespace: str) -> dict[str, Any] | None:
    try:
        lease = client.CoordinationV1Api(api).read_namespaced_lease(LEASE, namespace)
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    return api.sanitize_for_serialization(lease)


def holder(api: client.ApiClient, namespace: str) -> str | None:
    return ((read_lease(api, namespace) or {}).get("spec") or {}).get("holderIdentity")


def leading_as(pair: dict[str, OperatorProcess], identity: str) -> str | None:
    """The name of the process that logged leading as `identity`."""
    found = [name for name, p in pair.items() if f"Leading as {identity} " in p.logs()]
    assert len(found) <= 1, f"{found} all lead as {identity}"
    return found[0] if found else None


def activity(process: OperatorProcess) -> list[str]:
    return [line for line in process.logs().splitlines() if ACTIVITY.search(line)]


def stamp(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def resized(api: client.ApiClient, namespace: str, count: int) -> dict[str, Any] | None:
    obj = get(api, "nksclusters", namespace, "demo")
    status = (obj or {}).get("status") or {}
    done = (status.get("lastOperation") or {}).get("state") == "Succeeded"
    return obj if status.get("nodeCount") == count and done else None


def test_one_leader_acts_and_a_standby_takes_over(
    pair: dict[str, OperatorProcess],
    lease_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    clean_simulator_thread: Any,
) -> None:
    ns = lease_namespace
    sim = Sim(clean_simulator_thread.url, new_tenant())
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    for process in pair.values():
        process.start()

    # One takes the Lease, the other stands by.
    first_id = wait_for(lambda: holder(kube_api, ns), 60, what="a holder of the Lease")
    first = wait_for(
        lambda: leading_as(pair, first_id), 30, what=f"a process leading as {first_id}"
    )
    (second,) = set(pair) - {first}
    wait_for(
        lambda: "Standing by" in pair[second].logs(), 30, what=f"operator {second} standing by"
    )

    # Exactly one create, by the leader; the standby saw the same object and did nothing.
    apply(kubectl, ns, cluster_manifest("demo"))
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=120)
    assert sim.writes()["create_cluster"] == 1, write_log(sim)
    assert holder(kube_api, ns) == first_id
    assert any("NKS create_cluster POST" in line for line in activity(pair[first]))
    assert not activity(pair[second]), "the standby acted:\n" + pair[second].logs()[-5000:]
    for process in pair.values():
        process.assert_alive()

    # The leader dies without a word; a change arrives while nobody leads.
    last_renewal = read_lease(kube_api, ns)
    pair[first].kill()
    kubectl(
        "patch",
        "nksc",
        "demo",
        "-n",
        ns,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"defaultWorker": {"nodeCount": 3}}}),
    )
    second_id = wait_for(
        lambda: (found := holder(kube_api, ns)) != first_id and found,
        90,
        what="the Lease taken over",
    )
    assert leading_as(pair, second_id) == second
    lease = read_lease(kube_api, ns)
    assert lease is not None and last_renewal is not None
    # Taken only once expired: never two leaders at once.
    expired = stamp(last_renewal["spec"]["renewTime"]) + datetime.timedelta(
        seconds=last_renewal["spec"]["leaseDurationSeconds"]
    )
    assert stamp(lease["spec"]["acquireTime"]) >= expired, (last_renewal["spec"], lease["spec"])
    assert lease["spec"]["leaseTransitions"] > last_renewal["spec"].get("leaseTransitions", 0)

    # The new leader converges the change (its cache is warm) with exactly one resize.
    wait_for(lambda: resized(kube_api, ns, 3), 90, what="demo resized to 3 nodes")
    writes = sim.writes()
    assert (writes["create_cluster"], writes["resize_cluster"]) == (1, 1), write_log(sim)
    assert any("NKS resize_cluster" in line for line in activity(pair[second]))
    # ...and a deletion, so the namespace goes with nothing left behind.
    kubectl("delete", "nksc", "demo", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksclusters", ns, "demo", 90)
    assert sim.writes()["delete_cluster"] == 1, write_log(sim)
    pair[second].assert_alive()

    # A clean stop hands the Lease back.
    pair[second].stop()
    process = pair[second].process
    assert process is not None and process.returncode == 0, pair[second].logs()[-5000:]
    lease = read_lease(kube_api, ns)
    assert lease is not None
    assert not lease["spec"].get("holderIdentity"), lease["spec"]
    assert "Could not release lease" not in pair[second].logs()


def test_a_leader_whose_lease_is_taken_stops_and_exits_1(
    pair: dict[str, OperatorProcess], lease_namespace: str, kube_api: client.ApiClient
) -> None:
    ns = lease_namespace
    leader = pair["a"]
    leader.start()
    wait_for(lambda: holder(kube_api, ns), 60, what="a holder of the Lease")
    leases = client.CoordinationV1Api(kube_api)

    def take() -> bool:
        """Another candidate's write: a fresh renewal in its own name (conditional on the
        resourceVersion read, like the operator's, so it may lose to a renewal)."""
        lease = leases.read_namespaced_lease(LEASE, ns)
        now = datetime.datetime.now(datetime.UTC)
        lease.spec.holder_identity = "intruder"
        lease.spec.acquire_time = lease.spec.renew_time = now
        lease.spec.lease_duration_seconds = 3600
        try:
            leases.replace_namespaced_lease(LEASE, ns, lease)
        except ApiException as err:
            if err.status == 409:
                return False
            raise
        return True

    wait_for(take, 30, what="the Lease taken by an intruder")
    process = leader.process
    assert process is not None
    wait_for(lambda: process.poll() is not None, 30, what="the old leader to exit")
    assert process.returncode == 1, leader.logs()[-5000:]
    assert "was taken by another replica" in leader.logs()
    assert holder(kube_api, ns) == "intruder"  # it never writes a Lease it no longer holds
