"""Self-signed certificate, configuration managed by kopf: the local development setup.

The real kube-apiserver calls `https://127.0.0.1:<port>/validate-...`, trusting the CA
bundle the operator generated and wrote into the configuration itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from nks_devtools.localkube import LocalKube
from nks_operator.reconcile.admission import review_cluster
from tests.fixtures.kube import Kubectl
from tests.fixtures.operator import wait_for
from tests.unit.specs import CLUSTER_SPEC
from tests.webhook.conftest import (
    WebhookOperator,
    apply,
    cluster,
    free_port,
    install_crds,
    nodegroup,
    wait_until_refusing,
)

pytestmark = pytest.mark.kube

CONFIG = "nks-operator-test.nks.nhncloud.com"
CLUSTER_WEBHOOK = f"validate-nkscluster.{CONFIG}"
NODEGROUP_WEBHOOK = f"validate-nksnodegroup.{CONFIG}"
CLUSTER_ID = "0b6c8a30-5e4b-4bb4-a3c1-1b1d1bd7d1a0"


def denial(webhook: str, message: str) -> str:
    return f'admission webhook "{webhook}" denied the request: {message}'


def webhook_configuration(kubectl: Kubectl) -> dict[str, Any] | None:
    result = kubectl("get", "validatingwebhookconfiguration", CONFIG, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


@pytest.fixture(scope="module")
def operator(
    kube: LocalKube, kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebhookOperator]:
    install_crds(kubectl)
    port = free_port()
    process = WebhookOperator(
        kube,
        tmp_path_factory.mktemp("webhook") / "operator.log",
        f"--webhook-port={port}",
        "--webhook-host=127.0.0.1",
        f"--webhook-manage-config={CONFIG}",
    )
    try:

        def configured() -> dict[str, Any] | None:
            process.assert_alive()
            found = webhook_configuration(kubectl)
            return found if found and len(found.get("webhooks") or []) == 2 else None

        found = wait_for(configured, timeout=30, what="the managed webhook configuration")
        assert {w["name"] for w in found["webhooks"]} == {CLUSTER_WEBHOOK, NODEGROUP_WEBHOOK}
        for hook in found["webhooks"]:
            assert hook["clientConfig"]["url"].startswith(f"https://127.0.0.1:{port}/validate-")
            assert hook["clientConfig"]["caBundle"]
            assert hook["failurePolicy"] == "Fail"
            assert hook["rules"][0]["operations"] == ["CREATE", "UPDATE"]
        yield process
    finally:
        process.stop()
        # kopf manages a mutating configuration of the same name too (empty here).
        for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
            kubectl("delete", kind, CONFIG, "--ignore-not-found")


def test_invalid_specs_are_refused_with_the_operators_messages(
    operator: WebhookOperator, kubectl: Kubectl, wh_namespace: str
) -> None:
    wait_until_refusing(kubectl, wh_namespace, CLUSTER_WEBHOOK)
    network = {
        **CLUSTER_SPEC["network"],
        "serviceClusterIPRange": "169.254.0.0/16",
        "podsNetworkCIDR": "10.100.0.0/21",
        "podsNetworkSubnet": 22,
    }
    manifest = cluster("a-name-far-too-long-for-nks", network=network)
    result = apply(kubectl, wh_namespace, manifest)
    assert result.returncode != 0
    problems = review_cluster(manifest["spec"], None, manifest["metadata"]["name"])
    assert problems == [
        "metadata.name (as clusterName) 'a-name-far-too-long-for-nks' is longer than 20 "
        "characters (NKS limit); set it explicitly",
        "spec.network.serviceClusterIPRange 169.254.0.0/16 overlaps the link-local range "
        "169.254.0.0/16",
        "spec.network.podsNetworkSubnet 22 must be at least the pod network prefix + 2 "
        "(10.100.0.0/21 -> at least 23)",
    ]
    assert denial(CLUSTER_WEBHOOK, "; ".join(problems)) in result.stderr
    assert kubectl("get", "nksclusters", "-n", wh_namespace, "-o", "name").stdout == ""

    result = apply(kubectl, wh_namespace, nodegroup("default-worker"))
    assert (
        denial(
            NODEGROUP_WEBHOOK,
            "metadata.name (as nodeGroupName) 'default-worker' is reserved by NKS",
        )
        in result.stderr
    )


def test_valid_object_is_admitted_and_immutable_fields_are_kept(
    operator: WebhookOperator, kubectl: Kubectl, wh_namespace: str
) -> None:
    wait_until_refusing(kubectl, wh_namespace, CLUSTER_WEBHOOK)
    manifest = cluster("demo")
    created = apply(kubectl, wh_namespace, manifest)
    assert created.returncode == 0, created.stderr
    assert apply(kubectl, wh_namespace, nodegroup("pool")).returncode == 0

    # Not in NKS yet (no credentials here): a key pair NKS refused can still be fixed.
    changed = cluster("demo", keypair="fixed-keypair")
    assert apply(kubectl, wh_namespace, changed).returncode == 0

    # Once the cluster exists in NKS, the key pair is fixed for good.
    kubectl(
        "patch",
        "-n",
        wh_namespace,
        "nkscluster/demo",
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"clusterID": CLUSTER_ID}}),
    )
    result = apply(kubectl, wh_namespace, cluster("demo", keypair="other-keypair"))
    assert result.returncode != 0
    assert (
        denial(
            CLUSTER_WEBHOOK,
            "spec.keypair is immutable: it was 'fixed-keypair', the change asks for "
            "'other-keypair'",
        )
        in result.stderr
    )
    stored = json.loads(kubectl("get", "-n", wh_namespace, "nkscluster/demo", "-o", "json").stdout)
    assert stored["spec"]["keypair"] == "fixed-keypair"

    # A mutable field still changes, and the operator's own writes (finalizer) go through.
    worker = {**CLUSTER_SPEC["defaultWorker"], "nodeCount": 3}
    resized = apply(
        kubectl, wh_namespace, cluster("demo", keypair="fixed-keypair", defaultWorker=worker)
    )
    assert resized.returncode == 0, resized.stderr

    def finalized() -> bool:
        body = json.loads(
            kubectl("get", "-n", wh_namespace, "nkscluster/demo", "-o", "json").stdout
        )
        return bool(body["metadata"].get("finalizers"))

    wait_for(finalized, timeout=20, what="the operator's finalizer")
    operator.assert_alive()


def test_the_admins_argocd_policy_is_refused_at_apply_time(
    operator: WebhookOperator, kubectl: Kubectl, wh_namespace: str
) -> None:
    """This operator runs with the default policy: only its own namespace registers."""
    wait_until_refusing(kubectl, wh_namespace, CLUSTER_WEBHOOK)
    registration = {"enabled": True, "project": wh_namespace}
    result = apply(kubectl, wh_namespace, cluster("registers", argocd=registration))
    assert result.returncode != 0
    message = f"namespace {wh_namespace} may not register clusters in Argo CD"
    assert denial(CLUSTER_WEBHOOK, message) in result.stderr
    # Without a registration the same cluster is admitted.
    admitted = apply(kubectl, wh_namespace, cluster("registers"), "--dry-run=server")
    assert admitted.returncode == 0, admitted.stderr
