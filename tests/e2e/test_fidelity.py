"""The operator against NKS as the guide and NHN's provider describe it (issue "Real-cloud
fidelity"): operations confirmed the way NKS reports them, rollbacks, deadlines, today's
API beyond the guide, and the guide's types checked before any call."""

from __future__ import annotations

import copy
import datetime
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nks_devtools.localkube import LocalKube
from nks_devtools.simulator.clusters import YEAR
from tests.e2e.helpers import (
    Sim,
    apply,
    cluster_manifest,
    condition,
    credentials_secret,
    events,
    example,
    get,
    new_tenant,
    nks_call,
    wait_condition,
    wait_events,
    wait_gone,
)
from tests.fixtures.operator import OperatorProcess, namespace_fixture, wait_for

pytestmark = pytest.mark.kube

fid_namespace = pytest.fixture(namespace_fixture("fid"))


@pytest.fixture
def sim(clean_simulator_thread: Any) -> Sim:
    return Sim(clean_simulator_thread.url, new_tenant())


def patch(kubectl: Any, ns: str, kind: str, name: str, body: dict[str, Any]) -> None:
    kubectl("patch", kind, name, "-n", ns, "--type=merge", "-p", json.dumps(body))


def reasons(api: Any, ns: str, name: str) -> list[str]:
    return [e["reason"] for e in events(api, ns, name)]


def nks_cluster(sim: Sim, name: str) -> dict[str, Any]:
    return next(c for c in sim.clusters() if c["name"] == name)


def default_worker(sim: Sim, name: str) -> dict[str, Any]:
    return next(g for g in nks_cluster(sim, name)["nodegroups"] if g["name"] == "default-worker")


