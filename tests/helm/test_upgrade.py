"""`helm upgrade` with two replicas and the webhook on: no admission request fails.

What is real: the chart installed and upgraded by helm on a real kube-apiserver, the
ValidatingWebhookConfiguration it renders (failurePolicy Fail) called by that apiserver,
four `nks-operator run` processes started with the Deployment's own arguments (before and
after the upgrade) and only the chart's RBAC (a token of its ServiceAccount), competing for
the chart's Lease, and a loop of `kubectl apply --dry-run=server` of NKSClusters (a valid
one, and one the webhook must refuse) running through the whole upgrade.

What is simulated, because no pod runs on the test's apiserver (no kubelet, no kube-proxy,
no cert-manager):
- the pods: operator processes on loopback ports, one per replica;
- the webhook Service: an L4 proxy on loopback that sends each new connection to one of
  its endpoints (as kube-proxy does; an open connection stays with its pod). The apiserver
  cannot reach a Service, and `helm upgrade` puts the chart's `clientConfig.service` back
  into its configuration, so the chart's configuration is left as Helm keeps it (scoped to
  another namespace with watchNamespaces) and a copy of its webhooks - same names, rules,
  paths, failurePolicy Fail and timeout - calls the proxy by URL for the test's namespace;
- cert-manager: its CRDs accept the chart's Certificate and Issuers; the serving
  certificate is a CA-signed one in a folder (what cert-manager mounts), and the test
  writes the CA into the configuration (what its CA injector does);
- the rolling update, played by the test from the Deployment's strategy as the Deployment
  controller, kubelet and endpoints controller do it: with maxSurge 1 / maxUnavailable 0 a
  new pod starts, joins the endpoints once the chart's readiness probe (a TCP connect to
  the webhook port) passes, and only then does an old one go: it leaves the endpoints, its
  preStop sleep (the chart's webhook.shutdownDelaySeconds) runs, then it gets SIGTERM.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from nks_devtools.localkube import LocalKube
from tests.fixtures.kube import Kubectl, _kubectl_binary
from tests.fixtures.operator import LOOPBACK_ENDPOINTS, wait_for
from tests.helm.helpers import FULLNAME, NAMESPACE, REPO_ROOT, Helm, container, one
from tests.helm.test_webhook import CONFIG, free_port, own_kube, stop
from tests.unit.specs import CLUSTER_SPEC
from tests.webhook.test_cert_dir import ca_signed_certificate

__all__ = ["own_kube"]  # the fixture, imported for this module's tests

pytestmark = pytest.mark.kube

CHART = str(REPO_ROOT / "helm" / "nks-operator")
LEASE = "nks-operator"
TEAM = "team"
# Where the test applies: only the copy of the configuration (by URL) covers it.
APPLIED_IN = "team-b"
LABEL = {"nks-upgrade-test": "via-proxy"}
VALUES: dict[str, Any] = {
    "replicaCount": 2,
    "watchNamespaces": [TEAM],
    "leaderElection": {"enabled": True, "name": LEASE},
    "metrics": {"enabled": False},
    "webhook": {"enabled": True, "certManager": {"enabled": True}},
}
# The upgrade changes the pod template, as a new image or setting does.
UPGRADED: dict[str, Any] = {**VALUES, "operator": {"logLevel": "DEBUG"}}


def cert_manager_crds() -> str:
    """Certificate and Issuer as far as the API server needs them to store the chart's."""
    documents = []
    for kind, plural in (("Certificate", "certificates"), ("Issuer", "issuers")):
        documents.append(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{plural}.cert-manager.io"},
                "spec": {
                    "group": "cert-manager.io",
                    "scope": "Namespaced",
                    "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
                    "versions": [
                        {
                            "name": "v1",
                            "served": True,
                            "storage": True,
                            "schema": {
                                "openAPIV3Schema": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                }
                            },
                        }
                    ],
                },
            }
        )
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": documents})


