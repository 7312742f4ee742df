"""Certificate from a folder (as cert-manager mounts it), configuration made by someone else.

This is the Helm chart's cert-manager setup: a CA-signed `tls.crt`/`tls.key` plus `ca.crt`,
and a ValidatingWebhookConfiguration the operator must not touch.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nks_devtools.localkube import LocalKube
from tests.fixtures.kube import Kubectl
from tests.webhook.conftest import (
    GROUP,
    VERSION,
    WebhookOperator,
    apply,
    cluster,
    free_port,
    install_crds,
    wait_until_refusing,
)

pytestmark = pytest.mark.kube

CONFIG = "nks-operator-cert-dir-test.nks.nhncloud.com"
WEBHOOK = "nksclusters.nks-operator-cert-dir-test.nks.nhncloud.com"


def ca_signed_certificate(folder: Path) -> None:
    """ca.crt, and tls.crt/tls.key for 127.0.0.1 signed by it (what cert-manager mounts)."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl(
        "req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test-ca",
    )  # fmt: skip
    openssl(
        "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=127.0.0.1",
    )  # fmt: skip
    (folder / "ext.cnf").write_text("subjectAltName = IP:127.0.0.1\n")
    openssl(
        "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "tls.crt", "-days", "1", "-extfile", "ext.cnf",
    )  # fmt: skip


@pytest.fixture
def operator_with_cert_dir(
    kube: LocalKube, kubectl: Kubectl, tmp_path: Path, wh_namespace: str
) -> Iterator[WebhookOperator]:
    install_crds(kubectl)
    certs = tmp_path / "certs"
    certs.mkdir()
    ca_signed_certificate(certs)
    port = free_port()
    process = WebhookOperator(
        kube, tmp_path / "operator.log", f"--webhook-port={port}", f"--webhook-cert-dir={certs}"
    )
    kubectl("label", "namespace", wh_namespace, "nks-webhook-test=cert-dir")
    configuration = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": CONFIG},
        "webhooks": [
            {
                "name": WEBHOOK,
                "clientConfig": {
                    "url": f"https://127.0.0.1:{port}/validate-nkscluster",
                    "caBundle": base64.b64encode((certs / "ca.crt").read_bytes()).decode(),
                },
                "rules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": [VERSION],
                        "resources": ["nksclusters"],
                        "operations": ["CREATE", "UPDATE"],
                    }
                ],
                # Only this test's namespace: nothing else on the shared apiserver is affected.
                "namespaceSelector": {"matchLabels": {"nks-webhook-test": "cert-dir"}},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 10,
            }
        ],
    }
    try:
        kubectl("apply", "-f", "-", input=json.dumps(configuration))
        yield process
    finally:
        process.stop()
        kubectl("delete", "validatingwebhookconfiguration", CONFIG, "--ignore-not-found")


def test_ca_signed_certificate_from_a_folder(
    operator_with_cert_dir: WebhookOperator, kubectl: Kubectl, wh_namespace: str
) -> None:
    wait_until_refusing(kubectl, wh_namespace, WEBHOOK)
    result = apply(kubectl, wh_namespace, cluster("demo", keypair="k", region="kr1"))
    assert result.returncode == 0, result.stderr
    operator_with_cert_dir.assert_alive()
    # Without --webhook-manage-config the operator leaves webhook configurations alone.
    assert "Reconfiguring the" not in operator_with_cert_dir.logs()