def test_a_rolled_back_operation_failed(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo"))
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    sim.http.post(
        "/_sim/fail-next",
        json={
            "tenant": sim.tenant,
            "operation": "resize_cluster",
            "outcome": "rollback_complete",
            "reason": "the drain was blocked by a PodDisruptionBudget",
        },
    ).raise_for_status()
    patch(kubectl, ns, "nksc", "demo", {"spec": {"defaultWorker": {"nodeCount": 3}}})

    def failed() -> dict[str, Any] | None:
        obj = get(kube_api, "nksclusters", ns, "demo") or {}
        last = (obj.get("status") or {}).get("lastOperation") or {}
        return obj if last.get("type") == "CLUSTER_RESIZE" and last["state"] == "Failed" else None

    obj = wait_for(failed, 60, what="resize failed")
    assert "PodDisruptionBudget" in obj["status"]["lastOperation"]["message"]
    failures = wait_events(kube_api, ns, "demo", "OperationFailed")
    assert failures and failures[0]["type"] == "Warning"
    # NKS undid it: the cluster works as before, and the same change is not sent again.
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Synced", "False", "OperationFailed")
    assert obj["status"]["phase"] == "Ready"
    assert condition(obj, "Ready")["status"] == "True"
    assert default_worker(sim, "demo")["node_count"] == 1
    assert sim.writes()["resize_cluster"] == 1


@pytest.fixture
def deadline_operator(
    kube: LocalKube,
    crds_installed: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[OperatorProcess]:
    """An operator whose update deadline is 5 s (the default is NHN's provider's 60 min)."""
    monkeypatch.setenv("NKS_UPDATE_TIMEOUT_SECONDS", "5")
    process = OperatorProcess(kube, "fid-*", tmp_path / "operator.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()


def test_an_operation_past_its_deadline_is_reported_and_recovers(
    deadline_operator: OperatorProcess,
    fid_namespace: str,
    kubectl: Any,
    kube_api: Any,
    sim: Sim,
) -> None:
    ns = fid_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo"))
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    sim.http.post(
        "/_sim/hold-next", json={"tenant": sim.tenant, "operation": "resize_cluster"}
    ).raise_for_status()
    patch(kubectl, ns, "nksc", "demo", {"spec": {"defaultWorker": {"nodeCount": 2}}})
    obj = wait_condition(
        kube_api, "nksclusters", ns, "demo", "Progressing", "False", "OperationTimedOut"
    )
    assert obj["status"]["phase"] == "Updating"
    assert condition(obj, "Ready")["status"] == "True"  # the cluster still works
    timeouts = wait_events(kube_api, ns, "demo", "OperationTimedOut")
    assert len(timeouts) == 1 and timeouts[0]["type"] == "Warning"
    # NKS finishes later: the operator still followed it and recovers by itself.
    sim.http.post("/_sim/finish-operations", json={"tenant": sim.tenant}).raise_for_status()
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Progressing", "False", "Idle")
    assert obj["status"]["lastOperation"]["state"] == "Succeeded"
    assert obj["status"]["nodeCount"] == 2
    assert sim.writes()["resize_cluster"] == 1
    deadline_operator.assert_alive()


TARGETS = [{"cidr": "10.0.0.0/24", "description": "office"}, {"cidr": "192.168.1.1"}]


def test_todays_api_addons_acl_at_create_empty_group_upper_case_region(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    manifest = cluster_manifest(
        "demo",
        region="KR2",
        addons=[
            {"name": "calico", "version": "v3.28.2-nks1", "options": {"mode": "vxlan"}},
            {"name": "coredns", "version": "1.8.4-nks1"},
        ],
        apiEndpoint={"ipAccessControl": {"enabled": True, "action": "ALLOW", "targets": TARGETS}},
    )
    apply(kubectl, ns, manifest)
    group = example("nksnodegroup.yaml")
    group["spec"]["nodeCount"] = 0
    apply(kubectl, ns, group)
    cluster = wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    assert cluster["status"]["region"] == "kr2"
    ng = wait_condition(kube_api, "nksnodegroups", ns, "demo-pool", "Ready", "True", timeout=90)
    assert ng["status"]["nodeCount"] == 0
    wait_condition(kube_api, "nksclusters", ns, "demo", "Synced", "True", "Synced")
    # The IP ACL went with the create: the endpoint was never open, and no ACL call was
    # needed afterwards.
    acl = nks_call(sim, lambda nks: nks.get_ip_acl(cluster["status"]["clusterID"]))
    assert acl.enable is True and acl.action == "ALLOW"
    assert {t.cidr_address for t in acl.ipacl_targets} == {"10.0.0.0/24", "192.168.1.1"}
    state = nks_cluster(sim, "demo")
    assert [a["name"] for a in state["addons"]] == ["calico", "coredns"]
    assert sim.writes() == {"create_cluster": 1, "create_nodegroup": 1}


def test_ip_acl_and_certificate_changes_are_confirmed_by_reading_them_back(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    """NKS records no task for these (the guide lists none): the state read back confirms
    them, whether or not NKS moves the cluster's status meanwhile."""
    ns = e2e_namespace
    sim.patch_config(certificate_renewal_status="unchanged")
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo"))
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    expiry = obj["status"]["certificateExpiry"]
    acl = {"ipAccessControl": {"enabled": True, "action": "DENY", "targets": TARGETS[:1]}}
    patch(kubectl, ns, "nksc", "demo", {"spec": {"apiEndpoint": acl}})

    def acl_applied() -> bool:
        last = ((get(kube_api, "nksclusters", ns, "demo") or {}).get("status") or {}).get(
            "lastOperation"
        ) or {}
        return last.get("type") == "SET_IP_ACL" and last.get("state") == "Succeeded"

    wait_for(acl_applied, 60, what="IP ACL confirmed")
    generation = nks_cluster(sim, "demo")["certificate_generation"]
    # Under this knob a renewal shows only as another expiry, which has a one-second
    # resolution: the renewal is asked for once the second the cluster was created in
    # (its expiry less the validity) has passed.
    years = int(nks_cluster(sim, "demo")["labels"]["term_of_validity"])
    created = datetime.datetime.fromisoformat(expiry).timestamp() - years * YEAR
    wait_for(lambda: time.time() > created + 2, 10, what="a second after the creation")
    kubectl("annotate", "nksc", "demo", "-n", ns, "nks.nhncloud.com/renew-certificate=one")

    def renewed() -> dict[str, Any] | None:
        found = get(kube_api, "nksclusters", ns, "demo") or {}
        status = found.get("status") or {}
        last = status.get("lastOperation") or {}
        done = last.get("type") == "RENEW_CERTIFICATE" and last.get("state") == "Succeeded"
        return found if done else None

    obj = wait_for(renewed, 60, what="certificate renewed")
    assert obj["status"]["certificateRenewalRequest"] == "one"
    # Succeeded because NKS renewed it, once: the new expiry is in status.
    renewed_in_nks = nks_cluster(sim, "demo")
    assert renewed_in_nks["certificate_generation"] == generation + 1
    shown = renewed_in_nks["labels"]["certificate_expiry"]
    assert shown > expiry
    wait_for(
        lambda: (
            (get(kube_api, "nksclusters", ns, "demo") or {})
            .get("status", {})
            .get("certificateExpiry")
            == shown
        ),
        30,
        what="the renewed expiry in status",
    )

    # Events are posted in the background, after the status that reports the same outcome.
    def both_succeeded() -> list[str] | None:
        seen = reasons(kube_api, ns, "demo")
        done = seen.count("OperationSucceeded") >= 2 and "KubeconfigRefreshed" in seen
        return seen if done else None

    seen = wait_for(both_succeeded, 30, what="both operations' Events and the refresh")
    assert "OperationDropped" not in seen
    writes = sim.writes()
    assert writes["set_ip_acl"] == 1 and writes["renew_certificate"] == 1


def test_a_renewal_nks_drops_or_refuses_as_busy_is_sent_again(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    """A renewal counts as done only when NKS shows it (the cluster updating, or another
    expiry): one NKS accepts and drops is sent once more; one NKS refuses as busy leaves
    the request pending, and it is sent when NKS takes calls again."""
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo"))
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    sim.patch_config(delay=1.0)  # a renewal long enough to be seen running

    def renewed(value: str, generation: int) -> dict[str, Any] | None:
        status = (get(kube_api, "nksclusters", ns, "demo") or {}).get("status") or {}
        last = status.get("lastOperation") or {}
        done = last.get("type") == "RENEW_CERTIFICATE" and last.get("state") == "Succeeded"
        if done and status.get("certificateRenewalRequest") == value:
            # Status says done only after NKS renewed.
            assert nks_cluster(sim, "demo")["certificate_generation"] == generation + 1
            return status
        return None

    # Accepted (202) and dropped, once: the renewal never shows, so it is sent again.
    fault = {"operation": "renew_certificate", "action": "silent_drop", "count": 1}
    sim.http.put("/_sim/faults", json=[fault]).raise_for_status()
    generation = nks_cluster(sim, "demo")["certificate_generation"]
    kubectl("annotate", "nksc", "demo", "-n", ns, "nks.nhncloud.com/renew-certificate=one")
    status = wait_for(lambda: renewed("one", generation), 90, what="the dropped renewal resent")
    assert status["lastOperation"]["attempt"] == 2
    assert "certificateRenewalSentAtExpiry" not in status
    assert sim.writes()["renew_certificate"] == 2
    wait_events(kube_api, ns, "demo", "OperationDropped")

    # Refused as busy, once: nothing happened, and the request is not marked as acted on.
    fault = {"operation": "renew_certificate", "action": "busy", "count": 1}
    sim.http.put("/_sim/faults", json=[fault]).raise_for_status()
    generation = nks_cluster(sim, "demo")["certificate_generation"]
    kubectl(
        "annotate",
        "nksc",
        "demo",
        "-n",
        ns,
        "--overwrite",
        "nks.nhncloud.com/renew-certificate=two",
    )
    wait_for(lambda: renewed("two", generation), 60, what="the renewal sent after NKS was busy")
    # (A fault's answer is logged before the caller's token is read: under no tenant.)
    log = sim.http.get("/_sim/calls").json()["log"]
    renewals = [(e["status"], e["fault"]) for e in log if e["operation"] == "renew_certificate"]
    assert renewals == [(202, "silent_drop"), (202, None), (400, "busy"), (202, None)]


def test_ids_that_are_not_uuids_are_refused_before_any_call(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    manifest = cluster_manifest("bad")
    bad = copy.deepcopy(manifest)
    bad["spec"]["network"]["vpcNetworkID"] = "not-a-uuid"
    refused = kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(bad), check=False)
    assert refused.returncode != 0
    assert "spec.network.vpcNetworkID" in refused.stderr
    assert get(kube_api, "nksclusters", ns, "bad") is None
    assert sim.calls() == {}  # not one NKS call, not even a token
    apply(kubectl, ns, manifest)
    wait_condition(kube_api, "nksclusters", ns, "bad", "Ready", "True", timeout=90)
    kubectl("delete", "nksc", "bad", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksclusters", ns, "bad")
