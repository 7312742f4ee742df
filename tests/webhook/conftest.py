"""The operator with its admission webhook, called by the real kube-apiserver over HTTPS.

Each module starts its own `nks-operator run --webhook-port ...` on loopback, watching only
`wh-*` namespaces, and removes its ValidatingWebhookConfiguration afterwards: the
apiserver is shared by the whole session, and a configuration left behind (failurePolicy
Fail) would refuse every later NKS resource once the operator is gone.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from nks_devtools.localkube import LocalKube
from tests.fixtures.kube import Kubectl
from tests.fixtures.operator import LOOPBACK_ENDPOINTS, wait_for
from tests.unit.specs import CLUSTER_SPEC, NODEGROUP_SPEC

ROOT = Path(__file__).resolve().parents[2]
GROUP, VERSION = "nks.nhncloud.com", "v1alpha1"
KINDS = ("nksclusters", "nksnodegroups")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cluster(name: str, **spec: Any) -> dict[str, Any]:
    """An NKSCluster manifest: the unit tests' valid spec with `spec` on top."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NKSCluster",
        "metadata": {"name": name},
        # Retain: deleting it never needs NKS credentials (there are none here).
        "spec": {**CLUSTER_SPEC, "deletionPolicy": "Retain", **spec},
    }


def nodegroup(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NKSNodeGroup",
        "metadata": {"name": name},
        "spec": {**NODEGROUP_SPEC, "deletionPolicy": "Retain", **spec},
    }


def apply(
    kubectl: Kubectl, namespace: str, manifest: dict[str, Any], *extra: str
) -> subprocess.CompletedProcess[str]:
    """`kubectl apply` without raising: the test reads the refusal from stderr."""
    return kubectl(
        "apply", "-n", namespace, "-f", "-", *extra, input=json.dumps(manifest), check=False
    )


def install_crds(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", str(ROOT / "crds"))
    for kind in KINDS:
        kubectl("wait", "--for=condition=Established", f"crd/{kind}.{GROUP}", "--timeout=60s")


class WebhookOperator:
    """`nks-operator run` with webhook flags, its log in `log_path`."""

    def __init__(self, kube: LocalKube, log_path: Path, *webhook_args: str) -> None:
        self.log_path = log_path
        env = {**os.environ, **LOOPBACK_ENDPOINTS, "KUBECONFIG": str(kube.kubeconfig)}
        for key in ("NKS_TENANT_ID", "NKS_USERNAME", "NKS_PASSWORD", "NKS_METRICS_PORT"):
            env.pop(key, None)
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "nks_operator",
                    "run",
                    "--namespace",
                    "wh-*",
                    "--liveness",
                    "",
                    "--log-level",
                    "DEBUG",
                    *webhook_args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
            )

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assert_alive(self) -> None:
        assert self.process.poll() is None, "the operator exited:\n" + self.logs()[-5000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def wait_until_refusing(kubectl: Kubectl, namespace: str, webhook: str) -> None:
    """Until the apiserver routes requests to `webhook` (its configuration is cached)."""
    probe = cluster("probe-with-a-name-nks-refuses")  # longer than NKS's 20 characters
    last = ""

    def refused() -> bool:
        nonlocal last
        last = apply(kubectl, namespace, probe, "--dry-run=server").stderr
        return f'admission webhook "{webhook}" denied the request' in last

    try:
        wait_for(refused, timeout=30, interval=0.3, what=f"webhook {webhook} to answer")
    except AssertionError as error:
        raise AssertionError(f"{error}\nkubectl: {last}") from None


def clean_namespace(kubectl: Kubectl, kube_api: client.ApiClient, namespace: str) -> None:
    """Delete the resources, strip their finalizers (no NKS here) and the namespace."""
    for kind in KINDS:
        kubectl("delete", kind, "--all", "-n", namespace, "--wait=false", check=False)
        names = kubectl("get", kind, "-n", namespace, "-o", "name", check=False).stdout.split()
        for name in names:
            kubectl(
                "patch",
                "-n",
                namespace,
                name,
                "--type=merge",
                "-p",
                '{"metadata":{"finalizers":null}}',
                check=False,
            )
    client.CoreV1Api(kube_api).delete_namespace(namespace, propagation_policy="Background")


@pytest.fixture
def wh_namespace(kube_api: client.ApiClient, kubectl: Kubectl) -> Iterator[str]:
    """A fresh `wh-<random>` namespace, emptied and deleted afterwards."""
    name = f"wh-{secrets.token_hex(4)}"
    client.CoreV1Api(kube_api).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
    )
    yield name
    clean_namespace(kubectl, kube_api, name)
