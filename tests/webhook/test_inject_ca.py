"""Self-signed certificate injected into a configuration made by someone else (the chart's
self-signed mode): the operator writes only the CA bundle, and never creates a
configuration.

The configuration here calls `https://127.0.0.1:<port>/...` (the chart's points at its
Service, which a local apiserver cannot reach); the real kube-apiserver trusts the operator
only through the CA bundle the operator wrote into it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nks_devtools.localkube import LocalKube
from tests.fixtures.kube import Kubectl
from tests.fixtures.operator import wait_for
from tests.webhook.conftest import (
    GROUP,
    VERSION,
    WebhookOperator,
    apply,
    cluster,
    free_port,
    install_crds,
    nodegroup,
    wait_until_refusing,
)

pytestmark = pytest.mark.kube

CONFIG = "nks-operator-inject-test.nks.nhncloud.com"
LABEL = {"nks-webhook-test": "inject-ca"}


def configuration(port: int) -> dict[str, Any]:
    """Complete but for the CA bundle, as the chart renders it."""
    hooks = []
    for kind, plural in (("nkscluster", "nksclusters"), ("nksnodegroup", "nksnodegroups")):
        hooks.append(
            {
                "name": f"validate-{kind}.{CONFIG}",
                "clientConfig": {"url": f"https://127.0.0.1:{port}/validate-{kind}"},
                "rules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": [VERSION],
                        "resources": [plural],
                        "operations": ["CREATE", "UPDATE"],
                    }
                ],
                # Only this module's namespaces: the apiserver is shared by the session.
                "namespaceSelector": {"matchLabels": LABEL},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 10,
            }
        )
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": CONFIG},
        "webhooks": hooks,
    }


def stored(kubectl: Kubectl) -> dict[str, Any]:
    out = kubectl("get", "validatingwebhookconfiguration", CONFIG, "-o", "json").stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def injected(
    kube: LocalKube, kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WebhookOperator, dict[str, Any]]]:
    """The operator, and the configuration as it was before the operator started."""
    install_crds(kubectl)
    port = free_port()
    written = configuration(port)
    kubectl("create", "-f", "-", input=json.dumps(written))
    process = WebhookOperator(
        kube,
        tmp_path_factory.mktemp("inject") / "operator.log",
        f"--webhook-port={port}",
        "--webhook-host=127.0.0.1",
        f"--webhook-inject-ca={CONFIG}",
    )
    try:

        def injected() -> bool:
            process.assert_alive()
            hooks = stored(kubectl)["webhooks"]
            return all(hook["clientConfig"].get("caBundle") for hook in hooks)

        wait_for(injected, timeout=30, what="the CA bundle in the configuration")
        yield process, written
    finally:
        process.stop()
        kubectl("delete", "validatingwebhookconfiguration", CONFIG, "--ignore-not-found")


def test_only_the_ca_bundle_is_written(
    injected: tuple[WebhookOperator, dict[str, Any]], kubectl: Kubectl
) -> None:
    process, written = injected
    found = stored(kubectl)
    expected = copy.deepcopy(written["webhooks"])
    for hook, have in zip(expected, found["webhooks"], strict=True):
        hook["clientConfig"]["caBundle"] = have["clientConfig"]["caBundle"]
        # What the apiserver fills in by default.
        for key in ("matchPolicy", "objectSelector"):
            hook[key] = have[key]
        hook["rules"][0]["scope"] = have["rules"][0]["scope"]
    assert found["webhooks"] == expected
    assert len({h["clientConfig"]["caBundle"] for h in found["webhooks"]}) == 1
    # kopf's configuration manager stays out of it (it would create and fill a mutating
    # configuration too).
    assert "Reconfiguring the" not in process.logs()
    assert kubectl("get", "mutatingwebhookconfiguration", CONFIG, check=False).returncode != 0


def test_the_apiserver_trusts_the_injected_ca(
    injected: tuple[WebhookOperator, dict[str, Any]], kubectl: Kubectl, wh_namespace: str
) -> None:
    process, _ = injected
    kubectl("label", "namespace", wh_namespace, *(f"{k}={v}" for k, v in LABEL.items()))
    wait_until_refusing(kubectl, wh_namespace, f"validate-nkscluster.{CONFIG}")
    result = apply(kubectl, wh_namespace, nodegroup("default-worker"))
    assert f'admission webhook "validate-nksnodegroup.{CONFIG}" denied' in result.stderr
    created = apply(kubectl, wh_namespace, cluster("demo", keypair="k", region="kr1"))
    assert created.returncode == 0, created.stderr
    process.assert_alive()


def test_without_the_configuration_the_operator_stops_at_once(
    kube: LocalKube, tmp_path: Path
) -> None:
    absent = "nks-operator-absent.nks.nhncloud.com"
    process = WebhookOperator(
        kube,
        tmp_path / "operator.log",
        f"--webhook-port={free_port()}",
        "--webhook-host=127.0.0.1",
        f"--webhook-inject-ca={absent}",
    )
    try:
        process.process.wait(timeout=60)
    finally:
        process.stop()
    assert process.process.returncode != 0
    assert (
        f"ValidatingWebhookConfiguration {absent} does not exist: the operator only writes "
        "its CA bundle into it and never creates one"
    ) in process.logs()
