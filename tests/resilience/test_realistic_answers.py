"""Realistic answers: every read the operator makes, answered with one field in another
shape than the simulator's default - a label missing, `""`, JSON text, another JSON type,
an unknown field, an unknown status value - for ONE resource of a fleet at a time.

The fleet (one tenant, three NKSClusters, two NKSNodeGroups with a stopped node each, an
IP ACL on the cluster the cases target) is built once per module and watched by one
operator of the module's own; `AnswerProxy` (answer_proxy.py) rewrites only the answers
about the case's resource. Each case checks that

- the affected resource does what its case says: converges when the shape is tolerated
  (`""`, JSON text, unknown fields, values it does not need), says `Synced=False`
  `NKSAnswerInvalid` naming the field when a value it needs is unreadable (never the
  value itself), waits on an unknown status (never Failed), or says the nodes' power
  states are unknown when the compute answer cannot be joined to the nodes;
- every other resource stays Ready and Synced (those of the same NKS cluster may wait
  while the affected one reports an operation running), and no Warning Event is posted
  but the one saying the nodes' power states are unknown;
- no NKS write call is made (the fleet is steady: none is needed) and no pass crashes;
- with faithful answers again, the affected resource converges by itself.

A rewritten answer carries a canary (`status_reason` of the affected resource's GET) so
the test sees that the operator read it and went on. The operator runs with a 1.5 s slow
poll to keep each case short; nothing here is about timing.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nks_devtools.localkube import LocalKube
from nks_devtools.simulator import SimulatorConfig, SimulatorThread
from nks_operator.nks.operations import Operation
from tests.e2e.helpers import (
    apply,
    cluster_manifest,
    condition,
    credentials_secret,
    example,
    get,
    new_tenant,
    wait_gone,
    write_log,
)
from tests.fixtures.hygiene import session_hygiene
from tests.fixtures.operator import OperatorProcess, wait_for
from tests.resilience.answer_proxy import MISSING, AnswerProxy, Rewrite
from tests.resilience.helpers import OLD_VERSION, ResilienceSim, crash_lines, patch, wait_settled

pytestmark = pytest.mark.kube

CLUSTERS = ("c0", "c1", "c2")
GROUPS = {"g0": "c0", "g1": "c1"}
CLUSTER, GROUP = "c1", "g1"  # whose answers the cases rewrite
ACL = {"enabled": True, "action": "ALLOW", "targets": [{"cidr": "10.20.0.0/16"}]}
# Rewritten values that are text carry this: it must never reach status or an Event.
SECRET = "s3cr3t-" + secrets.token_hex(4)
VPC = "eb212079-b6ec-430c-ba57-14280a457bcb"
# A subnet of its own per cluster: node addresses (which join compute servers to node
# groups) are then unique in the project, as in one real subnet.
SUBNETS = {
    "c0": ("0b5a3e52-7a4c-4b0e-9d1a-1f0c6f3e2a10", "192.168.10.0/24"),
    "c1": ("1c6b4f63-8b5d-4c1f-8e2b-2a1d7a4f3b21", "192.168.11.0/24"),
    "c2": ("2d7c5a74-9c6e-4d2a-9f3c-3b2e8b5a4c32", "192.168.12.0/24"),
}
SUBNET = SUBNETS["c1"][0]
CASE_TIMEOUT = 45.0

L, GC, LN, GN, EV, ACL_GET, SRV = (
    Operation.LIST_CLUSTERS,
    Operation.GET_CLUSTER,
    Operation.LIST_NODEGROUPS,
    Operation.GET_NODEGROUP,
    Operation.LIST_EVENTS,
    Operation.GET_IP_ACL,
    Operation.LIST_SERVERS,
)
Expect = Literal["converges", "invalid", "waiting", "nodes_unknown", "no_guess"]


@dataclass(frozen=True)
class Case:
    """`path` of the answer `read` about the case's resource becomes `value`."""

    id: str
    read: Operation
    path: tuple[str | int, ...]
    value: Any
    expect: Expect
    named: str = ""  # what the affected resource's Synced message must name
    about: Literal["cluster", "group", "default-worker"] = "cluster"

    @property
    def affected(self) -> tuple[str, str]:
        """(plural, name) of the resource the rewritten answer belongs to."""
        if self.read in (GN, LN, SRV) and self.about == "group":
            return "nksnodegroups", GROUP
        return "nksclusters", CLUSTER


