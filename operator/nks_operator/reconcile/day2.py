"""Day-2 decisions: the next NKS operation that moves a running cluster towards its spec.

Pure functions of (spec, observed NKS state). One operation at a time, in a fixed order,
and only from a stable state; what NKS would refuse is reported as `Blocked` before any
call (docs/nks-api-notes.md). An `Action` carries the client
method that sends it, so nothing downstream looks a method up by name.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from nks_operator.api.cluster import IPAccessControl, NKSClusterSpec
from nks_operator.api.operations import OperationType
from nks_operator.api.status import SentSetting
from nks_operator.api.worker import Autoscaler, WorkerSpec
from nks_operator.nks import NKSClient
from nks_operator.nks.models import IPACL, Cluster, IPACLTarget, NodeGroup
from nks_operator.nks.models.nodegroup import DEFAULT_MASTER, DEFAULT_WORKER
from nks_operator.nks.models.status import is_in_progress
from nks_operator.nks.userscript import user_script_matches
from nks_operator.reconcile import versions, worker_settings
from nks_operator.reconcile.nodes import NodeState
from nks_operator.reconcile.observed import metric_autoscaler_on
from nks_operator.reconcile.operation_state import Confirmation
from nks_operator.reconcile.reasons import Reason

CONTROL_PLANE = DEFAULT_MASTER
# Operations NKS records no task for: confirmed by reading the state back.
STATE_CONFIRMED = frozenset(o for o in OperationType if o.confirmed_by_state)

Request = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Action:
    """One NKS call: `await request(client, cluster_id, **args)`.

    `operation` is what `status.lastOperation.type` records: the NKS task type for the
    operations NKS records a task for, else the API operation (confirmed by reading the
    state back, `confirmation == "state"`).
    """

    operation: OperationType
    request: Request
    args: Mapping[str, Any]
    summary: str
    target: str | None = None  # node group name, CONTROL_PLANE, or None (cluster-wide)
    confirmation: Confirmation = "task"

    @property
    def is_upgrade(self) -> bool:
        return self.operation == OperationType.NODEGROUP_UPGRADE

    async def send(self, client: NKSClient, cluster_id: str) -> None:
        await self.request(client, cluster_id, **self.args)


@dataclass(frozen=True)
class Blocked:
    """A change that cannot be sent as specified."""

    reason: Reason
    message: str


@dataclass(frozen=True)
class Waiting:
    """A change that must wait for something else first (not a problem)."""

    message: str
    # Something in NKS is running: the wait ends by itself (the poller sees it end).
    nks_busy: bool = False


PlanState = Literal["send", "blocked", "waiting", "in_sync"]

NKS_BUSY = Waiting("an operation is running in NKS", nks_busy=True)


@dataclass
class Plan:
    action: Action | None = None
    blocked: list[Blocked] = field(default_factory=list)
    waiting: Waiting | None = None

    @property
    def state(self) -> PlanState:
        if self.action is not None:
            return "send"
        if self.blocked:
            return "blocked"
        if self.waiting is not None:
            return "waiting"
        return "in_sync"

    def wants(self, operation: OperationType | str, target: str | None) -> bool:
        """Whether this plan would send `operation` to `target` (again)."""
        return (
            self.action is not None
            and self.action.operation == operation
            and self.action.target == target
        )


def then(plan: Plan, later: Callable[[], Plan]) -> Plan:
    """`plan`, or - when it sends nothing and NKS runs nothing - `later`'s operation: the
    cluster settings planned after every other cluster operation (control-plane logs,
    add-ons). What either reports (blocked, waiting) is kept."""
    if plan.action is not None or (plan.waiting is not None and plan.waiting.nks_busy):
        return plan
    after = later()
    return Plan(after.action, [*plan.blocked, *after.blocked], plan.waiting or after.waiting)


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
    """1.25 -> 1.26 needs Calico (docs/nks-api-notes.md)."""
    return (versions.minor_of(current) or (0, 0)) <= (1, 25) < (versions.minor_of(step) or (0, 0))


# -- worker groups --------------------------------------------------------------------


def autoscaler_differs(desired: Autoscaler | None, group: NodeGroup) -> bool:
    """Whether NKS's `ca_*` labels differ from the spec; an unreadable label is unknown and
    never a difference by itself."""
    labels = group.labels
    wanted = desired is not None and desired.enabled
    if labels.ca_enable is None:
        return wanted  # a group without the label (older clusters) has no autoscaler
    if labels.ca_enable != wanted:
        return True
    if not wanted or desired is None:
        return False
    down = desired.scale_down
    pairs: list[tuple[Any, Any]] = [
        (labels.ca_min_node_count, desired.min_nodes),
        (labels.ca_max_node_count, desired.max_nodes),
        (labels.ca_scale_down_enable, down.enabled),
        (labels.ca_scale_down_unneeded_time, down.unneeded_time_minutes),
        (labels.ca_scale_down_util_thresh, down.utilization_threshold_percent),
        (labels.ca_scale_down_delay_after_add, down.delay_after_add_minutes),
    ]
    if desired.pod_replicas is not None:
        pairs.append((labels.ca_pod_replicas, desired.pod_replicas))
    return any(actual is not None and actual != value for actual, value in pairs)


def autoscaler_body(desired: Autoscaler | None) -> dict[str, Any]:
    """POST .../autoscale body (the guide's example sends JSON booleans and numbers)."""
    if desired is None or not desired.enabled:
        return {"ca_enable": False}
    down = desired.scale_down
    body: dict[str, Any] = {
        "ca_enable": True,
        "ca_min_node_count": desired.min_nodes,
        "ca_max_node_count": desired.max_nodes,
        "ca_scale_down_enable": down.enabled,
        "ca_scale_down_unneeded_time": down.unneeded_time_minutes,
        "ca_scale_down_util_thresh": down.utilization_threshold_percent,
        "ca_scale_down_delay_after_add": down.delay_after_add_minutes,
    }
    if desired.pod_replicas is not None:
        # In the body of the current edition's POST .../autoscale (a String in its table,
        # sent as a number like the other fields).
        body["ca_pod_replicas"] = desired.pod_replicas
    return body


async def _set_autoscaler(client: NKSClient, cluster_id: str, **args: Any) -> None:
    from nks_operator.nks.models import AutoscalerUpdate

    await client.set_autoscaler(
        cluster_id, args["nodegroup"], AutoscalerUpdate.model_validate(args["config"])
    )


async def _set_metric_autoscaler(client: NKSClient, cluster_id: str, **args: Any) -> None:
    from nks_operator.nks.models import ScaleInPolicy, ScaleOutPolicy

    await client.set_metric_autoscaler(
        cluster_id,
        args["nodegroup"],
        scale_out=ScaleOutPolicy.model_validate(args["scale_out"]),
        scale_in=ScaleInPolicy.model_validate(args["scale_in"]),
    )


def _setting_action(name: str, key: str, wanted: Any) -> Action:
    operation = worker_settings.OPERATIONS[key]
    if key == worker_settings.NODE_LABELS:
        summary = f"set the node labels of {name} ({len(wanted)})"
        return Action(
            operation,
            NKSClient.set_node_labels,
            {"nodegroup": name, "labels": wanted},
            summary,
            name,
        )
    if key == worker_settings.FLOATING_IP:
        verb = "enable" if wanted["enable"] else "disable"
        summary = f"{verb} floating IP auto-bind of {name}"
        return Action(
            operation, NKSClient.set_fip_auto_bind, {"nodegroup": name, **wanted}, summary, name
        )
    verb = "set" if any(p["enable"] for p in wanted.values()) else "disable"
    args = {
        "nodegroup": name,
        "scale_out": wanted["mba_scale_out"],
        "scale_in": wanted["mba_scale_in"],
    }
    return Action(
        operation, _set_metric_autoscaler, args, f"{verb} the metric autoscaler of {name}", name
    )


def _plan_setting(
    name: str,
    key: str,
    worker: WorkerSpec,
    group: NodeGroup,
    sent_settings: Mapping[str, SentSetting] | None,
) -> Plan:
    """One of the current edition's group settings (reconcile/worker_settings.py)."""
    plan = Plan()
    wanted = worker_settings.wanted_values(worker).get(key)
    if wanted is None:
        return plan  # not managed
    found = worker_settings.verdict(key, wanted, group, sent_settings)
    if found == "send":
        plan.action = _setting_action(name, key, wanted)
    elif found == "not_applied":
        plan.blocked.append(
            Blocked(
                Reason.SETTING_NOT_APPLIED,
                f"{name}: NKS completed the {key} change but still shows another value; it "
                "is not sent again until the spec changes",
            )
        )
    return plan


def user_script_matches_spec(desired: str | None, group: NodeGroup) -> bool | None:
    """Whether the group runs the user script the spec asks for (True with no script in
    the spec: not managed); None when the answer cannot tell (absent or undecodable)."""
    if desired is None:
        return True
    return user_script_matches(desired, group.labels.user_script_v2)


def first_action(steps: Iterable[Callable[[], Plan]]) -> Plan:
    """The operation of the first step that has one, in order; what every step up to it
    reports (blocked, waiting) is kept. Later steps are not even looked at."""
    plan = Plan()
    for step in steps:
        found = step()
        plan.blocked += found.blocked
        plan.waiting = plan.waiting or found.waiting
        if found.action is not None:
            plan.action = found.action
            return plan
    return plan


@dataclass(frozen=True)
class _Group:
    """What the worker-group steps read: the spec of one group and what NKS reports of it."""

    name: str
    worker: WorkerSpec
    group: NodeGroup
    stopped: frozenset[str]  # the nodes stopped now (or, unknown, those the operator stopped)
    sent_settings: Mapping[str, SentSetting] | None

    @property
    def rollout(self) -> dict[str, int]:
        return {
            "num_buffer_nodes": self.worker.rollout.buffer_nodes,
            "num_max_unavailable_nodes": self.worker.rollout.max_unavailable_nodes,
        }

    @property
    def autoscaler_on(self) -> bool:
        return bool(self.group.labels.ca_enable)

    @property
    def autoscaler_wanted(self) -> bool:
        return self.worker.autoscaler is not None and self.worker.autoscaler.enabled

    @property
    def metric_on(self) -> bool:
        return metric_autoscaler_on(self.group)

    @property
    def metric_wanted(self) -> bool:
        metric = self.worker.metric_autoscaler
        return metric is not None and metric.enabled

    @property
    def any_autoscaler(self) -> bool:
        """Either autoscaler is on, or the spec turns one on."""
        return self.autoscaler_on or self.autoscaler_wanted or self.metric_on or self.metric_wanted

    def stopped_list(self) -> str:
        return ", ".join(sorted(self.stopped))

    def setting(self, key: str) -> Plan:
        return _plan_setting(self.name, key, self.worker, self.group, self.sent_settings)


def plan_worker(
    name: str,
    worker: WorkerSpec,
    group: NodeGroup,
    *,
    version_cap: str | None,
    target_version: str | None,
    supported: Mapping[str, bool],
    desired_stopped: Sequence[str] | None = None,
    nodes: Sequence[NodeState] | None = None,
    remembered_stopped: Sequence[str] = (),
    user_script_sent_for: int | None = None,
    generation: int | None = None,
    nodes_problem: str | None = None,
    sent_settings: Mapping[str, SentSetting] | None = None,
) -> Plan:
    """The next operation for one worker group (default worker or an NKSNodeGroup).

    `nodes`: the group's instances from the compute API, None when unknown (and
    `nodes_problem` says why);
    `remembered_stopped`: what the operator stopped itself (all it knows without `nodes`).
    `user_script_sent_for`: the generation a user script change was last sent for.
    `sent_settings`: `status.sentSettings`, what was sent of the group settings.
    """
    stopped = set(remembered_stopped) if nodes is None else {n.id for n in nodes if n.stopped}
    g = _Group(name, worker, group, frozenset(stopped), sent_settings)

    def stopped_nodes() -> Plan:
        if desired_stopped is None:
            return Plan()  # NKSNodeGroup only
        return _plan_stopped(
            name,
            set(desired_stopped),
            set(stopped),
            nodes,
            group.node_count,
            g.any_autoscaler,
            remembered_stopped,
            nodes_problem,
        )

    return first_action(
        (
            # Settings only nodes created afterwards take (node labels, floating IP
            # auto-bind): before the operations that create nodes (an upgrade or a flavor
            # change replaces them, a resize adds some), so those nodes get them.
            lambda: g.setting(worker_settings.NODE_LABELS),
            lambda: g.setting(worker_settings.FLOATING_IP),
            lambda: _plan_group_upgrade(g, version_cap, target_version, supported),
            lambda: _plan_flavor(g),
            lambda: _plan_metric_autoscaler(g),
            lambda: _plan_autoscaler(g),
            lambda: _plan_resize(g),
            stopped_nodes,
            lambda: _plan_user_script(g, user_script_sent_for, generation),
        )
    )


def _plan_group_upgrade(
    g: _Group, version_cap: str | None, target_version: str | None, supported: Mapping[str, bool]
) -> Plan:
    """Upgrade towards the target, never past the control plane."""
    plan = Plan()
    current = g.group.labels.kube_tag or g.group.version or ""
    goal = target_version
    if goal and version_cap and versions.compare(goal, version_cap) > 0:
        goal = version_cap
    if not (current and goal and versions.compare(goal, current) > 0):
        return plan
    step = next_step(current, goal, supported)
    if step is None:
        plan.blocked.append(
            Blocked(
                Reason.NO_UPGRADE_PATH,
                f"{g.name}: NKS lists no version between {current} and {goal}",
            )
        )
    elif g.stopped:
        plan.blocked.append(
            Blocked(
                Reason.UPGRADE_BLOCKED,
                f"{g.name}: NKS cannot upgrade a group with stopped nodes; start "
                f"{g.stopped_list()} first",
            )
        )
    else:
        plan.action = Action(
            OperationType.NODEGROUP_UPGRADE,
            NKSClient.upgrade_nodegroup,
            {"nodegroup": g.name, "version": step, **g.rollout},
            f"upgrade {g.name} from {current} to {step}",
            g.name,
        )
    return plan


def _plan_flavor(g: _Group) -> Plan:
    """A flavor change (rolls the nodes)."""
    if not g.group.flavor_id or g.worker.flavor_id == g.group.flavor_id:
        return Plan()
    return Plan(
        Action(
            OperationType.NODEGROUP_UPDATE_FLAVOR,
            NKSClient.change_flavor,
            {"nodegroup": g.name, "flavor_id": g.worker.flavor_id, **g.rollout},
            f"change the flavor of {g.name} to {g.worker.flavor_id}",
            g.name,
        )
    )


def _plan_metric_autoscaler(g: _Group) -> Plan:
    """The metric-based autoscaler, before the cluster autoscaler. NKS runs one per group
    (and the spec never asks for both): the one going off goes first - a metric policy is
    turned on only once the cluster autoscaler is off, by the step after this."""
    if g.metric_wanted and g.autoscaler_on:
        return Plan()
    step = g.setting(worker_settings.METRIC_AUTOSCALER)
    if step.action is not None and g.metric_wanted and g.stopped:
        step.action = None
        step.blocked.append(
            Blocked(
                Reason.AUTOSCALER_BLOCKED,
                f"{g.name}: the metric autoscaler cannot be turned on while nodes are "
                f"stopped ({g.stopped_list()})",
            )
        )
    return step


def _plan_autoscaler(g: _Group) -> Plan:
    """The cluster autoscaler's settings."""
    if not autoscaler_differs(g.worker.autoscaler, g.group):
        return Plan()
    if g.autoscaler_wanted and g.stopped:
        blocked = Blocked(
            Reason.AUTOSCALER_BLOCKED,
            f"{g.name}: the autoscaler cannot be turned on while nodes are stopped "
            f"({g.stopped_list()})",
        )
        return Plan(blocked=[blocked])
    return Plan(
        Action(
            OperationType.NODEGROUP_SET_CLUSTER_AUTOSCALER,
            _set_autoscaler,
            {"nodegroup": g.name, "config": autoscaler_body(g.worker.autoscaler)},
            f"{'enable' if g.autoscaler_wanted else 'disable'} the autoscaler of {g.name}",
            g.name,
        )
    )


def _plan_resize(g: _Group) -> Plan:
    """A resize - never against either autoscaler, never on an unknown count."""
    observed = g.group.node_count
    wanted = g.worker.node_count
    if g.any_autoscaler or observed is None or wanted == observed:
        return Plan()
    args: dict[str, Any] = {"nodegroup": g.name, "node_count": wanted}
    if wanted < observed and g.worker.nodes_to_remove:
        args["nodes_to_remove"] = list(g.worker.nodes_to_remove)
    return Plan(
        Action(
            OperationType.CLUSTER_RESIZE,
            NKSClient.resize_cluster,
            args,
            f"resize {g.name} from {observed} to {wanted} nodes",
            g.name,
        )
    )


def _plan_user_script(g: _Group, sent_for: int | None, generation: int | None) -> Plan:
    """The user script: sent at most once per spec change, never in a loop. An answer that
    cannot tell is sent once, then trusted."""
    script = user_script_matches_spec(g.worker.user_script, g.group)
    sent_already = sent_for is not None and sent_for == generation
    if script is True or (script is None and sent_already):
        return Plan()
    if sent_already:
        blocked = Blocked(
            Reason.USER_SCRIPT_NOT_APPLIED,
            f"{g.name}: NKS still reports another user script than the spec after the "
            "change was sent; it is not sent again until the spec changes",
        )
        return Plan(blocked=[blocked])
    return Plan(
        Action(
            OperationType.NODEGROUP_USERSCRIPT_UPDATE,
            NKSClient.update_user_script,
            {"nodegroup": g.name, "script": g.worker.user_script},
            f"change the user script of {g.name}",
            g.name,
        )
    )


def _plan_stopped(
    name: str,
    wanted: set[str],
    stopped: set[str],
    nodes: Sequence[NodeState] | None,
    observed_count: int | None,
    autoscaler_on: bool,
    remembered: Sequence[str],
    nodes_problem: str | None,
) -> Plan:
    plan = Plan()
    if nodes is None and (wanted or remembered):
        why = f" ({nodes_problem})" if nodes_problem else ""
        plan.blocked.append(
            Blocked(
                Reason.NODE_STATE_UNKNOWN,
                f"{name}: the nodes' power states cannot be read from the compute API{why}, "
                "so nodes are neither stopped nor started",
            )
        )
        return plan
    known = None if nodes is None else {n.id for n in nodes}
    to_stop = sorted(wanted - stopped)
    to_start = sorted(stopped - wanted)
    if to_stop:
        unknown = [n for n in to_stop if known is not None and n not in known]
        if unknown:
            plan.blocked.append(
                Blocked(
                    Reason.UNKNOWN_NODES,
                    f"{name}: no such node(s) in the group: {', '.join(unknown)}",
                )
            )
        elif autoscaler_on:
            plan.blocked.append(
                Blocked(
                    Reason.STOP_NODES_BLOCKED,
                    f"{name}: nodes cannot be stopped while the autoscaler is on",
                )
            )
        elif (known is not None and wanted >= known) or (
            observed_count is not None and len(wanted) >= observed_count
        ):
            plan.blocked.append(
                Blocked(
                    Reason.STOP_NODES_BLOCKED, f"{name}: not every node of a group may be stopped"
                )
            )
        else:
            plan.action = Action(
                OperationType.NODEGROUP_NODE_ACTION_NODE_STOP,
                NKSClient.stop_nodes,
                {"nodegroup": name, "node_ids": to_stop},
                f"stop node(s) {', '.join(to_stop)} of {name}",
                name,
            )
            return plan
    if to_start:
        plan.action = Action(
            OperationType.NODEGROUP_NODE_ACTION_NODE_START,
            NKSClient.start_nodes,
            {"nodegroup": name, "node_ids": to_start},
            f"start node(s) {', '.join(to_start)} of {name}",
            name,
        )
    return plan


# -- the cluster ----------------------------------------------------------------------


def _same_network(first: str, second: str) -> bool:
    try:
        return ipaddress.ip_network(first, strict=False).overlaps(
            ipaddress.ip_network(second, strict=False)
        )
    except ValueError:
        return first == second


def acl_in_sync(desired: IPAccessControl, observed: IPACL | None) -> bool:
    """Whether NKS's IP ACL is what the spec asks; not read yet or unreadable (a field
    None) is unknown and counts as in sync: nothing is sent on a guess."""
    if observed is None or observed.enable is None:
        return True
    if observed.enable != desired.enabled:
        return False
    if not desired.enabled:
        return True
    if (observed.action or "").upper() != desired.action:
        return False
    if observed.ipacl_targets is None:
        return True
    have = {(t.cidr_address, t.description or None) for t in observed.ipacl_targets}
    want = {(t.cidr, t.description or None) for t in desired.targets}
    return have == want


async def _set_ip_acl(client: NKSClient, cluster_id: str, **args: Any) -> None:
    targets = args.get("targets")
    await client.set_ip_acl(
        cluster_id,
        enable=args["enable"],
        action=args.get("action"),
        targets=None if targets is None else [IPACLTarget(**t) for t in targets],
    )


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
    cluster: Cluster,
    nodegroups: Mapping[str, NodeGroup],
    supported: Mapping[str, bool],
    *,
    ip_acl: IPACL | None = None,
    renew_requested: bool = False,
    now: datetime.datetime | None = None,
    user_script_sent_for: int | None = None,
    generation: int | None = None,
    sent_settings: Mapping[str, SentSetting] | None = None,
) -> Plan:
    """The next cluster-level operation (control plane, default worker, cluster settings).

    `nodegroups`: every node group NKS lists, by name (the control plane is skipped).
    """
    now = now or datetime.datetime.now(datetime.UTC)
    workers = {
        n: g
        for n, g in nodegroups.items()
        if n != CONTROL_PLANE and (g.role or "worker") != "master"
    }
    default = workers.get(DEFAULT_WORKER)
    if is_in_progress(cluster.status) or (default is not None and is_in_progress(default.status)):
        return Plan(waiting=NKS_BUSY)
    return hold_while_busy(
        _plan_idle_cluster(
            spec,
            cluster,
            workers,
            supported,
            ip_acl=ip_acl,
            renew_requested=renew_requested,
            now=now,
            user_script_sent_for=user_script_sent_for,
            generation=generation,
            sent_settings=sent_settings,
        ),
        busy_elsewhere(nodegroups),
    )


