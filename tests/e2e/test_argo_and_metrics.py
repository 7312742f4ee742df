"""What Argo CD and Prometheus see: the operator never writes spec, labels or user
annotations (no OutOfSync from our writes), and /metrics after a lifecycle."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nks_devtools.localkube import LocalKube
from tests.e2e.helpers import (
    Sim,
    apply,
    cluster_manifest,
    credentials_secret,
    example,
    get,
    new_tenant,
    wait_condition,
    wait_gone,
)
from tests.fixtures.operator import OperatorProcess, wait_for

pytestmark = pytest.mark.kube


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def metrics_operator(
    kube: LocalKube, crds_installed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[OperatorProcess, int]]:
    port = _free_port()
    monkeypatch.setenv("NKS_METRICS_PORT", str(port))
    process = OperatorProcess(kube, "crash-*", tmp_path / "operator.log")
    process.start()
    try:
        yield process, port
    finally:
        process.stop()


def _user_view(obj: dict[str, Any]) -> dict[str, Any]:
    """What the user (or Argo CD) owns: spec, labels and annotations not of the operator."""
    meta = obj["metadata"]
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if not k.startswith("nks.nhncloud.com/")
        or k in ("nks.nhncloud.com/paused", "nks.nhncloud.com/reconcile-requested-at")
    }
    return {"spec": obj["spec"], "labels": meta.get("labels") or {}, "annotations": annotations}


def test_lifecycle_never_changes_spec_labels_or_user_annotations(
    metrics_operator: tuple[OperatorProcess, int],
    crash_namespace: str,
    kubectl: Any,
    kube_api: Any,
    clean_simulator_thread: Any,
) -> None:
    process, port = metrics_operator
    ns = crash_namespace
    sim = Sim(clean_simulator_thread.url, new_tenant())
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    cluster = cluster_manifest("demo")
    cluster["metadata"]["labels"] = {"app.kubernetes.io/instance": "platform", "team": "a"}
    cluster["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": "0", "note": "mine"}
    apply(kubectl, ns, cluster)
    group = example("nksnodegroup.yaml")
    group["metadata"]["labels"] = {"app.kubernetes.io/instance": "platform"}
    apply(kubectl, ns, group)
    initial = {
        "demo": _user_view(get(kube_api, "nksclusters", ns, "demo") or {}),
        "demo-pool": _user_view(get(kube_api, "nksnodegroups", ns, "demo-pool") or {}),
    }
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    wait_condition(kube_api, "nksnodegroups", ns, "demo-pool", "Ready", "True", timeout=90)
    # A day-2 change by the user, then a settle: only the user's edit differs.
    kubectl(
        "patch", "nksng", "demo-pool", "-n", ns, "--type=merge", "-p", '{"spec":{"nodeCount":3}}'
    )
    initial["demo-pool"]["spec"]["nodeCount"] = 3
    wait_for(
        lambda: (
            ((get(kube_api, "nksnodegroups", ns, "demo-pool") or {}).get("status") or {}).get(
                "nodeCount"
            )
            == 3
        ),
        60,
        what="resized",
    )
    assert _user_view(get(kube_api, "nksclusters", ns, "demo") or {}) == initial["demo"]
    assert _user_view(get(kube_api, "nksnodegroups", ns, "demo-pool") or {}) == initial["demo-pool"]

    # Metrics after the lifecycle, in controller-runtime's names (the gauge follows the
    # resources' passes, so give it a moment).
    ready_gauge = 'nks_managed_resources{kind="NKSCluster",phase="Ready"} 1.0'
    text = wait_for(
        lambda: (
            (t := httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
            and ready_gauge in t
            and t
        ),
        20,
        what="managed-resources gauge",
    )
    assert (
        'controller_runtime_reconcile_total{controller="nkscluster",result="requeue_after"}' in text
    )
    assert 'nks_api_requests_total{code="202",operation="create_cluster"} 1.0' in text
    assert "nks_identity_tokens_issued_total 1.0" in text
    assert "controller_runtime_reconcile_time_seconds_bucket" in text

    kubectl("delete", "nksng", "demo-pool", "-n", ns, "--wait=false")
    kubectl("delete", "nksc", "demo", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksnodegroups", ns, "demo-pool", timeout=60)
    wait_gone(kube_api, "nksclusters", ns, "demo", timeout=60)
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'nks_api_requests_total{code="204",operation="delete_cluster"} 1.0' in text
    process.assert_alive()