def group_case(id: str, read: Operation, path: tuple[str | int, ...], value: Any, expect: Expect,
               named: str = "") -> Case:  # fmt: skip
    return Case(id, read, path, value, expect, named, about="group")


VOLUME = {"volume_type": "General SSD", "volume_size": 20}
SECURITY_GROUP = {"target_subnet": SUBNET, "security_group_ids": "sg-1,sg-2"}
CASES = [
    # -- the cluster's GET ----------------------------------------------------------------
    Case("get-cluster/label-missing", GC, ("labels", "kube_tag"), MISSING, "converges"),
    Case("get-cluster/labels-missing", GC, ("labels",), MISSING, "converges"),
    Case("get-cluster/label-empty", GC, ("labels", "extra_security_groups"), "", "converges"),
    Case("get-cluster/label-json-empty-list", GC, ("labels", "extra_volumes"), "[]", "converges"),
    Case(
        "get-cluster/label-json-list",
        GC,
        ("labels", "extra_security_groups"),
        json.dumps([SECURITY_GROUP]),
        "converges",
    ),
    Case("get-cluster/label-json-null", GC, ("labels", "extra_volumes"), "null", "converges"),
    Case(
        "get-cluster/label-not-json",
        GC,
        ("labels", "extra_volumes"),
        '[{"volume_type": "' + SECRET,
        "invalid",
        "extra_volumes",
    ),
    Case(
        "get-cluster/label-json-number",
        GC,
        ("labels", "extra_volumes"),
        7,
        "invalid",
        "extra_volumes",
    ),
    Case(
        "get-cluster/label-not-a-boolean",
        GC,
        ("labels", "master_lb_floating_ip_enabled"),
        SECRET,
        "invalid",
        "master_lb_floating_ip_enabled",
    ),
    Case("get-cluster/labels-a-string", GC, ("labels",), SECRET, "invalid", "labels"),
    Case("get-cluster/count-not-a-number", GC, ("node_count",), SECRET, "invalid", "node_count"),
    Case(
        "get-cluster/addresses-a-string",
        GC,
        ("node_addresses",),
        "192.168.0.99",
        "invalid",
        "node_addresses",
    ),
    Case("get-cluster/unknown-field", GC, ("x_new_field",), {"nested": [1, None]}, "converges"),
    Case("get-cluster/unknown-label", GC, ("labels", "zz_new"), {"k": [True]}, "converges"),
    Case("get-cluster/unknown-status", GC, ("status",), "MAINTENANCE_SCHEDULED", "waiting"),
    # -- the cluster list: an index; details come from the GET ----------------------------
    Case("list-clusters/label-json-number", L, ("labels", "extra_volumes"), 7, "converges"),
    Case("list-clusters/uuid-missing", L, ("uuid",), MISSING, "converges"),
    Case("list-clusters/entry-not-an-object", L, (), SECRET, "converges"),
    Case("list-clusters/unknown-status", L, ("status",), "MAINTENANCE_SCHEDULED", "converges"),
    Case("list-clusters/unknown-field", L, ("x_new_field",), [{"a": 1}], "converges"),
    # -- the node group's GET -------------------------------------------------------------
    group_case("get-group/label-missing", GN, ("labels", "kube_tag"), MISSING, "converges"),
    group_case("get-group/label-empty", GN, ("labels", "extra_volumes"), "", "converges"),
    group_case(
        "get-group/label-json-list",
        GN,
        ("labels", "extra_volumes"),
        json.dumps([VOLUME]),
        "converges",
    ),
    group_case(
        "get-group/label-json-null", GN, ("labels", "extra_security_groups"), "null", "converges"
    ),
    group_case(
        "get-group/label-json-object",
        GN,
        ("labels", "extra_volumes"),
        json.dumps(VOLUME),
        "invalid",
        "extra_volumes",
    ),
    group_case(
        "get-group/label-json-array", GN, ("labels", "ca_enable"), [True], "invalid", "ca_enable"
    ),
    group_case(
        "get-group/count-not-a-number", GN, ("node_count",), SECRET, "invalid", "node_count"
    ),
    group_case(
        "get-group/addresses-a-string",
        GN,
        ("node_addresses",),
        "192.168.0.99",
        "invalid",
        "node_addresses",
    ),
    group_case("get-group/unknown-field", GN, ("x_new_field",), {"a": None}, "converges"),
    group_case("get-group/unknown-status", GN, ("status",), "NODE_REPAIR_SCHEDULED", "waiting"),
    # -- the node group list --------------------------------------------------------------
    group_case("list-groups/uuid-missing", LN, ("uuid",), MISSING, "invalid", "uuid"),
    group_case("list-groups/name-a-number", LN, ("name",), 5, "converges"),
    group_case("list-groups/unknown-status", LN, ("status",), "NODE_REPAIR", "converges"),
    group_case("list-groups/unknown-field", LN, ("x_new_field",), True, "converges"),
    Case(
        "list-groups/default-worker-uuid-missing",
        LN,
        ("uuid",),
        MISSING,
        "invalid",
        "default-worker",
        about="default-worker",
    ),
    # -- the task history (every entry) ---------------------------------------------------
    Case("tasks/id-not-a-number", EV, ("id",), SECRET, "converges"),
    Case("tasks/uuid-missing", EV, ("uuid",), MISSING, "converges"),
    Case("tasks/unknown-state", EV, ("state",), "QUEUED", "converges"),
    Case("tasks/unknown-field", EV, ("x_new_field",), {"a": [1]}, "converges"),
    # -- the IP ACL -----------------------------------------------------------------------
    Case("ip-acl/unknown-field", ACL_GET, ("x_new_field",), {"a": 1}, "converges"),
    Case("ip-acl/enable-not-a-boolean", ACL_GET, ("enable",), SECRET, "invalid", "enable"),
    Case("ip-acl/targets-a-number", ACL_GET, ("ipacl_targets",), 5, "invalid", "ipacl_targets"),
    # -- the compute servers of the node group's nodes ------------------------------------
    group_case("servers/unknown-field", SRV, ("x_new_field",), {"a": 1}, "converges"),
    group_case("servers/status-missing", SRV, ("status",), MISSING, "converges"),
    group_case("servers/addresses-a-string", SRV, ("addresses",), "192.168.0.99", "nodes_unknown"),
    # The power state (4: off) still tells; either it is used or the state is unknown.
    group_case("servers/unknown-status", SRV, ("status",), "SUSPENDING_SOON", "no_guess"),
]


