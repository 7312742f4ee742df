"""`nks-operator import` printing, against the NKS simulator over loopback (no Kubernetes:
credentials from the NKS_* environment variables)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from typing import Any

import httpx
import pytest
import yaml

from nks_devtools.simulator import Credential, SimulatorConfig, SimulatorThread
from nks_operator import cli
from nks_operator.api import NKSClusterSpec, NKSNodeGroupSpec
from nks_operator.nks.operations import Operation
from tests.importer.project import (
    WEB_LABELS,
    Project,
    StoppedProject,
    build_project,
    build_stopped_project,
    client,
    create_cluster,
)

WRITES = {op.value for op in Operation if op.is_write}


class Env:
    """One tenant of the session's simulator, and the command run in-process."""

    def __init__(self, url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
        self.url = url
        self.tenant = "t" + secrets.token_hex(6)
        self.capsys = capsys
        for key, value in {
            "NKS_TENANT_ID": self.tenant,
            "NKS_USERNAME": "importer",
            "NKS_PASSWORD": "pw-" + self.tenant,
            "NKS_URL": url,
            "NKS_IDENTITY_URL": url,
        }.items():
            monkeypatch.setenv(key, value)

    def run(self, *args: str) -> tuple[int, str, str]:
        code = cli.main(["import", "--region", "kr2", "--namespace", "team", *args])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def calls(self) -> Counter[str]:
        log = httpx.get(self.url + "/_sim/calls").json()["log"]
        return Counter(e["operation"] for e in log if e.get("tenant") == self.tenant)


@pytest.fixture
def env(clean_simulator_thread: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Env:
    return Env(clean_simulator_thread.url, monkeypatch, capsys)


@pytest.fixture
def project(env: Env) -> Project:
    return asyncio.run(build_project(env.url, env.tenant))


@pytest.fixture
def stopped(env: Env) -> StoppedProject:
    return asyncio.run(build_stopped_project(env.url, env.tenant))


def documents(text: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all(text) if d}


def test_prints_every_cluster_and_node_group_with_read_calls_only(
    env: Env, project: Project
) -> None:
    before = env.calls()
    code, out, err = env.run()
    assert code == 0, err
    docs = documents(out)
    assert sorted(docs) == ["plain", "shop", "shop-batch", "shop-legacy", "shop-web"]
    for doc in docs.values():
        model = NKSClusterSpec if doc["kind"] == "NKSCluster" else NKSNodeGroupSpec
        model.model_validate(doc["spec"])
        assert doc["metadata"]["namespace"] == "team"
        assert doc["spec"]["deletionPolicy"] == "Retain"
        assert "credentialsRef" not in doc["spec"]  # the operator's default credentials
        assert "annotations" not in doc["metadata"]
    shop = docs["shop"]["spec"]
    assert shop["clusterID"] == project.clusters["shop"]
    assert shop["serviceGateways"] == {
        "ncr": "48f4ff38-d14b-4f34-a40c-705524e6a755",
        "obs": "23c550cb-6a5b-4eaa-903a-711c13316d91",
    }
    assert shop["apiEndpoint"]["ipAccessControl"]["targets"] == [
        {"cidr": "10.0.0.0/8", "description": "office"},
        {"cidr": "203.0.113.7"},
    ]
    assert shop["defaultWorker"]["autoscaler"]["maxNodes"] == 3
    assert shop["defaultWorker"]["userScript"] == "echo default\n"
    assert docs["shop-legacy"]["spec"]["kubernetesVersion"] == "v1.28.3"
    assert docs["shop-web"]["spec"]["nodeGroupID"] == project.nodegroups["shop/web"]
    # The current edition's settings, as NKS shows them.
    assert docs["shop-web"]["spec"]["nodeLabels"] == WEB_LABELS
    assert docs["shop-web"]["spec"]["metricAutoscaler"]["scaleOut"]["maxNodes"] == 6
    assert "scaleIn" not in docs["shop-web"]["spec"]["metricAutoscaler"]
    assert docs["shop-batch"]["spec"]["autoscaler"]["podReplicas"] == 2
    assert shop["defaultWorker"]["floatingIPAutoBind"] == {
        "enabled": True,
        "subnetID": shop["network"]["subnetID"],
        "selector": "shop",
    }
    # Everything the project holds fits the specs: nothing to note, nothing paused.
    assert err.splitlines() == ["printed 2 NKSCluster(s) and 3 NKSNodeGroup(s) for namespace team"]
    made = env.calls() - before
    assert made and not (set(made) & WRITES), made


def test_a_stopped_node_is_listed_in_stopped_nodes(env: Env, stopped: StoppedProject) -> None:
    before = env.calls()
    code, out, err = env.run()
    assert code == 0, err
    pool = documents(out)["ops-pool"]
    assert pool["spec"]["stoppedNodes"] == [stopped.stopped]
    assert "annotations" not in pool["metadata"]
    assert err.splitlines() == ["printed 1 NKSCluster(s) and 1 NKSNodeGroup(s) for namespace team"]
    made = env.calls() - before
    assert made["list_servers"] == 1 and not (set(made) & WRITES), made


def test_power_states_the_compute_api_refuses_are_said_and_pause_the_group(
    env: Env, stopped: StoppedProject
) -> None:
    rule = {"operation": "list_servers", "action": "error", "status": 403}
    httpx.post(env.url + "/_sim/faults", json=rule).raise_for_status()
    code, out, err = env.run()
    assert code == 0, err
    docs = documents(out)
    assert "annotations" not in docs["ops"]["metadata"]
    assert docs["ops-pool"]["metadata"]["annotations"] == {"nks.nhncloud.com/paused": "true"}
    assert "stoppedNodes" not in docs["ops-pool"]["spec"]
    lines = err.splitlines()
    assert lines[0].startswith("warning: the nodes' power states could not be read")
    assert any(
        line.startswith("NKSNodeGroup team/ops-pool: the nodes' power states could not be read")
        and "403" in line
        for line in lines
    )
    assert lines[-1].endswith("1 paused (see above)")


def test_values_nks_answers_unreadably_are_said_per_resource(
    env: Env, stopped: StoppedProject
) -> None:
    path = f"{env.url}/_sim/clusters/{stopped.cluster}/nodegroups/pool"
    httpx.patch(path, json={"answer_labels": {"boot_volume_size": "big"}}).raise_for_status()
    code, out, err = env.run()
    assert code == 0, err
    docs = documents(out)
    assert docs["ops-pool"]["metadata"]["annotations"] == {"nks.nhncloud.com/paused": "true"}
    assert "annotations" not in docs["ops"]["metadata"]
    [line] = [line for line in err.splitlines() if "could not read" in line]
    assert line.startswith("NKSNodeGroup team/ops-pool: NKS's node group answer has values")
    assert "labels.boot_volume_size: expected a whole number" in line


def test_json_output_is_a_list(env: Env, project: Project) -> None:
    code, out, err = env.run("-o", "json", "--deletion-policy", "Delete")
    assert code == 0, err
    document = json.loads(out)
    assert document["kind"] == "List" and len(document["items"]) == 5
    assert {item["spec"]["deletionPolicy"] for item in document["items"]} == {"Delete"}


def test_clusters_named_by_name_or_uuid(env: Env, project: Project) -> None:
    code, out, err = env.run("--cluster", "plain", "--cluster", project.clusters["plain"])
    assert code == 0, err
    assert list(documents(out)) == ["plain"]


def test_an_unknown_cluster_is_an_error(env: Env, project: Project) -> None:
    code, out, err = env.run("--cluster", "nope")
    assert code == 1 and out == ""
    assert "no NKS cluster 'nope'" in err


def test_an_ambiguous_name_asks_for_the_uuid(env: Env) -> None:
    async def twice() -> None:
        async with client(env.url, env.tenant) as nks:
            await create_cluster(nks, "twin")
            await create_cluster(nks, "twin")

    asyncio.run(twice())
    code, _, err = env.run("--cluster", "twin")
    assert code == 1 and "several NKS clusters are named 'twin'" in err
    # Without --cluster both are imported, under distinct names.
    code, out, err = env.run()
    assert code == 0, err
    docs = documents(out)
    assert len(docs) == 2 and all(d["spec"]["clusterName"] == "twin" for d in docs.values())


def test_a_cluster_in_the_middle_of_an_operation_is_printed_paused(
    env: Env, project: Project
) -> None:
    shop = project.clusters["shop"]
    httpx.patch(f"{env.url}/_sim/clusters/{shop}", json={"status": "UPDATE_IN_PROGRESS"})
    code, out, err = env.run("--cluster", "shop")
    assert code == 0, err
    docs = documents(out)
    assert docs["shop"]["metadata"]["annotations"] == {"nks.nhncloud.com/paused": "true"}
    assert "NKSCluster team/shop: NKS reports UPDATE_IN_PROGRESS" in err
    assert "1 paused" in err


def test_no_credentials_is_an_error(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NKS_PASSWORD")
    code, out, err = env.run()
    assert code == 1 and out == ""
    assert "--credentials-secret" in err and "NKS_PASSWORD" in err


def test_an_unreachable_endpoint_is_an_error(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    closed = "http://127.0.0.1:9"  # discard port: nothing listens there
    monkeypatch.setenv("NKS_URL", closed)
    monkeypatch.setenv("NKS_IDENTITY_URL", closed)
    code, out, err = env.run()
    assert code == 1 and out == ""
    assert "cannot reach NKS" in err and closed in err


def test_bad_credentials_are_an_error(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    config = SimulatorConfig(delay=0.05, credentials=[Credential.parse("tenant:user:right")])
    sim = SimulatorThread(config).start()
    try:
        env = Env(sim.url, monkeypatch, capsys)
        monkeypatch.setenv("NKS_TENANT_ID", "tenant")
        monkeypatch.setenv("NKS_USERNAME", "user")
        monkeypatch.setenv("NKS_PASSWORD", "wrong")
        code, out, err = env.run()
    finally:
        sim.stop()
    assert code == 1 and out == ""
    assert "NKS rejected the credentials from environment variables" in err
    assert "wrong" not in err
