"""What the operator's log holds at the level users get by default (INFO): what the operator
did, not a line per watch event."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
from kubernetes import client

from nks_devtools.localkube import LocalKube
from tests.e2e.helpers import (
    EXAMPLES,
    Sim,
    apply,
    credentials_secret,
    example,
    new_tenant,
    wait_condition,
)
from tests.fixtures.kube import Kubectl
from tests.fixtures.operator import OperatorProcess, namespace_fixture

pytestmark = pytest.mark.kube

logs_namespace = pytest.fixture(namespace_fixture("logs"))


def test_the_default_log_level_has_no_line_per_watch_event(
    kube: LocalKube,
    kubectl: Kubectl,
    kube_api: client.ApiClient,
    crds_installed: None,
    logs_namespace: str,
    clean_simulator_thread: Any,
    tmp_path: pathlib.Path,
) -> None:
    ns = logs_namespace
    sim = Sim(clean_simulator_thread.url, new_tenant())
    operator = OperatorProcess(kube, "logs-*", tmp_path / "operator.log", ["--log-level", "INFO"])
    operator.start()
    try:
        credentials_secret(kubectl, ns, sim.url, sim.tenant)
        kubectl("apply", "-n", ns, "-f", str(EXAMPLES / "nkscluster-minimal.yaml"))
        group = example("nksnodegroup.yaml")
        apply(kubectl, ns, group)
        wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
        wait_condition(
            kube_api, "nksnodegroups", ns, group["metadata"]["name"], "Ready", "True", timeout=90
        )
        operator.assert_alive()
    finally:
        operator.stop()
    lines = operator.logs().splitlines()
    # What the operator did is there: each Event it posted is also a log line.
    assert any("nks-operator started" in line for line in lines)
    assert any("CreateRequested" in line and "demo-pool" in line for line in lines)
    assert any("KubeconfigWritten" in line for line in lines)
    # kopf's "Handler 'cluster_event' succeeded." came once per watch event (a dozen here,
    # 1,751 of 2,471 lines in the benchmark's 300 + 600 run).
    chatter = [line for line in lines if "Handler '" in line and "succeeded" in line]
    assert chatter == []