class ServiceProxy:
    """The webhook Service: each accepted connection goes to one endpoint, round robin;
    `endpoints` changes as pods become ready or terminate."""

    def __init__(self) -> None:
        self.endpoints: list[int] = []
        self._lock = threading.Lock()
        self._turn = itertools.count()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def set_endpoints(self, ports: list[int]) -> None:
        with self._lock:
            self.endpoints = list(ports)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                ports = list(self.endpoints)
            if not ports:  # no ready pod: the connection is refused
                client.close()
                continue
            port = ports[next(self._turn) % len(ports)]
            try:
                backend = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                client.close()
                continue
            for source, target in ((client, backend), (backend, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._stopped.set()
        self._server.close()


class Replica:
    """One operator pod: `nks-operator run` with the Deployment's arguments."""

    def __init__(
        self, name: str, args: list[str], certs: Path, kubeconfig: Path, log: Path
    ) -> None:
        self.name = name
        self.port = free_port()
        self.log = log
        argv = [a for a in args if not a.startswith(("--liveness", "--webhook-"))]
        argv += [
            "--liveness=",
            f"--webhook-port={self.port}",
            f"--webhook-cert-dir={certs}",
        ]
        env = {**os.environ, **LOOPBACK_ENDPOINTS, "KUBECONFIG": str(kubeconfig)}
        for key in ("NKS_TENANT_ID", "NKS_USERNAME", "NKS_PASSWORD", "NKS_METRICS_PORT"):
            env.pop(key, None)
        env |= {"POD_NAME": name, "POD_NAMESPACE": NAMESPACE}
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "nks_operator", *argv],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT,
            )  # fmt: skip

    def ready(self) -> bool:
        """The chart's readiness probe: a TCP connect to the webhook port."""
        assert self.process.poll() is None, f"{self.name} exited:\n{self.logs()[-3000:]}"
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


def manifests(helm: Helm, kube: LocalKube) -> list[dict[str, Any]]:
    text = helm("get", "manifest", "nks", "--namespace", NAMESPACE, kubeconfig=kube.kubeconfig)
    return [d for d in yaml.safe_load_all(text) if d]


def cluster(name: str) -> str:
    spec = {**CLUSTER_SPEC, "deletionPolicy": "Retain", "keypair": "k", "region": "kr1"}
    return json.dumps(
        {
            "apiVersion": "nks.nhncloud.com/v1alpha1",
            "kind": "NKSCluster",
            "metadata": {"name": name, "namespace": APPLIED_IN},
            "spec": spec,
        }
    )


class ApplyLoop:
    """`kubectl apply --dry-run=server` over and over: a valid NKSCluster must be accepted,
    and one with a name NKS refuses must be denied by the webhook, every single time."""

    def __init__(self, kubectl: Kubectl) -> None:
        self.kubectl = kubectl
        self.accepted = 0
        self.denied = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        valid, invalid = cluster("demo"), cluster("a-name-longer-than-nks-allows")
        while not self._stop.is_set():
            for manifest, expect_denied in ((valid, False), (invalid, True)):
                result = self.kubectl(
                    "apply", "--dry-run=server", "-f", "-", input=manifest, check=False
                )
                denied = "denied the request" in result.stderr
                if expect_denied and denied and result.returncode != 0:
                    self.denied += 1
                elif not expect_denied and result.returncode == 0:
                    self.accepted += 1
                else:
                    self.failures.append(f"{time.strftime('%X')} {result.stderr.strip()}")

    def __enter__(self) -> ApplyLoop:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


@pytest.fixture
def proxy() -> Iterator[ServiceProxy]:
    service = ServiceProxy()
    yield service
    service.close()


