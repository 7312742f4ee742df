"""ClusterAdapter's methods, each called directly: what an NKSCluster's pass reads,
checks, records and calls (the generic steps around them: test_reconciler.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from nks_operator.api.cluster import NKSClusterStatus
from nks_operator.control.adapter import Location
from nks_operator.control.cluster import ClusterAdapter, ClusterMemory
from nks_operator.control.passes import Stop
from nks_operator.nks import DeleteResult, errors
from nks_operator.nks.models import Cluster, NodeGroup
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile.day2 import CONTROL_PLANE, Plan
from nks_operator.reconcile.outcome import Assessment
from nks_operator.reconcile.reasons import Reason
from tests.unit.adapter_pass import new_pass
from tests.unit.specs import CLUSTER_SPEC, _merge
from tests.unit.test_reconciler import Harness

ID = "0b6c8a30-5e4b-4bb4-a3c1-1b1d1bd7d1a0"
WORKER = "5d2f0a3e-7a4c-4f1e-9d55-3b2a1c0e9f88"
ADAPTER = ClusterAdapter()
EXPIRY = "2031-09-28T01:40:19+00:00"
LATER = "2031-12-06T10:00:00+00:00"


def spec(**changes: Any) -> dict[str, Any]:
    return _merge(CLUSTER_SPEC, changes)


def snapshot(status: str = "CREATE_COMPLETE", **cluster: Any) -> ClusterSnapshot:
    found = ClusterSnapshot(ID)
    found.cluster = Cluster.model_validate(
        {"uuid": ID, "name": "demo", "status": status, "coe_version": "v1.29.3", **cluster}
    )
    found.detailed = True
    found.nodegroups["default-worker"] = NodeGroup.model_validate(
        {"uuid": WORKER, "name": "default-worker", "status": "UPDATE_IN_PROGRESS"}
    )
    return found


def stop_of(raised: pytest.ExceptionInfo[Stop]) -> Assessment:
    ending = raised.value.ending
    assert isinstance(ending, Assessment)
    return ending


# -- identity ------------------------------------------------------------------------------


def test_the_nks_id_is_the_cluster_id_and_the_region_is_kept_once_known() -> None:
    status = NKSClusterStatus()
    ADAPTER.identity.set_nks_id(status, ID, Location("kr2", None, None))
    assert ADAPTER.identity.nks_id(status) == ID and status.region == "kr2"
    ADAPTER.identity.set_nks_id(status, ID, Location("kr1", None, None))
    assert status.region == "kr2"
    assert ADAPTER.facts.nks_id_is_cluster_id


def test_the_nks_name_is_the_spec_s_or_the_object_s() -> None:
    p = new_pass(ADAPTER, spec())
    assert ADAPTER.identity.nks_name(p.spec, "demo") == "demo"
    p = new_pass(ADAPTER, spec(clusterName="prod"))
    assert ADAPTER.identity.nks_name(p.spec, "demo") == "prod"
    assert ADAPTER.identity.adoption_id_raw({"clusterID": ID}) == ID


# -- locate ----------------------------------------------------------------------------------


async def test_locate_names_region_credentials_and_cluster() -> None:
    p = new_pass(ADAPTER, spec(credentialsRef={"name": "nhn"}), {"clusterID": ID, "region": "kr2"})
    assert await ADAPTER.locate(p) == Location("kr2", "nhn", ID)


async def test_the_region_is_immutable() -> None:
    p = new_pass(ADAPTER, spec(region="kr1"), {"clusterID": ID, "region": "kr2"})
    with pytest.raises(Stop) as raised:
        await ADAPTER.locate(p)
    problem = stop_of(raised).problem
    assert problem is not None and problem.reason == Reason.INVALID_SPEC
    assert "spec.region is immutable" in problem.message


async def test_a_deletion_locates_from_a_spec_that_may_not_validate() -> None:
    p = new_pass(ADAPTER, spec(), {"region": "kr2"})
    p.body["spec"] = {"clusterID": ID, "credentialsRef": {"name": "nhn"}}
    assert await ADAPTER.deleting.locate_for_delete(p) == Location("kr2", "nhn", ID)


# -- observe and check -------------------------------------------------------------------------


def test_observe_finds_the_cluster_and_names_what_could_not_be_read() -> None:
    found = snapshot()
    found.problems["default-worker"] = "no uuid"
    observed = ADAPTER.observe(found, ID)
    assert observed is not None and observed.status == "CREATE_COMPLETE"
    assert observed.unreadable == {"default-worker": "no uuid"}
    assert ADAPTER.observe(found, WORKER) is None


def test_problems_refuse_a_downgrade_and_another_cluster_id() -> None:
    p = new_pass(ADAPTER, spec(kubernetesVersion="v1.28.4", clusterID=WORKER), {"clusterID": ID})
    observed = ADAPTER.observe(snapshot(), ID)
    problems, _drift = ADAPTER.checking.problems(p, {"v1.28.4": True, "v1.29.3": True}, observed)
    assert any("NKS cannot downgrade" in problem for problem in problems)
    assert any("spec.clusterID is immutable" in problem for problem in problems)


def test_report_copies_what_nks_shows_into_status() -> None:
    p = new_pass(ADAPTER, spec(), {"clusterID": ID})
    observed = ADAPTER.observe(snapshot(api_address="https://k8s.example:6443"), ID)
    assert observed is not None
    ADAPTER.report(p, observed)
    assert p.status.api_address == "https://k8s.example:6443"
    assert p.status.kubernetes_version == "v1.29.3"


def test_an_operation_is_followed_by_its_target_s_status() -> None:
    p = new_pass(ADAPTER, spec(), {"clusterID": ID})
    observed = ADAPTER.observe(snapshot(), ID)
    assert observed is not None
    assert ADAPTER.converging.operation_status(p, observed, CONTROL_PLANE) == "CREATE_COMPLETE"
    assert (
        ADAPTER.converging.operation_status(p, observed, "default-worker") == "UPDATE_IN_PROGRESS"
    )
    assert ADAPTER.converging.operation_status(p, observed, "gone") is None


# -- bookkeeping around operations -----------------------------------------------------------


def test_after_send_records_the_renewal_and_the_user_script_generation() -> None:
    annotations = {"nks.nhncloud.com/renew-certificate": "2026-01"}
    status = {"clusterID": ID, "certificateExpiry": EXPIRY}
    p = new_pass(ADAPTER, spec(), status, annotations=annotations)
    ADAPTER.converging.after_send(p, "RENEW_CERTIFICATE", {})
    assert p.status.certificate_renewal_request == "2026-01"
    assert p.status.certificate_renewal_sent_at_expiry == EXPIRY
    ADAPTER.converging.after_send(p, "NODEGROUP_USERSCRIPT_UPDATE", {})
    assert p.status.user_script_generation == 3


def test_after_success_makes_the_next_pass_read_again() -> None:
    p = new_pass(ADAPTER, spec(), {"clusterID": ID})
    memory = p.around.remembered(ClusterMemory)
    memory.ip_acl_read_at = memory.kubeconfig_checked_at = 100.0
    ADAPTER.converging.after_success(p, None, "SET_IP_ACL")  # type: ignore[arg-type]
    assert memory.ip_acl_read_at < 0
    p.status.certificate_renewal_sent_at_expiry = EXPIRY
    ADAPTER.converging.after_success(p, None, "RENEW_CERTIFICATE")  # type: ignore[arg-type]
    assert memory.kubeconfig_checked_at < 0 and memory.kubeconfig_renewed
    assert p.status.certificate_renewal_sent_at_expiry is None


def test_a_sent_renewal_is_wanted_until_nks_shows_it_whatever_the_plan_says() -> None:
    last = {"type": "RENEW_CERTIFICATE", "state": "Requested", "sinceTaskID": 0}
    status = {"clusterID": ID, "lastOperation": last, "certificateRenewalSentAtExpiry": EXPIRY}
    p = new_pass(ADAPTER, spec(), status)
    record = p.status.last_operation
    assert record is not None
    labels = {"certificate_expiry": EXPIRY}
    unchanged = ADAPTER.observe(snapshot(labels=labels), ID)
    assert unchanged is not None
    # The plan's next operation is another one (the spec changed meanwhile).
    assert ADAPTER.converging.still_wanted(p, unchanged, Plan(), record)
    renewed = ADAPTER.observe(snapshot(labels={"certificate_expiry": LATER}), ID)
    assert renewed is not None
    assert not ADAPTER.converging.still_wanted(p, renewed, Plan(), record)
    # Dropped once (to be sent again): the plan asks for it.
    record.state, record.generation = "Failed", None
    unchanged.snapshot.nodegroups["default-worker"] = NodeGroup.model_validate(
        {"uuid": WORKER, "name": "default-worker", "status": "CREATE_COMPLETE", "node_count": 2}
    )
    planned = ADAPTER.converging.plan(p, unchanged, {}, Location("kr2", None, ID))
    assert planned.action is not None and planned.action.operation == "RENEW_CERTIFICATE"


def test_what_a_cluster_keeps_lasts_from_pass_to_pass() -> None:
    h = Harness()
    first = new_pass(ADAPTER, spec(), {"clusterID": ID}, harness=h)
    first.around.remembered(ClusterMemory).ip_acl_read_at = 100.0
    second = new_pass(ADAPTER, spec(), {"clusterID": ID}, harness=h)
    assert second.around.remembered(ClusterMemory).ip_acl_read_at == 100.0


# -- NKS calls: create, read and delete ----------------------------------------------------------


class OneCall:
    """An account whose NKS client answers the one call a test makes."""

    def __init__(self, **answers: Any) -> None:
        self.client = self
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.answers = answers

    def __getattr__(self, name: str) -> Any:
        answer = self.answers[name]

        async def call(*args: Any) -> Any:
            self.calls.append((name, args))
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


async def test_create_sends_the_spec_and_returns_the_new_id() -> None:
    p = new_pass(ADAPTER, spec())
    account = OneCall(create_cluster=ID)
    location = Location("kr2", None, None)
    assert await ADAPTER.creating.create(account, location, p.spec, "demo", {}) == ID  # type: ignore[arg-type]
    [(name, (request,))] = account.calls
    assert name == "create_cluster" and request.name == "demo"


async def test_read_for_delete_is_none_once_nks_answers_404() -> None:
    location = Location("kr2", None, ID)
    gone = OneCall(get_cluster=errors.NotFoundError("no such cluster", status_code=404))
    assert await ADAPTER.deleting.read_for_delete(gone, location, ID) is None  # type: ignore[arg-type]
    there = OneCall(get_cluster=snapshot("DELETE_IN_PROGRESS").cluster)
    assert await ADAPTER.deleting.read_for_delete(there, location, ID) == "DELETE_IN_PROGRESS"  # type: ignore[arg-type]


async def test_delete_reports_whether_nks_accepted_it() -> None:
    location = Location("kr2", None, ID)
    accepted = OneCall(delete_cluster=DeleteResult.ACCEPTED)
    assert await ADAPTER.deleting.delete(accepted, location, ID)  # type: ignore[arg-type]
    assert accepted.calls == [("delete_cluster", (ID,))]
    gone = OneCall(delete_cluster=DeleteResult.ALREADY_GONE)
    assert not await ADAPTER.deleting.delete(gone, location, ID)  # type: ignore[arg-type]


# -- Kubernetes-side work once NKS is stable -------------------------------------------------------

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster: {server: "https://k8s.example:6443"}
users:
- name: admin
  user: {token: t}
contexts:
- name: demo
  context: {cluster: demo, user: admin}
current-context: demo
"""