class Broken(AssertionError):
    """The operator did what no answer justifies: there is nothing more to wait for."""


# -- the fleet ----------------------------------------------------------------------------


@dataclass
class Fleet:
    namespace: str
    api: client.ApiClient
    sim: ResilienceSim
    proxy: AnswerProxy
    operator: OperatorProcess
    cluster_ids: dict[str, str]
    group_ids: dict[str, str]  # NKSNodeGroups and c1's default-worker
    node_ids: dict[str, list[str]]  # node group -> its node (server) ids

    def resources(self) -> list[tuple[str, str]]:
        return [("nksclusters", c) for c in CLUSTERS] + [("nksnodegroups", g) for g in GROUPS]

    def get(self, plural: str, name: str) -> dict[str, Any]:
        obj = get(self.api, plural, self.namespace, name)
        assert obj is not None, f"{plural}/{name} is gone"
        return obj

    def last_seq(self) -> int:
        return int(self.sim.http.get("/_sim/calls", params={"log": "0"}).json()["last_seq"])

    def writes_since(self, seq: int) -> list[tuple[str, int, str]]:
        log = self.sim.http.get("/_sim/calls", params={"since": seq}).json()["log"]
        return [
            (e["operation"], e["status"], e["path"])
            for e in log
            if e["operation"] in WRITE_OPERATIONS
        ]

    def warnings(self) -> set[tuple[str, str, str, int]]:
        items = client.CoreV1Api(self.api).list_namespaced_event(self.namespace).items
        return {
            (e.involved_object.name, e.reason, e.message or "", e.count or 1)
            for e in items
            if e.type == "Warning"
        }

    def rewrite_for(self, case: Case) -> Rewrite:
        cluster = self.cluster_ids[CLUSTER]
        if case.read is SRV:
            return Rewrite(case.read, case.path, case.value, ids=frozenset(self.node_ids[GROUP]))
        if case.read in (LN, GN):
            group = "default-worker" if case.about == "default-worker" else GROUP
            ids = frozenset({self.group_ids[group]})
            return Rewrite(case.read, case.path, case.value, cluster=cluster, ids=ids)
        return Rewrite(case.read, case.path, case.value, cluster=cluster)

    def canary_for(self, case: Case, text: str) -> Rewrite:
        """`status_reason` of the affected resource's GET (shown in its status)."""
        cluster = self.cluster_ids[CLUSTER]
        if case.affected[0] == "nksnodegroups":
            ids = frozenset({self.group_ids[GROUP]})
            return Rewrite(GN, ("status_reason",), text, cluster=cluster, ids=ids)
        return Rewrite(GC, ("status_reason",), text, cluster=cluster)