def busy_elsewhere(nodegroups: Mapping[str, NodeGroup]) -> bool:
    """Whether NKS runs an operation on one of the cluster's other node groups (its
    NKSNodeGroup's affair, not the NKSCluster's)."""
    return any(
        is_in_progress(g.status)
        for n, g in nodegroups.items()
        if n not in (CONTROL_PLANE, DEFAULT_WORKER) and (g.role or "worker") != "master"
    )


def hold_while_busy(plan: Plan, busy: bool) -> Plan:
    """Nothing is sent while NKS runs an operation on the cluster: a plan with something
    to do waits for it to end. A cluster with nothing to do is in sync meanwhile - an
    NKSNodeGroup being created does not make its NKSCluster wait (nor write its status
    twice) - so this is applied to the whole plan, settings and add-ons included."""
    if busy and plan.state != "in_sync":
        return Plan(waiting=NKS_BUSY)
    return plan


def _plan_idle_cluster(
    spec: NKSClusterSpec,
    cluster: Cluster,
    workers: Mapping[str, NodeGroup],
    supported: Mapping[str, bool],
    *,
    ip_acl: IPACL | None,
    renew_requested: bool,
    now: datetime.datetime,
    user_script_sent_for: int | None,
    generation: int | None,
    sent_settings: Mapping[str, SentSetting] | None,
) -> Plan:
    cp_version = cluster.kubernetes_version or ""
    cni = _plan_cni(spec, cluster)
    if cni.action is not None or cni.blocked:
        return cni  # nothing else goes before the CNI change

    def default_worker() -> Plan:
        default = workers.get(DEFAULT_WORKER)
        if default is None:
            return Plan()
        # The default worker group follows the control plane.
        return plan_worker(
            DEFAULT_WORKER,
            spec.default_worker,
            default,
            version_cap=cp_version or None,
            target_version=cp_version or None,
            supported=supported,
            user_script_sent_for=user_script_sent_for,
            generation=generation,
            sent_settings=sent_settings,
        )

    return first_action(
        (
            lambda: _plan_control_plane(spec, cluster, workers, supported),
            default_worker,
            lambda: _plan_service_gateways(spec, cluster),
            lambda: _plan_ip_acl(spec, ip_acl),
            lambda: _plan_certificate(spec, cluster, renew_requested, now),
        )
    )


