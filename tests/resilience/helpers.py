"""Shared pieces of the resilience tests: fault rules, fleet manifests, convergence checks."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from tests.e2e.helpers import (
    Sim,
    apply,
    cluster_manifest,
    condition,
    example,
    get,
    nks_call,
    secret_value,
)
from tests.fixtures.operator import wait_for

LONG = os.environ.get("NKS_RESILIENCE_LONG", "") not in ("", "0", "false", "no")
"""`NKS_RESILIENCE_LONG=1`: many more resources, kills and generated specs (minutes)."""
SEED = int(os.environ.get("NKS_RESILIENCE_SEED", "20261127"))
"""Seed of every random choice (kill moments, fault draws, generated specs)."""

OLD_VERSION, NEW_VERSION = "v1.29.3", "v1.30.3"
# Lines the operator logs when a handler or daemon dies of an unexpected exception (kopf
# then restarts it after a back-off): the in-process equivalent of a crash loop.
CRASH_LINE = re.compile(r"failed with an exception|Traceback \(most recent call last\)")


class ResilienceSim(Sim):
    """`Sim` plus faults, token expiry and the per-name view the exactly-once checks need."""

    def set_faults(self, rules: list[dict[str, Any]], seed: int) -> None:
        self.http.put("/_sim/faults", json={"seed": seed, "rules": rules}).raise_for_status()

    def clear_faults(self) -> None:
        self.http.delete("/_sim/faults").raise_for_status()

    def fault_hits(self) -> Counter[str]:
        """How often each fault fired (any tenant: the rules are simulator-wide, and a call
        refused before authentication has none)."""
        log = self.http.get("/_sim/calls").json()["log"]
        return Counter(e["fault"] for e in log if e.get("fault"))

    def expire_tokens(self) -> None:
        self.http.post("/_sim/expire-tokens", json={"tenant": self.tenant}).raise_for_status()

    def cluster_names(self) -> Counter[str]:
        return Counter(c["name"] for c in self.clusters())

    def nodegroup_names(self, cluster_name: str) -> Counter[str]:
        groups = [
            g["name"] for c in self.clusters() if c["name"] == cluster_name for g in c["nodegroups"]
        ]
        return Counter(groups)

    def kubeconfig(self, cluster_id: str) -> str:
        """NKS's /config for the cluster, read the way a console user would."""
        config = nks_call(self, lambda nks: nks.get_kubeconfig(cluster_id))
        return str(config.get_secret_value())


def mixed_faults(rate: float = 0.2, hang: float = 1.0) -> list[dict[str, Any]]:
    """Rules that make about `rate` of all NKS calls fail, in every way NKS and a network
    fail: 5xx with JSON, HTML and empty bodies, 429 + Retry-After, timeouts, answers lost
    after the change was applied, and accepted-but-dropped writes. Plus extra latency.

    Rules are tried in order and each draws on its own, so the shares are chosen to add up
    to `rate` overall. Silent drops are limited to day-2 operations and deletes: a create
    that answers with an id and creates nothing is not something NKS does. They stay rare:
    the operator resends a dropped operation once and then gives up by design (a person
    has to look when NKS drops the same request twice), so at twice this share about one
    run in fifteen saw that verdict on some resource instead of converging.
    """
    share = rate / 8
    silent = ["resize_cluster", "upgrade_nodegroup", "delete_cluster", "delete_nodegroup"]
    rules: list[dict[str, Any]] = [
        {"action": "latency", "latency": 0.3, "probability": 0.1},
        {"action": "error", "status": 503, "body": "json", "probability": share},
        {"action": "error", "status": 502, "body": "html", "probability": share},
        {"action": "error", "status": 500, "body": "empty", "probability": share},
        {"action": "throttle", "retry_after": 1, "probability": share},
        {"action": "drop_response", "drop_mode": "error", "probability": share},
        {"action": "drop_response", "drop_mode": "close", "probability": share},
        {"action": "drop_response", "drop_mode": "timeout", "hang": hang, "probability": share},
    ]
    rules += [{"operation": op, "action": "silent_drop", "probability": share} for op in silent]
    return rules


def cluster_names(count: int, prefix: str = "c") -> list[str]:
    return [f"{prefix}{index}" for index in range(count)]