async def test_when_stable_writes_the_kubeconfig_secret_once() -> None:
    h = Harness()
    p = new_pass(ADAPTER, spec(), {"clusterID": ID}, harness=h)
    observed = ADAPTER.observe(snapshot(api_address="https://k8s.example:6443"), ID)
    assert observed is not None
    account = OneCall(get_kubeconfig=SecretStr(KUBECONFIG))
    assert await ADAPTER.converging.when_stable(p, account, observed) is None  # type: ignore[arg-type]
    assert p.status.kubeconfig_secret_name == "demo-kubeconfig"
    assert "/api/v1/namespaces/ns/secrets/demo-kubeconfig" in h.server.store.objects
    assert account.calls == [("get_kubeconfig", (ID,))]
    assert ("Normal", "KubeconfigWritten", "kubeconfig written to Secret demo-kubeconfig") in (
        h.poster.events
    )
    # Within a slow resync the Secret is not read again, nor NKS asked.
    assert await ADAPTER.converging.when_stable(p, account, observed) is None  # type: ignore[arg-type]
    assert len(account.calls) == 1


def counting_reads(p: Any, namespace: str | None = None) -> list[str]:
    """The Secrets the pass reads (in `namespace`, or anywhere), by namespace/name."""
    reads: list[str] = []
    read = p.around.read_secret

    async def read_secret(where: str, name: str) -> Any:
        if namespace in (None, where):
            reads.append(f"{where}/{name}")
        return await read(where, name)

    p.around.read_secret = read_secret
    return reads