def _plan_cni(spec: NKSClusterSpec, cluster: Cluster) -> Plan:
    """CNI: Flannel -> Calico, into a pod network of the spec's that is not the one in use
    (NKS forbids reusing it: G:648; no default could be safe). The guide's current edition
    has no CNI change call any more: NKS then refuses it (OperationRefused)."""
    labels = cluster.labels
    if spec.network.cni != "calico" or (labels.cni_driver or "").lower() != "flannel":
        return Plan()
    new_cidr = spec.network.pods_network_cidr
    in_use = labels.pods_network_cidr
    if new_cidr is None or (in_use is not None and _same_network(new_cidr, in_use)):
        blocked = Blocked(
            Reason.CNI_CHANGE_BLOCKED,
            "changing the CNI to Calico needs a new pod network: set "
            "spec.network.podsNetworkCIDR to a CIDR other than the one in use"
            + (f" ({in_use})" if in_use else ""),
        )
        return Plan(blocked=[blocked])
    args: dict[str, Any] = {"cni": "calico", "pod_cidr": new_cidr}
    if spec.network.pods_network_subnet is not None:
        args["pod_subnet"] = spec.network.pods_network_subnet
    rollout = spec.default_worker.rollout
    args["num_buffer_nodes"] = rollout.buffer_nodes
    args["num_max_unavailable_nodes"] = rollout.max_unavailable_nodes
    return Plan(
        Action(
            OperationType.CLUSTER_CNI_UPDATE,
            NKSClient.update_cni,
            args,
            "change the CNI from Flannel to Calico",
        )
    )


