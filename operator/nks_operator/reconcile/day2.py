"""Day-2 decisions: the next NKS operation that moves a running cluster towards its spec.

Pure functions of (spec, observed NKS state). One operation at a time, in a fixed order,
and only from a stable state; what NKS would refuse is reported as a `Blocked` before
any call (nks-facts.md, "Rules of the operations").
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nks_operator.api.cluster import IPAccessControl, NKSClusterSpec
from nks_operator.api.worker import Autoscaler, WorkerSpec
from nks_operator.reconcile import versions
from nks_operator.reconcile.observed import label_flag, labels_of
from nks_operator.reconcile.payloads import autoscaler_labels
from nks_operator.reconcile.phase import is_in_progress

CONTROL_PLANE = "default-master"
DEFAULT_WORKER = "default-worker"


@dataclass(frozen=True)
class Action:
    """One NKS call: `method` of the gateway with `args`; `task` is NKS's task type."""

    task: str
    method: str
    args: dict[str, Any]
    summary: str
    target: str | None = None  # node group name, CONTROL_PLANE, or None (cluster-wide)

    @property
    def is_upgrade(self) -> bool:
        return self.task == "NODEGROUP_UPGRADE"


@dataclass(frozen=True)
class Blocked:
    """A change that cannot be sent as specified; `reason` is CamelCase."""

    reason: str
    message: str


@dataclass
class Plan:
    action: Action | None = None
    blocked: list[Blocked] = field(default_factory=list)
    waiting: str | None = None  # a change that must wait for something else first

    @property
    def in_sync(self) -> bool:
        return self.action is None and not self.blocked and self.waiting is None


# -- versions -------------------------------------------------------------------------


def next_step(current: str, target: str, supported: Mapping[str, bool]) -> str | None:
    """The version to upgrade to next: `target` itself when it is one minor away, else the
    newest NKS version of the next minor. None when NKS lists none."""
    cur, tgt = versions.minor_of(current), versions.minor_of(target)
    if cur is None or tgt is None or versions.compare(target, current) <= 0:
        return None
    if tgt[0] == cur[0] and tgt[1] <= cur[1] + 1:
        return target
    candidates = [v for v in supported if versions.minor_of(v) == (cur[0], cur[1] + 1)]
    return max(candidates, key=lambda v: versions.parse(v) or (0, 0, 0)) if candidates else None


def crosses_calico_requirement(current: str, step: str) -> bool:
    """1.25 -> 1.26 needs Calico (nks-facts.md)."""
    return (versions.minor_of(current) or (0, 0)) <= (1, 25) < (versions.minor_of(step) or (0, 0))


# -- worker groups --------------------------------------------------------------------


