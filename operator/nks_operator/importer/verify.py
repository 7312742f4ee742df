"""Would the operator act on an imported resource? Answered by the operator's own checks
and plans (reconcile/validation.py, reconcile/observed.py, reconcile/day2.py), run on the
mapped spec and the very NKS answers it was built from, called the way control/ calls them.

This is what keeps the import's promise as the operator evolves: whatever the mapping
misses shows up here as a write the operator would send, and that resource is imported
paused instead of changing NKS.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from nks_operator.api.cluster import NKSClusterSpec
from nks_operator.api.nodegroup import NKSNodeGroupSpec
from nks_operator.importer.inventory import ClusterRecord
from nks_operator.nks.models import Cluster, NodeGroup
from nks_operator.nks.models.nodegroup import DEFAULT_WORKER
from nks_operator.nks.models.status import is_creation, is_in_progress, is_stable
from nks_operator.reconcile import addons, observed, validation
from nks_operator.reconcile.day2 import Plan, plan_cluster, plan_worker, then
from nks_operator.reconcile.nodes import Nodes

Answer = TypeVar("Answer", Cluster, NodeGroup)


@dataclass
class Findings:
    writes: list[str] = field(default_factory=list)  # NKS operations the operator would send
    problems: list[str] = field(default_factory=list)  # InvalidSpec: nothing sent, not Ready
    blocked: list[str] = field(default_factory=list)  # reported, nothing sent

    def add_plan(self, plan: Plan) -> None:
        if plan.action is not None:
            self.writes.append(plan.action.summary)
        self.blocked += [item.message for item in plan.blocked]
        if plan.waiting is not None:
            self.blocked.append(plan.waiting.message)


def settled(answer: Answer) -> Answer:
    """`answer` as if its running operation had ended with the values NKS reports now: the
    operator plans nothing while one runs, and this asks what it will plan afterwards."""
    if not is_in_progress(answer.status):
        return answer
    done = "CREATE_COMPLETE" if is_creation(answer.status) else "UPDATE_COMPLETE"
    return answer.model_copy(update={"status": done})


def cluster_findings(
    spec: NKSClusterSpec,
    name: str,
    record: ClusterRecord,
    supported: Mapping[str, bool],
    now: datetime.datetime | None = None,
) -> Findings:
    findings = Findings()
    cluster = settled(record.cluster)
    groups = {group_name: settled(group) for group_name, group in record.nodegroups.items()}
    findings.problems += validation.cluster_problems(spec, name, supported, for_create=False)
    drift = observed.cluster_drift(
        spec, spec.cluster_name or name, cluster, groups.get(DEFAULT_WORKER)
    )
    drift += observed.etcd_encryption_drift(spec, cluster)
    findings.problems += [item.message for item in drift]
    acl = record.ip_acl if spec.api_endpoint.ip_access_control is not None else None
    plan = plan_cluster(spec, cluster, groups, supported, ip_acl=acl, now=now)
    findings.add_plan(then(plan, lambda: _addon_plan(spec, record, cluster)))
    return findings


def _addon_plan(spec: NKSClusterSpec, record: ClusterRecord, cluster: Cluster) -> Plan:
    """The add-on plan on the add-ons NKS lists. The import reads no catalogue: an entry
    NKS runs as listed needs none, and one that would be installed or updated (which the
    plan cannot build without it) is reported as the write it would be."""
    if record.addons is None:
        return Plan()
    installed = {addon.name or addon.uuid: addon for addon in record.addons}
    empty = addons.Catalogue(())
    rows, _ = addons.statuses(record.addons, spec, (), empty, 1)
    view = addons.AddonView(empty, installed, rows)
    plan = addons.plan_addons(
        spec, view, kubernetes_version=cluster.kubernetes_version, generation=1
    )
    for entry in spec.addons:
        current = installed.get(entry.name)
        stable = current is None or is_stable(current.status)
        if plan.action is None and stable and addons.needs_change(entry, current):
            plan.action = addons.send_action(entry, current)
    return plan


def nodegroup_findings(
    spec: NKSNodeGroupSpec,
    name: str,
    group: NodeGroup,
    *,
    cluster_spec: NKSClusterSpec,
    cluster: Cluster,
    supported: Mapping[str, bool],
    nodes: Nodes,
) -> Findings:
    """`nodes`: the power states the mapping read. Passed whenever known - also where the
    operator would not read them (no stoppedNodes): a node the spec does not list as
    stopped but is, shows up as one the operator would start once it manages stopped
    nodes of the group."""
    findings = Findings()
    current = settled(group)
    findings.problems += validation.nodegroup_problems(
        spec, name, supported, for_create=False, cluster_subnet=cluster.fixed_subnet
    )
    drift = observed.nodegroup_drift(spec, spec.node_group_name or name, current)
    findings.problems += [item.message for item in drift]
    plan = plan_worker(
        current.name or name,
        spec,
        current,
        version_cap=cluster.kubernetes_version or None,
        target_version=spec.kubernetes_version or cluster_spec.kubernetes_version,
        supported=supported,
        desired_stopped=spec.stopped_nodes,
        nodes=None if nodes.states is None else list(nodes.states),
        nodes_problem=nodes.problem,
    )
    findings.add_plan(plan)
    return findings