def _plan_control_plane(
    spec: NKSClusterSpec,
    cluster: Cluster,
    workers: Mapping[str, NodeGroup],
    supported: Mapping[str, bool],
) -> Plan:
    """The control plane's upgrade, one minor version at a time, the workers caught up
    first."""
    cp_version = cluster.kubernetes_version or ""
    if not cp_version or versions.compare(spec.kubernetes_version, cp_version) <= 0:
        return Plan()
    behind = sorted(
        n
        for n, g in workers.items()
        if versions.compare(g.labels.kube_tag or cp_version, cp_version) < 0
    )
    step = next_step(cp_version, spec.kubernetes_version, supported)
    if step is None:
        message = f"NKS lists no version between {cp_version} and {spec.kubernetes_version}"
        return Plan(blocked=[Blocked(Reason.NO_UPGRADE_PATH, message)])
    if behind:
        if DEFAULT_WORKER in behind:
            return Plan()  # the default worker's own step catches it up
        return Plan(
            waiting=Waiting(
                f"upgrading the control plane waits for node group(s) {', '.join(behind)} "
                f"to reach {cp_version}"
            )
        )
    if crosses_calico_requirement(cp_version, step) and (
        (cluster.labels.cni_driver or "").lower() == "flannel"
    ):
        message = (
            f"upgrading to {step} needs Calico: set spec.network.cni: calico and a new "
            "spec.network.podsNetworkCIDR"
        )
        return Plan(blocked=[Blocked(Reason.UPGRADE_BLOCKED, message)])
    return Plan(
        Action(
            OperationType.NODEGROUP_UPGRADE,
            NKSClient.upgrade_nodegroup,
            {"nodegroup": CONTROL_PLANE, "version": step},
            f"upgrade the control plane from {cp_version} to {step}",
            CONTROL_PLANE,
        )
    )