def _nodes(group: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """Node instances, when NKS reports them (the simulator does; the guide does not)."""
    nodes = group.get("nodes")
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else None


def stopped_nodes(group: Mapping[str, Any], remembered: Sequence[str]) -> set[str]:
    nodes = _nodes(group)
    if nodes is None:
        return set(remembered)
    return {
        str(n.get("uuid"))
        for n in nodes
        if str(n.get("status", "")).upper() in ("STOPPED", "SHUTOFF")
    }


def autoscaler_differs(desired: Autoscaler | None, labels: Mapping[str, Any]) -> bool:
    wanted = autoscaler_labels(desired)
    # A group without the label (older clusters) has no autoscaler.
    if bool(label_flag(labels.get("ca_enable"))) != (wanted["ca_enable"] == "True"):
        return True
    if wanted["ca_enable"] == "False":
        return False
    for key, value in wanted.items():
        if key == "ca_enable":
            continue
        actual = labels.get(key)
        if key == "ca_scale_down_enable":
            if label_flag(actual) != (value == "True"):
                return True
        elif actual is None or str(actual) != value:
            return True
    return False


def autoscaler_body(desired: Autoscaler | None) -> dict[str, Any]:
    """POST .../autoscale body (the guide's example sends JSON booleans and numbers)."""
    if desired is None or not desired.enabled:
        return {"ca_enable": False}
    down = desired.scale_down
    return {
        "ca_enable": True,
        "ca_min_node_count": desired.min_nodes,
        "ca_max_node_count": desired.max_nodes,
        "ca_scale_down_enable": down.enabled,
        "ca_scale_down_unneeded_time": down.unneeded_time_minutes,
        "ca_scale_down_util_thresh": down.utilization_threshold_percent,
        "ca_scale_down_delay_after_add": down.delay_after_add_minutes,
    }


def plan_worker(
    name: str,
    worker: WorkerSpec,
    group: Mapping[str, Any],
    *,
    version_cap: str | None,
    target_version: str | None,
    supported: Mapping[str, bool],
    desired_stopped: Sequence[str] | None = None,
    remembered_stopped: Sequence[str] = (),
) -> Plan:
    """The next operation for one worker group (default worker or an NKSNodeGroup)."""
    plan = Plan()
    labels = labels_of(group)
    rollout = {
        "num_buffer_nodes": worker.rollout.buffer_nodes,
        "num_max_unavailable_nodes": worker.rollout.max_unavailable_nodes,
    }
    stopped = stopped_nodes(group, remembered_stopped)
    autoscaler_on_now = bool(label_flag(labels.get("ca_enable")))
    autoscaler_wanted = worker.autoscaler is not None and worker.autoscaler.enabled

    # 1. Upgrade towards the target, never past the control plane.
    current = str(labels.get("kube_tag") or group.get("version") or "")
    goal = target_version
    if goal and version_cap and versions.compare(goal, version_cap) > 0:
        goal = version_cap
    if current and goal and versions.compare(goal, current) > 0:
        step = next_step(current, goal, supported)
        if step is None:
            plan.blocked.append(
                Blocked(
                    "NoUpgradePath", f"{name}: NKS lists no version between {current} and {goal}"
                )
            )
        elif stopped:
            plan.blocked.append(
                Blocked(
                    "UpgradeBlocked",
                    f"{name}: NKS cannot upgrade a group with stopped nodes; start "
                    f"{', '.join(sorted(stopped))} first",
                )
            )
        else:
            plan.action = Action(
                "NODEGROUP_UPGRADE",
                "upgrade_nodegroup",
                {"nodegroup": name, "version": step, **rollout},
                f"upgrade {name} from {current} to {step}",
                name,
            )
            return plan

    # 2. Flavor change (rolls the nodes).
    flavor = group.get("flavor_id")
    if flavor and worker.flavor_id != flavor:
        plan.action = Action(
            "NODEGROUP_UPDATE_FLAVOR",
            "change_flavor",
            {"nodegroup": name, "flavor_id": worker.flavor_id, **rollout},
            f"change the flavor of {name} to {worker.flavor_id}",
            name,
        )
        return plan

    # 3. Autoscaler settings.
    if autoscaler_differs(worker.autoscaler, labels):
        if autoscaler_wanted and stopped:
            plan.blocked.append(
                Blocked(
                    "AutoscalerBlocked",
                    f"{name}: the autoscaler cannot be turned on while nodes are stopped "
                    f"({', '.join(sorted(stopped))})",
                )
            )
        else:
            plan.action = Action(
                "NODEGROUP_SET_CLUSTER_AUTOSCALER",
                "set_autoscaler",
                {"nodegroup": name, "config": autoscaler_body(worker.autoscaler)},
                f"{'enable' if autoscaler_wanted else 'disable'} the autoscaler of {name}",
                name,
            )
            return plan

    # 4. Resize - never against the autoscaler.
    observed_count = group.get("node_count")
    if (
        not autoscaler_wanted
        and not autoscaler_on_now
        and isinstance(observed_count, int)
        and worker.node_count != observed_count
    ):
        args: dict[str, Any] = {"nodegroup": name, "node_count": worker.node_count}
        if worker.node_count < observed_count and worker.nodes_to_remove:
            args["nodes_to_remove"] = list(worker.nodes_to_remove)
        plan.action = Action(
            "CLUSTER_RESIZE",
            "resize_cluster",
            args,
            f"resize {name} from {observed_count} to {worker.node_count} nodes",
            name,
        )
        return plan

    # 5. Stopped nodes (NKSNodeGroup only).
    if desired_stopped is not None:
        wanted = set(desired_stopped)
        nodes = _nodes(group)
        known = None if nodes is None else {str(n.get("uuid")) for n in nodes}
        to_stop = sorted(wanted - stopped)
        to_start = sorted(stopped - wanted)
        if to_stop:
            unknown = [n for n in to_stop if known is not None and n not in known]
            if unknown:
                plan.blocked.append(
                    Blocked(
                        "UnknownNodes",
                        f"{name}: no such node(s) in the group: {', '.join(unknown)}",
                    )
                )
            elif autoscaler_wanted or autoscaler_on_now:
                plan.blocked.append(
                    Blocked(
                        "StopNodesBlocked",
                        f"{name}: nodes cannot be stopped while the autoscaler is on",
                    )
                )
            elif (known is not None and wanted >= known) or (
                isinstance(observed_count, int) and len(wanted) >= observed_count
            ):
                plan.blocked.append(
                    Blocked("StopNodesBlocked", f"{name}: not every node of a group may be stopped")
                )
            else:
                plan.action = Action(
                    "NODEGROUP_NODE_ACTION_NODE_STOP",
                    "stop_nodes",
                    {"nodegroup": name, "node_ids": to_stop},
                    f"stop node(s) {', '.join(to_stop)} of {name}",
                    name,
                )
                return plan
        if to_start and plan.action is None:
            plan.action = Action(
                "NODEGROUP_NODE_ACTION_NODE_START",
                "start_nodes",
                {"nodegroup": name, "node_ids": to_start},
                f"start node(s) {', '.join(to_start)} of {name}",
                name,
            )
            return plan

    # 6. User script.
    if worker.user_script is not None and worker.user_script != (
        labels.get("user_script_v2") or ""
    ):
        plan.action = Action(
            "NODEGROUP_USERSCRIPT_UPDATE",
            "update_user_script",
            {"nodegroup": name, "contents": worker.user_script},
            f"change the user script of {name}",
            name,
        )
    return plan


# -- the cluster ----------------------------------------------------------------------


def _acl_in_sync(desired: IPAccessControl, observed: Mapping[str, Any] | None) -> bool:
    if observed is None:
        return True  # not read yet
    enabled = bool(label_flag(observed.get("enable")))
    if enabled != desired.enabled:
        return False
    if not desired.enabled:
        return True
    if str(observed.get("action") or "").upper() != desired.action:
        return False
    targets = observed.get("ipacl_targets") or []
    have = {(str(t.get("cidr_address")), t.get("description") or None) for t in targets}
    want = {(t.cidr, t.description or None) for t in desired.targets}
    return have == want


def parse_expiry(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    for candidate in (text, text.replace(" ", "T")):
        try:
            parsed = datetime.datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
    return None


def plan_cluster(
    spec: NKSClusterSpec,
    details: Mapping[str, Any],
    nodegroups: Mapping[str, Mapping[str, Any]],
    supported: Mapping[str, bool],
    *,
    ip_acl: Mapping[str, Any] | None = None,
    renew_requested: bool = False,
    now: datetime.datetime | None = None,
) -> Plan:
    """The next cluster-level operation (control plane, default worker, cluster settings)."""
    now = now or datetime.datetime.now(datetime.UTC)
    plan = Plan()
    labels = labels_of(details)
    cp_version = str(labels.get("kube_tag") or details.get("coe_version") or "")
    workers = {n: g for n, g in nodegroups.items() if n != CONTROL_PLANE}
    if is_in_progress(details.get("status")) or any(
        is_in_progress(g.get("status")) for g in workers.values()
    ):
        plan.waiting = "an operation is running in NKS"
        return plan

    # 1. CNI: Flannel -> Calico.
    cni = str(labels.get("cni_driver") or "").lower()
    if spec.network.cni == "calico" and cni == "flannel":
        args: dict[str, Any] = {
            "cni": "calico",
            "pod_cidr": spec.network.pods_network_cidr or "10.100.0.0/16",
        }
        if spec.network.pods_network_subnet is not None:
            args["pod_subnet"] = spec.network.pods_network_subnet
        worker = spec.default_worker.rollout
        args["num_buffer_nodes"] = worker.buffer_nodes
        args["num_max_unavailable_nodes"] = worker.max_unavailable_nodes
        plan.action = Action(
            "CLUSTER_CNI_UPDATE", "update_cni", args, "change the CNI from Flannel to Calico"
        )
        return plan

    # 2. Control plane upgrade, one minor version at a time, workers first caught up.
    if cp_version and versions.compare(spec.kubernetes_version, cp_version) > 0:
        behind = sorted(
            n
            for n, g in workers.items()
            if versions.compare(str(labels_of(g).get("kube_tag") or cp_version), cp_version) < 0
        )
        step = next_step(cp_version, spec.kubernetes_version, supported)
        if step is None:
            plan.blocked.append(
                Blocked(
                    "NoUpgradePath",
                    f"NKS lists no version between {cp_version} and {spec.kubernetes_version}",
                )
            )
        elif behind:
            if DEFAULT_WORKER not in behind:
                plan.waiting = (
                    f"waiting for node group(s) {', '.join(behind)} to reach {cp_version}"
                )
        elif crosses_calico_requirement(cp_version, step) and cni == "flannel":
            plan.blocked.append(
                Blocked(
                    "UpgradeBlocked",
                    f"upgrading to {step} needs Calico: set spec.network.cni: calico",
                )
            )
        else:
            plan.action = Action(
                "NODEGROUP_UPGRADE",
                "upgrade_nodegroup",
                {"nodegroup": CONTROL_PLANE, "version": step},
                f"upgrade the control plane from {cp_version} to {step}",
                CONTROL_PLANE,
            )
            return plan

    # 3. The default worker group follows the control plane.
    default = workers.get(DEFAULT_WORKER)
    if default is not None:
        worker_plan = plan_worker(
            DEFAULT_WORKER,
            spec.default_worker,
            default,
            version_cap=cp_version or None,
            target_version=cp_version or None,
            supported=supported,
        )
        plan.blocked += worker_plan.blocked
        if worker_plan.action is not None:
            plan.action = worker_plan.action
            return plan

    # 4. Service gateways.
    if spec.service_gateways is not None:
        changes = {}
        if spec.service_gateways.ncr and spec.service_gateways.ncr != labels.get("ncr_sgw"):
            changes["ncr_sgw"] = spec.service_gateways.ncr
        if spec.service_gateways.obs and spec.service_gateways.obs != labels.get("obs_sgw"):
            changes["obs_sgw"] = spec.service_gateways.obs
        if changes:
            plan.action = Action(
                "CLUSTER_UPDATE_SGW",
                "update_service_gateway",
                changes,
                "change the service gateway(s) " + ", ".join(changes),
            )
            return plan

    # 5. API endpoint IP access control (drift corrected).
    acl = spec.api_endpoint.ip_access_control
    if acl is not None and not _acl_in_sync(acl, ip_acl):
        body: dict[str, Any] = {"enable": acl.enabled}
        if acl.enabled:
            body["action"] = acl.action
            body["targets"] = [
                {
                    "cidr_address": t.cidr,
                    **({"description": t.description} if t.description else {}),
                }
                for t in acl.targets
            ]
        plan.action = Action(
            "CLUSTER_UPDATE_API_EP_IPACL",
            "set_ip_acl",
            body,
            f"{'apply' if acl.enabled else 'disable'} IP access control of the API endpoint",
        )
        return plan

    # 6. Certificate renewal: on request, or automatically before expiry.
    expiry = parse_expiry(labels.get("certificate_expiry"))
    due = (
        spec.certificate.auto_renew
        and expiry is not None
        and expiry - datetime.timedelta(days=spec.certificate.renew_before_days) <= now
    )
    if renew_requested or due:
        why = "requested" if renew_requested else f"expires {labels.get('certificate_expiry')}"
        plan.action = Action(
            "CLUSTER_RENEW_CERTIFICATE",
            "renew_certificate",
            {"term_of_validity": spec.certificate.validity_years},
            f"renew the cluster certificate ({why}) for {spec.certificate.validity_years} year(s)",
        )
    return plan