async def test_a_kubeconfig_secret_status_does_not_record_is_created_without_a_read() -> None:
    """A create never replaces anything, so the first write needs no read; once status
    records the Secret, each resync reads it before any write."""
    h = Harness()
    p = new_pass(ADAPTER, spec(), {"clusterID": ID}, harness=h)
    reads = counting_reads(p, "ns")
    observed = ADAPTER.observe(snapshot(), ID)
    assert observed is not None
    account = OneCall(get_kubeconfig=SecretStr(KUBECONFIG))
    assert await ADAPTER.converging.when_stable(p, account, observed) is None  # type: ignore[arg-type]
    assert reads == [] and p.status.kubeconfig_secret_name == "demo-kubeconfig"
    assert "secrets create demo-kubeconfig" in h.calls.log
    p.around.remembered(ClusterMemory).kubeconfig_checked_at = -1e9  # a slow resync later
    assert await ADAPTER.converging.when_stable(p, account, observed) is None  # type: ignore[arg-type]
    assert reads == ["ns/demo-kubeconfig"] and len(account.calls) == 1


FOREIGN = {"metadata": {"name": "demo-kubeconfig", "resourceVersion": "1"}}


async def test_a_secret_of_that_name_not_made_for_this_cluster_is_left_alone() -> None:
    """Found by the refused create: never written, and from then on read before NKS is
    asked for a kubeconfig again."""
    h = Harness()
    path = "/api/v1/namespaces/ns/secrets/demo-kubeconfig"
    h.server.store.objects[path] = dict(FOREIGN)
    p = new_pass(ADAPTER, spec(), {"clusterID": ID}, harness=h)
    reads = counting_reads(p, "ns")
    observed = ADAPTER.observe(snapshot(), ID)
    assert observed is not None
    account = OneCall(get_kubeconfig=SecretStr(KUBECONFIG))
    for passes in (1, 2):
        problem = await ADAPTER.converging.when_stable(p, account, observed)  # type: ignore[arg-type]
        assert problem is not None and problem.reason == Reason.SECRET_NOT_OWNED
        assert reads == ["ns/demo-kubeconfig"] * passes
        assert len(account.calls) == 1  # the pass whose create was refused
    assert h.server.store.objects[path] == FOREIGN
    assert p.status.kubeconfig_secret_name is None