def _plan_service_gateways(spec: NKSClusterSpec, cluster: Cluster) -> Plan:
    """Service gateways: NKS takes both in one call (the guide marks both required)."""
    gateways = spec.service_gateways
    if gateways is None or not (gateways.ncr or gateways.obs):
        return Plan()
    labels = cluster.labels
    ncr = gateways.ncr or labels.ncr_sgw
    obs = gateways.obs or labels.obs_sgw
    changed = [
        label
        for label, wanted, actual in (
            ("ncr_sgw", gateways.ncr, labels.ncr_sgw),
            ("obs_sgw", gateways.obs, labels.obs_sgw),
        )
        if wanted and wanted != actual
    ]
    if not changed:
        return Plan()
    if not ncr or not obs:
        missing = "obs" if not obs else "ncr"
        blocked = Blocked(
            Reason.SERVICE_GATEWAY_BLOCKED,
            "NKS changes both service gateways in one call and reports no "
            f"{missing} gateway for this cluster: set spec.serviceGateways.{missing}",
        )
        return Plan(blocked=[blocked])
    return Plan(
        Action(
            OperationType.UPDATE_SERVICE_GATEWAY,
            NKSClient.update_service_gateway,
            {"ncr_sgw": ncr, "obs_sgw": obs},
            "change the service gateway(s) " + ", ".join(changed),
            confirmation="state",
        )
    )