def apply_fleet(
    kubectl: Any,
    ns: str,
    clusters: Iterable[str],
    groups: dict[str, str],
    version: str = OLD_VERSION,
) -> None:
    """Apply NKSClusters (1 node each) and NKSNodeGroups (`group -> cluster`)."""
    for name in clusters:
        apply(kubectl, ns, cluster_manifest(name, kubernetesVersion=version))
    for group, cluster in groups.items():
        manifest = example("nksnodegroup.yaml")
        manifest["metadata"]["name"] = group
        manifest["spec"]["clusterRef"]["name"] = cluster
        manifest["spec"]["nodeCount"] = 1
        apply(kubectl, ns, manifest)


def patch(kubectl: Any, ns: str, kind: str, name: str, body: dict[str, Any]) -> None:
    kubectl("patch", kind, name, "-n", ns, "--type=merge", "-p", json.dumps(body))


def settled(obj: dict[str, Any] | None, node_count: int, version: str) -> bool:
    """Ready, spec acted on, NKS reporting the wanted size and version, nothing running."""
    if obj is None:
        return False
    status = obj.get("status") or {}
    ready = condition(obj, "Ready")
    synced = condition(obj, "Synced")
    last = status.get("lastOperation") or {}
    return bool(
        ready
        and ready["status"] == "True"
        and synced
        and synced["status"] == "True"
        and status.get("phase") == "Ready"
        and status.get("nodeCount") == node_count
        and status.get("kubernetesVersion") == version
        and status.get("observedGeneration") == obj["metadata"].get("generation")
        and last.get("state") not in ("Requested", "InProgress")
    )


def wait_settled(
    api: Any,
    ns: str,
    plural: str,
    names: Iterable[str],
    node_count: int,
    version: str,
    timeout: float,
    what: str,
    sim: ResilienceSim | None = None,
) -> None:
    """Until every named resource is `settled`; the failure shows the laggards' status
    (and, given `sim`, what NKS holds: node groups and the latest tasks)."""
    names = list(names)

    def laggards() -> list[str]:
        return [n for n in names if not settled(get(api, plural, ns, n), node_count, version)]

    try:
        wait_for(lambda: not laggards(), timeout, interval=0.5, what=what)
    except AssertionError as error:
        detail: dict[str, Any] = {
            n: (get(api, plural, ns, n) or {}).get("status") for n in laggards()
        }
        if sim is not None:
            detail["NKS"] = [
                {
                    "name": c["name"],
                    "status": c["status"],
                    "nodegroups": {g["name"]: g["status"] for g in c["nodegroups"]},
                    "tasks": c["events"][-6:],
                }
                for c in sim.clusters()
            ]
        raise AssertionError(f"{error}\n{json.dumps(detail, indent=1)[:12000]}") from None


def nks_versions(sim: ResilienceSim, cluster: str) -> set[str]:
    """Kubernetes versions of the control plane and every node group of a cluster."""
    [found] = [c for c in sim.clusters() if c["name"] == cluster]
    return {str(g["labels"].get("kube_tag")) for g in found["nodegroups"]}


def assert_one_per_name(sim: ResilienceSim, clusters: list[str], groups: dict[str, str]) -> None:
    """Exactly one NKS cluster per NKSCluster and one node group per NKSNodeGroup."""
    names = sim.cluster_names()
    assert names == Counter(clusters), f"NKS clusters by name: {dict(names)}"
    for group, cluster in groups.items():
        count = sim.nodegroup_names(cluster)[group]
        assert count == 1, f"{count} NKS node groups named {group} in {cluster}"


def assert_kubeconfigs_current(api: Any, ns: str, sim: ResilienceSim, clusters: list[str]) -> None:
    """Each `<name>-kubeconfig` Secret holds exactly what NKS's /config serves now."""
    for name in clusters:
        obj = get(api, "nksclusters", ns, name)
        assert obj is not None
        value = secret_value(api, ns, f"{name}-kubeconfig", "value")
        assert value is not None, f"no kubeconfig Secret for {name}"
        assert value == sim.kubeconfig(obj["status"]["clusterID"]), f"stale kubeconfig: {name}"


def crash_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if CRASH_LINE.search(line)]