WRITE_OPERATIONS = {op.value for op in Operation if op.is_write}


def converged(obj: dict[str, Any] | None) -> bool:
    """Ready, and spec and NKS agree."""
    ready, synced = condition(obj, "Ready"), condition(obj, "Synced")
    return bool(
        obj is not None
        and (obj.get("status") or {}).get("phase") == "Ready"
        and ready
        and ready["status"] == "True"
        and synced
        and synced["status"] == "True"
        and synced["reason"] == "Synced"
    )


def _nks_group(sim: ResilienceSim, cluster: str, group: str) -> dict[str, Any]:
    [found] = [c for c in sim.clusters() if c["name"] == cluster]
    return next(g for g in found["nodegroups"] if g["name"] == group)


def _stopped(sim: ResilienceSim, cluster: str, group: str, node: str) -> bool:
    nodes = _nks_group(sim, cluster, group)["nodes"]
    return any(n["uuid"] == node and n["status"] in ("SHUTOFF", "STOPPED") for n in nodes)


@pytest.fixture(scope="module")
def fleet(
    kube: LocalKube,
    crds_installed: None,
    kube_api: client.ApiClient,
    kubectl: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Fleet]:
    subnets = dict(SUBNETS.values())
    thread = SimulatorThread(SimulatorConfig(delay=0.3, subnets=subnets)).start()
    session_hygiene().track_simulator(thread)
    proxy = AnswerProxy(thread.url).start()
    sim = ResilienceSim(thread.url, new_tenant())
    ns = f"res-answers-{secrets.token_hex(2)}"
    core = client.CoreV1Api(kube_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    log = tmp_path_factory.mktemp("answers") / "operator.log"
    operator = OperatorProcess(kube, ns, log, ["--slow-poll", "1.5"])
    operator.start()
    try:
        credentials_secret(kubectl, ns, proxy.url, sim.tenant)
        for name in CLUSTERS:
            spec: dict[str, Any] = {"network": {"vpcNetworkID": VPC, "subnetID": SUBNETS[name][0]}}
            if name == CLUSTER:
                spec["apiEndpoint"] = {"ipAccessControl": ACL}
            apply(kubectl, ns, cluster_manifest(name, **spec))
        for group, cluster in GROUPS.items():
            manifest = example("nksnodegroup.yaml")
            manifest["metadata"]["name"] = group
            manifest["spec"]["clusterRef"]["name"] = cluster
            apply(kubectl, ns, manifest)
        wait_settled(kube_api, ns, "nksclusters", CLUSTERS, 1, OLD_VERSION, 120, "clusters", sim)
        wait_settled(kube_api, ns, "nksnodegroups", GROUPS, 2, OLD_VERSION, 120, "groups", sim)
        # One stopped node per group: the compute servers are read from now on.
        node_ids = {
            g: [n["uuid"] for n in _nks_group(sim, c, g)["nodes"]] for g, c in GROUPS.items()
        }
        for group in GROUPS:
            patch(kubectl, ns, "nksng", group, {"spec": {"stoppedNodes": node_ids[group][:1]}})
        for group, cluster in GROUPS.items():
            node = node_ids[group][0]
            wait_for(lambda: _stopped(sim, cluster, group, node), 60, what=f"{group} stopped")  # noqa: B023
        wait_settled(kube_api, ns, "nksnodegroups", GROUPS, 2, OLD_VERSION, 60, "stopped", sim)
        cluster_ids = {
            c: (get(kube_api, "nksclusters", ns, c) or {})["status"]["clusterID"] for c in CLUSTERS
        }
        group_ids = {
            g: (get(kube_api, "nksnodegroups", ns, g) or {})["status"]["nodeGroupID"]
            for g in GROUPS
        }
        group_ids["default-worker"] = _nks_group(sim, CLUSTER, "default-worker")["uuid"]
        assert sim.writes() == {"create_cluster": 3, "create_nodegroup": 2, "stop_nodes": 2}, (
            write_log(sim)
        )
        yield Fleet(ns, kube_api, sim, proxy, operator, cluster_ids, group_ids, node_ids)
    finally:
        proxy.clear(poke=None)
        kubectl("delete", "nksng,nksc", "--all", "-n", ns, "--wait=false")
        for group in GROUPS:
            wait_gone(kube_api, "nksnodegroups", ns, group, timeout=60)
        for name in CLUSTERS:
            wait_gone(kube_api, "nksclusters", ns, name, timeout=60)
        operator.stop()
        proxy.stop()
        thread.stop()
        sim.http.close()
        try:
            core.delete_namespace(ns, propagation_policy="Background")
        except ApiException as err:
            if err.status != 404:
                raise


# -- the cases ----------------------------------------------------------------------------


@dataclass
class Watch:
    """What the case may not cause, checked on every probe: a write, a crash, Failed."""

    fleet: Fleet
    seq: int
    log_offset: int

    def check(self, obj: dict[str, Any] | None = None) -> None:
        writes = self.fleet.writes_since(self.seq)
        if writes:
            raise Broken(f"NKS write calls: {writes}")
        with self.fleet.operator.log_path.open("rb") as log:
            log.seek(self.log_offset)
            crashes = crash_lines(log.read().decode(errors="replace"))
        if crashes:
            raise Broken(f"the pass crashed: {crashes[:3]}")
        status = (obj or {}).get("status") or {}
        if status.get("phase") == "Failed":
            raise Broken(f"Failed: {json.dumps(status.get('conditions'))}")


def _show(fleet: Fleet, plural: str, name: str) -> str:
    return json.dumps((fleet.get(plural, name).get("status") or {}), indent=1)[:4000]


def _wait(
    fleet: Fleet, plural: str, name: str, probe: Any, what: str, watch: Watch | None = None
) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        obj = fleet.get(plural, name)
        if watch is not None:
            watch.check(obj)
        return obj if probe(obj) else None

    try:
        return wait_for(ready, CASE_TIMEOUT, interval=0.3, what=f"{plural}/{name}: {what}")
    except Broken:
        raise
    except AssertionError as error:
        raise AssertionError(f"{error}\nstatus: {_show(fleet, plural, name)}") from None


def _status_reason(obj: dict[str, Any]) -> str | None:
    return (obj.get("status") or {}).get("statusReason")


def _synced_reason(obj: dict[str, Any]) -> str | None:
    return (condition(obj, "Synced") or {}).get("reason")


def _check(fleet: Fleet, case: Case, canary: str, watch: Watch) -> None:
    """Wait for what the case expects of the affected resource, then check it."""
    plural, name = case.affected
    if case.read in (ACL_GET, SRV):
        # Read at most once per resync (servers: per 10 s): a second rewritten answer means
        # a pass has gone by with the first.
        def read_twice() -> bool:
            watch.check()
            return fleet.proxy.served[0] >= 2

        wait_for(read_twice, CASE_TIMEOUT, what=f"{case.read} answered twice")
    if case.expect == "converges":
        obj = _wait(
            fleet, plural, name, lambda o: _status_reason(o) == canary, "answer read", watch
        )
        assert converged(obj), f"{name} did not converge: {_show(fleet, plural, name)}"
    elif case.expect == "invalid":
        obj = _wait(
            fleet,
            plural,
            name,
            lambda o: _synced_reason(o) == "NKSAnswerInvalid",
            "Synced=False NKSAnswerInvalid",
            watch,
        )
        synced = condition(obj, "Synced") or {}
        assert synced.get("status") == "False", synced
        assert case.named in synced["message"], synced["message"]
    elif case.expect == "waiting":
        obj = _wait(
            fleet,
            plural,
            name,
            lambda o: (
                _status_reason(o) == canary
                and (condition(o, "Progressing") or {}).get("status") == "True"
            ),
            "waiting for NKS",
            watch,
        )
        synced, ready = condition(obj, "Synced") or {}, condition(obj, "Ready") or {}
        assert synced.get("status") == "True", synced
        assert ready.get("status") == "True", ready  # still usable: only NKS is busy
    elif case.expect == "nodes_unknown":
        obj = _wait(
            fleet,
            plural,
            name,
            lambda o: _synced_reason(o) == "NodeStateUnknown",
            "Synced=False NodeStateUnknown",
            watch,
        )
        assert "compute" in (condition(obj, "Synced") or {}).get("message", "")
    else:  # no_guess: nothing sent on a guess; the state is used or said to be unknown
        obj = _wait(
            fleet,
            plural,
            name,
            lambda o: (
                _status_reason(o) == canary
                and (converged(o) or _synced_reason(o) == "NodeStateUnknown")
            ),
            "the rewritten answer read",
            watch,
        )
    assert SECRET not in json.dumps(obj), f"a rewritten value reached the status of {name}"


def _undisturbed(fleet: Fleet, case: Case) -> None:
    """Every other resource converged; while the affected one waits on NKS, the others
    of the same NKS cluster may wait too (nothing is sent while an operation runs)."""
    for plural, name in fleet.resources():
        if (plural, name) == case.affected:
            continue
        obj = fleet.get(plural, name)
        same_cluster = name in (CLUSTER, GROUP)
        waits = (
            case.expect == "waiting"
            and same_cluster
            and _synced_reason(obj) == "Waiting"
            and (condition(obj, "Ready") or {}).get("status") == "True"
        )
        assert converged(obj) or waits, f"{name} was disturbed: {_show(fleet, plural, name)}"


def _params() -> list[Any]:
    return [pytest.param(case, id=case.id) for case in CASES]


def _recover(fleet: Fleet, case: Case, poke: str, watch: Watch | None) -> None:
    """Faithful answers again, until a pass has read them: only a fresh `status_reason`
    differs, and the affected resource must show it and be converged. With `watch`
    (the case went well so far), a failure to recover fails the case; else the case has
    already failed and this only keeps the next case clean."""
    plural, name = case.affected
    mark = f"faithful again after: {case.id}"
    fleet.proxy.rewrite(fleet.canary_for(case, mark), poke=poke)
    try:
        _wait(
            fleet,
            plural,
            name,
            lambda o: converged(o) and _status_reason(o) == mark,
            "converged again with faithful answers",
            watch,
        )
    except AssertionError:
        if watch is not None:
            raise
    finally:
        fleet.proxy.clear(poke=poke)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("case", _params())
def test_one_answer_in_another_shape(fleet: Fleet, case: Case) -> None:
    for plural, name in fleet.resources():
        _wait(fleet, plural, name, converged, "steady before the case")
    watch = Watch(fleet, fleet.last_seq(), fleet.operator.log_path.stat().st_size)
    warnings = fleet.warnings()
    canary = f"answer read: {case.id}"
    poke = fleet.cluster_ids[CLUSTER]
    fleet.proxy.rewrite(fleet.rewrite_for(case), fleet.canary_for(case, canary), poke=poke)
    went_well = False
    try:
        _check(fleet, case, canary, watch)
        _undisturbed(fleet, case)
        watch.check()
        went_well = True
    finally:
        _recover(fleet, case, poke, watch if went_well else None)
    watch.check()
    # Saying the nodes' power states are unknown is a Warning of its own (the addresses
    # are what they are read from).
    unknown = case.expect in ("nodes_unknown", "no_guess") or case.named == "node_addresses"
    allowed = {(case.affected[1], "NodeStateUnknown")} if unknown else set()
    new_warnings = {w for w in fleet.warnings() - warnings if w[:2] not in allowed}
    assert not new_warnings, f"Warning Events: {sorted(new_warnings)}"
    assert all(SECRET not in message for _, _, message, _ in fleet.warnings())
    fleet.operator.assert_alive()