def _plan_ip_acl(spec: NKSClusterSpec, ip_acl: IPACL | None) -> Plan:
    """The API endpoint's IP access control (drift corrected)."""
    acl = spec.api_endpoint.ip_access_control
    if acl is None or acl_in_sync(acl, ip_acl):
        return Plan()
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
    return Plan(
        Action(
            OperationType.SET_IP_ACL,
            _set_ip_acl,
            body,
            f"{'apply' if acl.enabled else 'disable'} IP access control of the API endpoint",
            confirmation="state",
        )
    )


def _plan_certificate(
    spec: NKSClusterSpec, cluster: Cluster, renew_requested: bool, now: datetime.datetime
) -> Plan:
    """Certificate renewal: on request, or automatically before expiry."""
    certificate = spec.certificate
    shown = cluster.labels.certificate_expiry
    expiry = parse_expiry(shown)
    due = (
        certificate.auto_renew
        and expiry is not None
        and expiry - datetime.timedelta(days=certificate.renew_before_days) <= now
    )
    if not (renew_requested or due):
        return Plan()
    why = "requested" if renew_requested else f"expires {shown}"
    return Plan(
        Action(
            OperationType.RENEW_CERTIFICATE,
            NKSClient.renew_certificate,
            {"term_of_validity": certificate.validity_years},
            f"renew the cluster certificate ({why}) for {certificate.validity_years} year(s)",
            confirmation="state",
        )
    )