async def test_a_recorded_secret_name_is_read_before_nks_is_asked() -> None:
    h = Harness()
    h.server.store.objects["/api/v1/namespaces/ns/secrets/demo-kubeconfig"] = dict(FOREIGN)
    status = {"clusterID": ID, "kubeconfigSecretName": "demo-kubeconfig"}
    p = new_pass(ADAPTER, spec(), status, harness=h)
    observed = ADAPTER.observe(snapshot(), ID)
    assert observed is not None
    problem = await ADAPTER.converging.when_stable(p, OneCall(), observed)  # type: ignore[arg-type]
    assert problem is not None and problem.reason == Reason.SECRET_NOT_OWNED


async def test_an_own_current_secret_status_lost_is_taken_as_it_is() -> None:
    """Written, then the status write recording it was lost: the refused create reads it,
    and a current one is recorded, not written again."""
    h = Harness()
    first = new_pass(ADAPTER, spec(), {"clusterID": ID}, harness=h)
    observed = ADAPTER.observe(snapshot(), ID)
    assert observed is not None
    account = OneCall(get_kubeconfig=SecretStr(KUBECONFIG))
    assert await ADAPTER.converging.when_stable(first, account, observed) is None  # type: ignore[arg-type]
    path = "/api/v1/namespaces/ns/secrets/demo-kubeconfig"
    written = dict(h.server.store.objects[path])
    again = Harness()  # another process: nothing remembered, status without the name
    again.server.store.objects[path] = written
    second = new_pass(ADAPTER, spec(), {"clusterID": ID}, harness=again)
    second.body["metadata"]["uid"] = first.meta["uid"]
    kubeconfig, problem = await ADAPTER.converging._write_kubeconfig(second, account, ID)  # type: ignore[arg-type]
    assert problem is None and kubeconfig is not None and "k8s.example" in kubeconfig
    assert second.status.kubeconfig_secret_name == "demo-kubeconfig"
    assert again.server.store.objects[path] is written
    assert not [line for line in again.calls.log if "secrets put" in line]


