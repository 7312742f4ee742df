"""Secret hygiene: no API password, identity token or kubeconfig key material in the
operator's logs, in Kubernetes Events or in NKSCluster/NKSNodeGroup status/annotations.

`test_nothing_secret_in_the_whole_session` runs last (see conftest) and scans everything
the session's tests produced; the lifecycle test makes the check meaningful on its own.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.e2e.helpers import (
    apply,
    cluster_manifest,
    credentials_secret,
    example,
    get,
    secret_value,
    wait_gone,
)
from tests.fixtures.hygiene import Hygiene, operator_logs
from tests.fixtures.operator import OperatorProcess, wait_for
from tests.resilience.helpers import OLD_VERSION, ResilienceSim, patch, wait_settled


def _kubeconfig() -> str:
    """A kubeconfig shaped like NKS's, with random key material."""

    def pem(kind: str) -> str:
        body = base64.b64encode(os.urandom(900)).decode()
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        return base64.b64encode(
            f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----\n".encode()
        ).decode()

    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "demo",
                    "cluster": {
                        "server": "https://203.0.113.9:6443",
                        "certificate-authority-data": pem("CERTIFICATE"),
                    },
                }
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {
                        "client-certificate-data": pem("CERTIFICATE"),
                        "client-key-data": pem("RSA PRIVATE KEY"),
                    },
                }
            ],
        }
    )


def test_scanner_finds_planted_secrets() -> None:
    """The scan must find what it looks for, whole or in part, and show none of it."""
    hygiene = Hygiene()
    token = "tok3n_" + "Ab9-" * 9 + "Z"
    config = _kubeconfig()
    hygiene.add_token(token)
    hygiene.add_kubeconfig(config)
    hygiene.add_password("s3cret-Passw0rd!")
    key = config.split("client-key-data: ")[1].split()[0]
    pem_line = base64.b64decode(key).decode().splitlines()[5]
    planted = {
        "password pattern": "auth failed for pw-t0123456789ab",
        "password": "login with s3cret-Passw0rd! refused",
        "token": f"X-Auth-Token: {token}",
        "half a token": f"token={token[:24]}...",
        "kubeconfig": f"config: {key[300:360]}",
        "decoded key": f"key line {pem_line}",
    }
    for what, text in planted.items():
        leaks = hygiene.scan_text(what, text)
        assert leaks, f"not found: {what}"
        assert all(token not in str(leak) and key[300:360] not in str(leak) for leak in leaks)
    clean = "NKS cluster demo (0c6c1a0e-4b1f-4c41-9d7e-7a7c1e2b9f10) requested; pw-tXYZ"
    assert hygiene.scan_text("clean", clean + config.split("server: ")[1][:30]) == []


@pytest.mark.kube
def test_lifecycle_leaks_nothing(
    res_operator: OperatorProcess,
    res_namespace: str,
    kubectl: Any,
    kube_api: client.ApiClient,
    sim: ResilienceSim,
    clean_simulator_thread: Any,
    tmp_path: Path,
) -> None:
    """Create, resize, token expiry, certificate renewal, delete: then scan this test's
    log, Events and status for its password, every token issued and both kubeconfigs."""
    ns = res_namespace
    hygiene = Hygiene()
    hygiene.track_simulator(clean_simulator_thread)
    sim.patch_config(delay=0.3)
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    hygiene.add_password("pw-" + sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo"))
    apply(kubectl, ns, example("nksnodegroup.yaml"))
    wait_settled(kube_api, ns, "nksclusters", ["demo"], 1, OLD_VERSION, 90, "created", sim)
    wait_settled(kube_api, ns, "nksnodegroups", ["demo-pool"], 2, OLD_VERSION, 90, "group", sim)
    obj = get(kube_api, "nksclusters", ns, "demo")
    assert obj is not None
    cluster_id = obj["status"]["clusterID"]
    hygiene.add_kubeconfig(sim.kubeconfig(cluster_id))

    sim.expire_tokens()
    patch(kubectl, ns, "nksc", "demo", {"spec": {"defaultWorker": {"nodeCount": 2}}})
    wait_settled(kube_api, ns, "nksclusters", ["demo"], 2, OLD_VERSION, 90, "resized", sim)
    first = sim.kubeconfig(cluster_id)
    kubectl("annotate", "nksc", "demo", "-n", ns, "nks.nhncloud.com/renew-certificate=hygiene")
    wait_for(lambda: sim.writes()["renew_certificate"] == 1, 60, what="certificate renewal")
    wait_for(
        lambda: secret_value(kube_api, ns, "demo-kubeconfig", "value") not in (first, None),
        60,
        interval=1,
        what="kubeconfig Secret refreshed",
    )
    wait_settled(kube_api, ns, "nksclusters", ["demo"], 2, OLD_VERSION, 90, "renewed", sim)
    second = sim.kubeconfig(cluster_id)
    assert second != first
    hygiene.add_kubeconfig(second)
    hygiene.collect(kube_api, [ns])

    kubectl("delete", "nksng", "--all", "-n", ns, "--wait=false")
    kubectl("delete", "nksc", "--all", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksclusters", ns, "demo", timeout=60)
    hygiene.collect(kube_api, [ns])
    res_operator.stop()

    assert hygiene.counts["tokens"] >= 2, hygiene.counts  # one before, one after the expiry
    assert hygiene.counts["kubeconfigs"] >= 2, hygiene.counts
    assert any(where.startswith("Event ") for where in hygiene.texts)
    assert any(where.startswith("nksclusters ") for where in hygiene.texts)
    log = res_operator.log_path
    assert log.stat().st_size > 10_000
    leaks = hygiene.scan([log])
    assert leaks == [], "\n".join(map(str, leaks[:30]))


@pytest.mark.kube
def test_nothing_secret_in_the_whole_session(
    hygiene: Hygiene, kube_api: client.ApiClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every operator log of the session, and every Event and resource status seen while
    the session ran (watched, since test namespaces are deleted), hold no secret."""
    hygiene.collect(kube_api)
    logs = operator_logs(tmp_path_factory.getbasetemp())
    if not logs:
        pytest.skip("no operator ran in this session: nothing to scan")
    leaks = hygiene.scan(logs)
    counts = {**hygiene.counts, "logs": len(logs), "texts": len(hygiene.texts)}
    print("secret hygiene scanned:", counts)
    assert hygiene.counts["passwords"] > 0, "no credentials Secret seen: the watch is broken"
    assert leaks == [], f"{len(leaks)} leaks:\n" + "\n".join(map(str, leaks[:50]))