def test_helm_upgrade_with_two_replicas_keeps_the_webhook_answering(
    own_kube: LocalKube, helm: Helm, proxy: ServiceProxy, tmp_path: Path
) -> None:
    kube = Kubectl(_kubectl_binary(), own_kube.kubeconfig, tmp_path / "kubectl-cache")
    kube("create", "namespace", NAMESPACE)
    kube("create", "namespace", TEAM)
    kube("apply", "-f", "-", input=cert_manager_crds())
    for plural in ("certificates", "issuers"):
        kube("wait", "--for=condition=Established", f"crd/{plural}.cert-manager.io")
    helm(
        "install", "nks", CHART, "--namespace", NAMESPACE, "--values", "-",
        input=json.dumps(VALUES), kubeconfig=own_kube.kubeconfig,
    )  # fmt: skip
    kube("wait", "--for=condition=Established", "crd/nksclusters.nks.nhncloud.com")

    # cert-manager's part: the serving certificate, and its CA in the configuration; the
    # Service's part: the copy of the chart's configuration reaches the proxy.
    certs = tmp_path / "certs"
    certs.mkdir()
    ca_signed_certificate(certs)
    ca = base64.b64encode((certs / "ca.crt").read_bytes()).decode()
    chart_config = one(manifests(helm, own_kube), "ValidatingWebhookConfiguration", CONFIG)
    hooks = []
    for hook in chart_config["webhooks"]:
        path = hook["clientConfig"]["service"]["path"]
        hook["clientConfig"] = {"url": f"https://127.0.0.1:{proxy.port}{path}", "caBundle": ca}
        hook["namespaceSelector"] = {"matchLabels": LABEL}
        hooks.append(hook)
    assert {h["failurePolicy"] for h in hooks} == {"Fail"}
    copy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": f"via-proxy.{CONFIG}"},
        "webhooks": hooks,
    }
    kube("create", "namespace", APPLIED_IN)
    kube("label", "namespace", APPLIED_IN, *(f"{k}={v}" for k, v in LABEL.items()))
    kube("apply", "-f", "-", input=json.dumps(copy))

    # The operator's credentials: the chart's ServiceAccount, nothing more.
    token = kube("create", "token", FULLNAME, "-n", NAMESPACE, "--duration=1h").stdout.strip()
    config = yaml.safe_load(own_kube.kubeconfig.read_text())
    for user in config["users"]:
        user["user"] = {"token": token}
    kubeconfig = tmp_path / "operator-kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))

    def start(name: str, rendered: list[dict[str, Any]]) -> Replica:
        return Replica(
            name, container(rendered)["args"], certs, kubeconfig, tmp_path / f"{name}.log"
        )

    def holder() -> str | None:
        lease = kube("get", "lease", LEASE, "-n", NAMESPACE, "-o", "json", check=False)
        if lease.returncode != 0:
            return None
        return json.loads(lease.stdout)["spec"].get("holderIdentity")

    before = manifests(helm, own_kube)
    replicas = [start(f"{FULLNAME}-old-{n}", before) for n in (1, 2)]
    started: list[Replica] = list(replicas)
    try:
        for replica in replicas:
            wait_for(replica.ready, 60, what=f"{replica.name} ready")
        proxy.set_endpoints([r.port for r in replicas])
        wait_for(holder, 60, what="a replica holding the Lease")

        with ApplyLoop(kube) as loop:
            wait_for(lambda: loop.denied > 0 and loop.accepted > 0, 60, what="first answers")
            helm(
                "upgrade", "nks", CHART, "--namespace", NAMESPACE, "--values", "-",
                input=json.dumps(UPGRADED), kubeconfig=own_kube.kubeconfig,
            )  # fmt: skip
            after = manifests(helm, own_kube)
            deployment = one(after, "Deployment")
            assert deployment["spec"]["strategy"] == {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            }
            operator = container(after)
            assert operator["readinessProbe"]["tcpSocket"] == {"port": "webhook"}
            pre_stop = operator["lifecycle"]["preStop"]["exec"]["command"]
            assert pre_stop[0] == "sleep"
            delay = float(pre_stop[1])
            assert "--log-level=DEBUG" in operator["args"]

            # The rolling update: surge one new pod, wait for it to be ready, retire one.
            for n, old in enumerate(list(replicas), start=1):
                new = start(f"{FULLNAME}-new-{n}", after)
                started.append(new)
                wait_for(new.ready, 60, what=f"{new.name} ready")
                replicas.append(new)
                proxy.set_endpoints([r.port for r in replicas if r is not old])
                replicas.remove(old)
                time.sleep(delay)  # preStop, while the endpoint removal spreads
                stop(old.process)
                assert old.process.returncode == 0, old.logs()[-3000:]
            # Answers from the new generation alone, both kinds, before the loop stops.
            answered = loop.accepted + loop.denied
            wait_for(
                lambda: loop.accepted + loop.denied >= answered + 4,
                60,
                what="answers after the old replicas stopped",
            )
        assert loop.failures == [], "\n".join(loop.failures)
        assert loop.accepted >= 5 and loop.denied >= 5, (loop.accepted, loop.denied)
        # The new generation leads now; the old one handed the Lease over.
        identity = wait_for(holder, 30, what="the Lease held")
        assert identity.startswith(f"{FULLNAME}-new-"), identity
        for replica in replicas:
            assert replica.process.poll() is None, replica.logs()[-3000:]
    finally:
        for replica in started:
            if replica.process.poll() is None:
                stop(replica.process)
    logs = "".join(r.logs() for r in started)
    assert "Forbidden" not in logs, logs[-3000:]