def test_an_add_on_change_waits_while_another_node_group_is_busy() -> None:
    """The add-ons are planned after the cluster's own operations; while NKS runs a node
    group's operation nothing of them goes out either, and a cluster with nothing to do
    stays in sync."""
    from tests.unit.test_addons import CATALOGUE, METRICS

    def planned(pool_status: str, addons: list[dict[str, Any]]) -> Any:
        p = new_pass(ADAPTER, spec(addons=addons), {"clusterID": ID})
        p.found.catalogue = CATALOGUE
        p.around.remembered(ClusterMemory).addons = ()
        found = snapshot()
        found.nodegroups["default-worker"] = NodeGroup.model_validate(
            {"uuid": WORKER, "name": "default-worker", "status": "UPDATE_COMPLETE"}
        )
        found.nodegroups["pool"] = NodeGroup.model_validate(
            {"uuid": "p", "name": "pool", "status": pool_status}
        )
        observed = ADAPTER.observe(found, ID)
        assert observed is not None
        location = Location("kr1", None, ID)
        return ADAPTER.converging.plan(p, observed, {"v1.29.3": True}, location)

    assert planned("UPDATE_COMPLETE", [METRICS]).state == "send"
    held = planned("CREATE_IN_PROGRESS", [METRICS])
    assert held.state == "waiting" and held.waiting.nks_busy
    assert planned("CREATE_IN_PROGRESS", []).state == "in_sync"


async def test_with_registration_off_the_argo_cd_place_is_read_once_not_every_pass() -> None:
    """Stable passes of a cluster not registered in Argo CD look for a Secret of theirs to
    remove once; again only after a registration (or in another process)."""
    p = new_pass(ADAPTER, spec())  # generation 3: registration may have been on before
    reads = counting_reads(p)
    for _ in range(3):
        assert await ADAPTER.converging._register_in_argocd(p, None, ID, None) is None
    assert len(reads) == 1
    # A registration recorded in status (written, then switched off) is looked at again.
    p.status.argocd_secret = "argocd/nks-ns.demo-old"
    await ADAPTER.converging._register_in_argocd(p, None, ID, None)
    assert reads[1:] == sorted([reads[0], "argocd/nks-ns.demo-old"])
    assert p.status.argocd_secret is None
    await ADAPTER.converging._register_in_argocd(p, None, ID, None)
    assert len(reads) == 3


async def test_a_spec_never_changed_without_registration_has_no_argo_cd_place_to_read() -> None:
    """Generation 1: the spec is as created, so registration was never on; only a Secret
    status records is looked for."""
    p = new_pass(ADAPTER, spec())
    p.body["metadata"]["generation"] = 1
    reads = counting_reads(p)
    assert await ADAPTER.converging._register_in_argocd(p, None, ID, None) is None
    assert reads == []
    p.status.argocd_secret = "argocd/nks-ns.demo-old"
    await ADAPTER.converging._register_in_argocd(p, None, ID, None)
    assert "argocd/nks-ns.demo-old" in reads and p.status.argocd_secret is None
