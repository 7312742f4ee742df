"""Invalid specs, immutable fields, credentials, pause, adoption and out-of-band deletion."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kubernetes import client
from pydantic import SecretStr

from nks_devtools.simulator import Credential
from nks_operator.api import NKSClusterSpec
from nks_operator.nks import Credentials, NKSClient
from nks_operator.nks.models import ClusterCreateRequest
from nks_operator.reconcile import payloads
from tests.e2e.helpers import (
    Sim,
    another_pass,
    apply,
    cluster_manifest,
    condition,
    credentials_secret,
    events,
    example,
    get,
    new_tenant,
    wait_condition,
    wait_gone,
)
from tests.fixtures.operator import OperatorProcess, wait_for

pytestmark = pytest.mark.kube


@pytest.fixture
def sim(clean_simulator_thread: Any) -> Sim:
    return Sim(clean_simulator_thread.url, new_tenant())


def _warning(api: client.ApiClient, ns: str, name: str, reason: str) -> dict[str, str] | None:
    return next(
        (e for e in events(api, ns, name) if e["type"] == "Warning" and e["reason"] == reason),
        None,
    )


def test_invalid_spec_is_marked_and_sends_nothing(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    manifest = cluster_manifest(
        "bad",
        network={
            "vpcNetworkID": "eb212079-b6ec-430c-ba57-14280a457bcb",
            "subnetID": "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90",
            "serviceClusterIPRange": "169.254.0.0/16",
            "podsNetworkCIDR": "10.100.0.0/22",
            "podsNetworkSubnet": 23,
        },
        kubernetesVersion="v1.26.3",  # listed by NKS, no longer offered for new clusters
    )
    apply(kubectl, ns, manifest)
    obj = wait_condition(kube_api, "nksclusters", ns, "bad", "Ready", "False", "InvalidSpec")
    message = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")["message"]
    assert "spec.network.serviceClusterIPRange 169.254.0.0/16 overlaps the link-local" in message
    assert "prefix + 2" in message
    assert "spec.kubernetesVersion v1.26.3" in message
    assert obj["status"]["phase"] == "Failed"
    warning = wait_for(lambda: _warning(kube_api, ns, "bad", "InvalidSpec"), 20, what="event")
    assert "link-local" in warning["message"]
    # Two more passes: still nothing written, and the Event is not repeated (Events are
    # posted in the background: the first pass's would be out by the second's end).
    another_pass(kubectl, kube_api, ns, "bad")
    obj = another_pass(kubectl, kube_api, ns, "bad")
    assert condition(obj, "Ready")["reason"] == "InvalidSpec"
    assert sim.writes() == {}
    assert sum(1 for e in events(kube_api, ns, "bad") if e["reason"] == "InvalidSpec") == 1

    # Fixing the spec is picked up at once and the cluster gets created.
    fixed = cluster_manifest("bad")
    kubectl(
        "replace", "-n", ns, "-f", "-", input=json.dumps({**fixed, "metadata": obj["metadata"]})
    )
    wait_condition(kube_api, "nksclusters", ns, "bad", "Ready", "True", timeout=60)
    assert sim.writes() == {"create_cluster": 1}


OTHER_SUBNET = "5fdf5b80-3d35-43f5-a5c1-010a3b6c8e91"


def test_changed_immutable_field_is_refused(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo"))
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True")
    writes_before = sim.writes()
    kubectl(
        "patch",
        "nksc",
        "demo",
        "-n",
        ns,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"keypair": "another-key", "network": {"subnetID": OTHER_SUBNET}}}),
    )
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "False", "InvalidSpec")
    message = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")["message"]
    assert "spec.keypair is immutable" in message
    assert "spec.network.subnetID is immutable" in message
    assert obj["status"]["phase"] == "Ready" or obj["status"]["nksStatus"] == "CREATE_COMPLETE"
    assert obj["status"]["drift"] == ["spec.keypair", "spec.network.subnetID"]
    wait_for(lambda: _warning(kube_api, ns, "demo", "InvalidSpec"), 30, what="InvalidSpec Event")
    assert sim.writes() == writes_before
    # Another region: refused as such, never mistaken for a cluster deleted behind our back.
    kubectl("patch", "nksc", "demo", "-n", ns, "--type=merge", "-p", '{"spec":{"region":"kr1"}}')
    wait_for(
        lambda: (
            "spec.region is immutable"
            in (condition(get(kube_api, "nksclusters", ns, "demo"), "Ready") or {}).get(
                "message", ""
            )
        ),
        30,
        what="region refused",
    )
    kubectl("delete", "nksc", "demo", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksclusters", ns, "demo", timeout=60)
    assert sim.clusters() == []  # deleted in its real region


def test_missing_credentials_then_secret_appears(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = e2e_namespace
    apply(kubectl, ns, cluster_manifest("demo"))
    obj = wait_condition(
        kube_api, "nksclusters", ns, "demo", "Ready", "False", "CredentialsSecretNotFound"
    )
    assert obj["status"]["phase"] == "Pending"
    wait_for(lambda: _warning(kube_api, ns, "demo", "CredentialsError"), 20, what="event")
    # A Secret with a missing key is named precisely.
    kubectl(
        "create",
        "secret",
        "generic",
        "nks-credentials",
        "-n",
        ns,
        "--from-literal=tenantId=" + sim.tenant,
        "--from-literal=username=u",
    )
    obj = wait_condition(
        kube_api, "nksclusters", ns, "demo", "Ready", "False", "CredentialsInvalid"
    )
    message = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")["message"]
    assert "lacks key(s) password" in message
    kubectl("delete", "secret", "nks-credentials", "-n", ns)
    # The Secret appearing wakes the resource long before the error back-off would.
    started = time.monotonic()
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=60)
    assert time.monotonic() - started < 60
    assert sim.writes() == {"create_cluster": 1}


def test_rejected_credentials(
    operator: OperatorProcess,
    e2e_namespace: str,
    kubectl: Any,
    kube_api: Any,
    clean_simulator_thread: Any,
) -> None:
    """With the simulator accepting only configured credentials, a wrong password is shown."""
    ns = e2e_namespace
    sim = Sim(clean_simulator_thread.url, new_tenant())
    allowed = Credential(tenant_id=sim.tenant, username="someone", password=SecretStr("right"))

    def only_allowed(simulator: Any) -> None:
        simulator.config.credentials = [allowed]

    def any_credentials(simulator: Any) -> None:
        simulator.config.credentials = []

    clean_simulator_thread.call(only_allowed)
    try:
        credentials_secret(kubectl, ns, sim.url, sim.tenant)
        apply(kubectl, ns, cluster_manifest("demo"))
        obj = wait_condition(
            kube_api, "nksclusters", ns, "demo", "Ready", "False", "CredentialsRejected"
        )
        assert "pw-" + sim.tenant not in json.dumps(obj)  # the password never reaches status
        assert sim.writes() == {}
    finally:
        clean_simulator_thread.call(any_credentials)


def test_paused_resource_sends_nothing_until_resumed(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    manifest = cluster_manifest("demo")
    manifest["metadata"]["annotations"] = {"nks.nhncloud.com/paused": "true"}
    apply(kubectl, ns, manifest)
    wait_for(
        lambda: (
            ((get(kube_api, "nksclusters", ns, "demo") or {}).get("status") or {}).get("phase")
            == "Paused"
        ),
        30,
        what="phase Paused",
    )
    another_pass(kubectl, kube_api, ns, "demo")
    assert sim.writes() == {}
    kubectl("annotate", "nksc", "demo", "-n", ns, "nks.nhncloud.com/paused-")
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=60)
    # Paused again: status still follows NKS, and a delete leaves NKS alone until resumed.
    kubectl("annotate", "nksc", "demo", "-n", ns, "nks.nhncloud.com/paused=true")
    kubectl("delete", "nksc", "demo", "-n", ns, "--wait=false")
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "False", "Paused")
    assert "deletion waits" in condition(obj, "Ready")["message"]  # the pass that saw it
    assert get(kube_api, "nksclusters", ns, "demo") is not None
    assert "delete_cluster" not in sim.writes()
    kubectl("annotate", "nksc", "demo", "-n", ns, "nks.nhncloud.com/paused-")
    wait_gone(kube_api, "nksclusters", ns, "demo", timeout=60)
    assert sim.clusters() == []


async def _create_directly(sim: Sim, name: str) -> str:
    creds = Credentials(tenant_id=sim.tenant, username="someone", password="x")
    spec = NKSClusterSpec.model_validate(cluster_manifest()["spec"])
    body = payloads.create_cluster_body(spec, name, {})
    async with NKSClient(creds, "kr2", nks_url=sim.url, identity_url=sim.url) as nks:
        return await nks.create_cluster(ClusterCreateRequest.model_validate(body))


async def test_adoption_by_cluster_id_and_name_in_use(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    cluster_id = await _create_directly(sim, "existing")
    wait_for(lambda: sim.clusters() and sim.clusters()[0]["status"] == "CREATE_COMPLETE", 30)
    # Same name without clusterID: refused, never a second cluster of that name.
    apply(kubectl, ns, cluster_manifest("existing"))
    obj = wait_condition(
        kube_api, "nksclusters", ns, "existing", "Ready", "False", "ClusterNameInUse"
    )
    # The other cluster's id is not echoed: it may be another team's.
    assert cluster_id not in json.dumps(obj["status"])
    kubectl("delete", "nksc", "existing", "-n", ns)
    # With clusterID it is adopted: no create call, Ready, kubeconfig written.
    apply(kubectl, ns, cluster_manifest("adopted", clusterName="existing", clusterID=cluster_id))
    obj = wait_condition(kube_api, "nksclusters", ns, "adopted", "Ready", "True")
    assert obj["status"]["clusterID"] == cluster_id
    assert sim.writes() == {"create_cluster": 1}  # ours, made directly above
    assert len(sim.clusters()) == 1
    # Its default worker belongs to the NKSCluster: an NKSNodeGroup naming it is refused.
    default_worker = next(
        g["uuid"] for g in sim.clusters()[0]["nodegroups"] if g["name"] == "default-worker"
    )
    group = example("nksnodegroup.yaml")
    group["metadata"]["name"] = "second-owner"
    group["spec"].update(clusterRef={"name": "adopted"}, nodeGroupID=default_worker)
    apply(kubectl, ns, group)
    refused = wait_condition(
        kube_api, "nksnodegroups", ns, "second-owner", "Ready", "False", "InvalidSpec"
    )
    assert "which its NKSCluster manages" in condition(refused, "Ready")["message"]
    assert sim.writes() == {"create_cluster": 1}


def test_cluster_deleted_behind_our_back_is_reported_not_recreated(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo"))
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True")
    sim.delete_behind_back(obj["status"]["clusterID"])
    # Found by the next slow resync (3 s in tests); an annotation asks for a check now.
    kubectl("annotate", "nksc", "demo", "-n", ns, "nks.nhncloud.com/reconcile-requested-at=now")
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "False", "ClusterNotFound")
    assert obj["status"]["phase"] == "Failed"
    wait_for(lambda: _warning(kube_api, ns, "demo", "ClusterNotFound"), 20, what="event")
    obj = another_pass(kubectl, kube_api, ns, "demo")
    assert condition(obj, "Ready")["reason"] == "ClusterNotFound"
    assert sim.writes() == {"create_cluster": 1}
    kubectl("delete", "nksc", "demo", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksclusters", ns, "demo", timeout=30)
