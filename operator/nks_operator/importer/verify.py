"""Would the operator act on an imported resource? Answered by the operator's own checks
and plans (reconcile/validation.py, reconcile/observed.py, reconcile/day2.py), run on the
mapped spec and the very NKS answers it was built from.

This is what keeps the import's promise as the operator evolves: whatever the mapping
misses shows up here as a write the operator would send, and that resource is imported
paused instead of changing NKS.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nks_operator.api.cluster import NKSClusterSpec
from nks_operator.api.nodegroup import NKSNodeGroupSpec
from nks_operator.importer.inventory import ClusterRecord
from nks_operator.reconcile import observed, validation
from nks_operator.reconcile.day2 import DEFAULT_WORKER, Plan, plan_cluster, plan_worker
from nks_operator.reconcile.phase import is_in_progress


@dataclass
class Findings:
    writes: list[str] = field(default_factory=list)  # NKS operations the operator would send
    problems: list[str] = field(default_factory=list)  # InvalidSpec: nothing sent, not Ready
    blocked: list[str] = field(default_factory=list)  # reported, nothing sent

    def add_plan(self, plan: Plan) -> None:
        if plan.action is not None:
            self.writes.append(plan.action.summary)
        self.blocked += [item.message for item in plan.blocked]
        if plan.waiting:
            self.blocked.append(plan.waiting)


def settled(item: Mapping[str, Any]) -> dict[str, Any]:
    """`item` as if its running operation had ended with the values NKS reports now: the
    operator plans nothing while one runs, and this asks what it will plan afterwards."""
    status = item.get("status")
    if not is_in_progress(status):
        return dict(item)
    done = "CREATE_COMPLETE" if str(status).startswith("CREATE") else "UPDATE_COMPLETE"
    return {**item, "status": done}


def control_plane_version(details: Mapping[str, Any]) -> str | None:
    """The version a node group's upgrades are capped at, as control/ reads it."""
    return str(observed.labels_of(dict(details)).get("kube_tag") or "") or None


def cluster_findings(
    spec: NKSClusterSpec,
    name: str,
    record: ClusterRecord,
    supported: Mapping[str, bool],
    now: datetime.datetime | None = None,
) -> Findings:
    findings = Findings()
    details = settled(record.details)
    groups = {group_name: settled(group) for group_name, group in record.nodegroups.items()}
    findings.problems += validation.cluster_problems(spec, name, supported, for_create=False)
    findings.problems += observed.cluster_drift(
        spec, spec.cluster_name or name, details, groups.get(DEFAULT_WORKER)
    )
    acl = record.ip_acl if spec.api_endpoint.ip_access_control is not None else None
    findings.add_plan(plan_cluster(spec, details, groups, supported, ip_acl=acl, now=now))
    return findings


def nodegroup_findings(
    spec: NKSNodeGroupSpec,
    name: str,
    group: Mapping[str, Any],
    *,
    cluster_spec: NKSClusterSpec,
    details: Mapping[str, Any],
    supported: Mapping[str, bool],
) -> Findings:
    findings = Findings()
    current = settled(group)
    findings.problems += validation.nodegroup_problems(spec, name, supported, for_create=False)
    findings.problems += observed.nodegroup_drift(spec, spec.node_group_name or name, current)
    plan = plan_worker(
        str(current.get("name") or name),
        spec,
        current,
        version_cap=control_plane_version(details),
        target_version=spec.kubernetes_version or cluster_spec.kubernetes_version,
        supported=supported,
        desired_stopped=spec.stopped_nodes,
        remembered_stopped=(),
    )
    findings.add_plan(plan)
    return findings
