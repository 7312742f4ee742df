"""The generic reconciler with a fake adapter: every lifecycle rule both kinds share, without
a kube-apiserver or the simulator (their fakes answer in memory and record the calls)."""

from __future__ import annotations

import contextlib
import datetime
import json
import time
from collections.abc import Mapping
from typing import Annotated, Any

import httpx
import kopf
import pytest
from pydantic import BaseModel, Field

from nks_operator.api import relations
from nks_operator.api.base import SecretKeyReference
from nks_operator.api.resources import CLUSTER
from nks_operator.api.status import CreationIntent, LastOperation, ResourceStatus
from nks_operator.control.adapter import (
    Adapter,
    Checking,
    Converging,
    Creating,
    Deleting,
    Facts,
    Identity,
    Location,
    Observed,
)
from nks_operator.control.context import OperatorContext
from nks_operator.control.passes import CREATE_REQUESTED_ANNOTATION, Pass, intent_parts
from nks_operator.control.reconciler import Reconciler
from nks_operator.kube.api import KubeAPI
from nks_operator.kube.client import KubeClient
from nks_operator.kube.ownership import Ownerships
from nks_operator.kube.signing import SigningKey
from nks_operator.metrics import OperatorMetrics
from nks_operator.nks import errors
from nks_operator.nks.models import Cluster, NodeGroup, TaskEvent
from nks_operator.polling.poller import AccountPoller
from nks_operator.polling.snapshot import ClusterSnapshot
from nks_operator.reconcile.day2 import Action, Blocked, Plan, Waiting
from nks_operator.reconcile.observed import Drift
from nks_operator.reconcile.outcome import Assessment
from nks_operator.reconcile.reasons import Reason
from nks_operator.runtime.cache import ObjectCache, ObjectKey
from nks_operator.runtime.workqueue import WorkQueue
from nks_operator.settings import DefaultCredentials, OperatorSettings

KEY = ObjectKey("NKSCluster", "ns", "demo")
ID = "c0ffee00-0000-4000-8000-000000000001"
FINALIZER = "nks.nhncloud.com/finalizer"
CREDENTIALS_FINALIZER = "nks.nhncloud.com/credentials-in-use"


# -- fakes -----------------------------------------------------------------------------------


class FakeSpec(BaseModel):
    name: str | None = None
    adopt: str | None = None
    adoption: str | None = None
    nodes: int = Field(default=1, ge=1)
    deletion_policy: str = "Delete"


class FakeStatus(ResourceStatus):
    nks_id: Annotated[str | None, Field(alias="nksID")] = None
    sent_for: str | None = None  # the adapter's own record of a send


class Calls:
    """Everything the fakes were asked to do, in order."""

    def __init__(self) -> None:
        self.log: list[str] = []


class FakeNKS:
    """The NKS client surface the reconciler and the poller use."""

    def __init__(self, calls: Calls) -> None:
        self.calls = calls
        self.supports_error: errors.NKSError | None = None
        self.send_error: errors.NKSError | None = None

    async def get_supports(self) -> Any:
        self.calls.log.append("get_supports")
        if self.supports_error is not None:
            raise self.supports_error
        return type("Supports", (), {"supported_k8s": {"v1.29.3": True}})()

    async def resize_cluster(self, cluster_id: str, **args: Any) -> None:
        self.calls.log.append(f"resize {cluster_id} {args}")
        if self.send_error is not None:
            raise self.send_error

    async def list_clusters(self) -> list[Cluster]:
        return []

    async def aclose(self) -> None:
        return None


class FakeAccount:
    def __init__(self, nks: FakeNKS) -> None:
        self.client = nks
        self.poller = AccountPoller(nks, fast_seconds=1, slow_seconds=60, autostart=False)  # type: ignore[arg-type]

    async def supported_versions(self) -> Mapping[str, bool]:
        return (await self.client.get_supports()).supported_k8s

    # One pass slot, as an account's limiter hands them out.
    key = type("Key", (), {"label": "tenant/kr2"})()
    slots = 1
    taken = 0

    async def acquire_pass_slot(self, wait: float) -> bool:
        if self.taken >= self.slots:
            return False
        self.taken += 1
        return True

    def release_pass_slot(self) -> None:
        assert self.taken > 0, "a slot given back that was never taken"
        self.taken -= 1


class FakeAccounts:
    def __init__(self, account: FakeAccount) -> None:
        self.account = account

    def get(self, credentials: Any, region: str) -> FakeAccount:
        return self.account

    def __len__(self) -> int:
        return 1


def apply_merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386, as the apiserver applies a merge patch: nested objects are merged."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = apply_merge_patch(result[key], value)
        else:
            result[key] = value
    return result


class FakeAPIServer:
    """Answers the reconciler's status and metadata patches like the apiserver."""

    def __init__(self, calls: Calls, body: dict[str, Any]) -> None:
        self.calls = calls
        self.body = body
        self.fail_status = False
        self.store = FakeStore(calls)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        other = not path.startswith("/apis/nks.nhncloud.com/v1alpha1/namespaces/ns/")
        if "/nksownerships" in path or "/secrets" in path or other:
            return self.store.handle(request)
        patch = json.loads(request.content or b"{}")
        if path.endswith("/status"):
            self.calls.log.append(f"status {json.dumps(patch['status'], sort_keys=True)}")
            if self.fail_status:
                return httpx.Response(503, json={"reason": "ServiceUnavailable"})
            self.body["status"] = apply_merge_patch(self.body.get("status") or {}, patch["status"])
        else:
            meta = patch["metadata"]
            self.calls.log.append(f"metadata {json.dumps(meta, sort_keys=True)}")
            target = self.body["metadata"]
            for key, value in meta.items():
                if key == "annotations":
                    annotations = dict(target.get("annotations") or {})
                    for name, text in value.items():
                        if text is None:
                            annotations.pop(name, None)
                        else:
                            annotations[name] = text
                    target["annotations"] = annotations
                elif key != "resourceVersion":
                    target[key] = value
            target["resourceVersion"] = str(int(target["resourceVersion"]) + 1)
        return httpx.Response(200, json=self.body)


class FakeStore:
    """Other objects by path, with the apiserver's create / replace / delete preconditions
    (409 on a name taken or a stale resourceVersion)."""

    def __init__(self, calls: Calls) -> None:
        self.calls = calls
        self.objects: dict[str, dict[str, Any]] = {}
        self.version = 100

    def _stamp(self, body: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        body.setdefault("metadata", {})["resourceVersion"] = str(self.version)
        body["metadata"].setdefault("uid", f"uid-{self.version}")
        return body

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else None
        kind = path.split("/")[-2]
        if request.method == "POST":
            kind = path.rsplit("/", 1)[1]
            path = f"{path}/{body['metadata']['name']}"
            self.calls.log.append(f"{kind} create {body['metadata']['name']}")
            if path in self.objects:
                return httpx.Response(409, json={"reason": "AlreadyExists"})
            self.objects[path] = self._stamp(body)
            return httpx.Response(201, json=body)
        if request.method == "GET" and path.endswith("/nksownerships"):
            selector = request.url.params.get("labelSelector", "")
            label, _, value = selector.partition("=")
            items = [
                o
                for p, o in self.objects.items()
                if "/nksownerships/" in p
                and (o["metadata"].get("labels") or {}).get(label) == value
            ]
            return httpx.Response(200, json={"items": items})
        current = self.objects.get(path)
        if current is None:
            return httpx.Response(404, json={"reason": "NotFound"})
        if request.method == "GET":
            return httpx.Response(200, json=current)
        expected = (
            (body or {}).get("preconditions", {}).get("resourceVersion")
            if request.method == "DELETE"
            else (body or {}).get("metadata", {}).get("resourceVersion")
        )
        if expected is not None and expected != current["metadata"]["resourceVersion"]:
            return httpx.Response(409, json={"reason": "Conflict"})
        self.calls.log.append(f"{kind} {request.method.lower()} {path.rsplit('/', 1)[1]}")
        if request.method == "DELETE":
            del self.objects[path]
            return httpx.Response(200, json={})
        if request.method == "PATCH":
            merged = apply_merge_patch(current, body)
            merged["metadata"]["uid"] = current["metadata"]["uid"]
        else:
            merged = {**body, "metadata": {**body["metadata"], "uid": current["metadata"]["uid"]}}
        self.objects[path] = self._stamp(merged)
        return httpx.Response(200, json=merged)


class FakePoster:
    def __init__(self, calls: Calls) -> None:
        self.calls = calls
        self.events: list[tuple[str, str, str]] = []

    def post(self, body: Any, type_: str, reason: str, message: str) -> None:
        self.events.append((type_, str(reason), message))
        self.calls.log.append(f"event {reason}")


class FakeAdapter(
    Adapter[FakeSpec, FakeStatus, None],
    Identity[FakeSpec, FakeStatus],
    Checking[FakeSpec, FakeStatus, None],
    Creating[FakeSpec, FakeStatus, None],
    Converging[FakeSpec, FakeStatus, None],
    Deleting[FakeSpec, FakeStatus, None],
):
    """One object plays every part, so a test sets what each answers in one place."""

    facts = Facts(
        resource=CLUSTER,
        spec_model=FakeSpec,
        status_model=FakeStatus,
        create_operation="CLUSTER_CREATE",
        delete_operation="CLUSTER_DELETE",
        not_found=Reason.CLUSTER_NOT_FOUND,
        name_in_use=Reason.CLUSTER_NAME_IN_USE,
        ready_reason=Reason.CLUSTER_READY,
        noun="cluster",
        nks_resource="cluster",
        nks_id_is_cluster_id=True,
        findings=lambda: None,
    )
    adoption_field = "adopt"

    def __init__(self, calls: Calls) -> None:
        self.identity = self.checking = self
        self.creating = self.converging = self.deleting = self
        self.calls = calls
        self.existing_ids: list[str] = []
        self.created_by_intent: str | None = None
        self.create_error: errors.NKSError | None = None
        self.plan_result = Plan()
        self.spec_problems: list[str] = []
        self.delete_status: str | None = "CREATE_COMPLETE"
        self.delete_error: errors.NKSError | None = None
        self.blocker: str | None = None

    def nks_id(self, status: FakeStatus) -> str | None:
        return status.nks_id

    def set_nks_id(self, status: FakeStatus, nks_id: str, location: Location) -> None:
        status.nks_id = nks_id

    def restore_id(self, status: FakeStatus, nks_id: str) -> None:
        status.nks_id = nks_id

    def adoption_id(self, spec: FakeSpec) -> str | None:
        return spec.adopt

    def nks_name(self, spec: FakeSpec, metadata_name: str) -> str:
        return spec.name or metadata_name

    async def locate(self, p: Pass) -> Location | Assessment:
        return Location("kr2", None, p.status.nks_id or p.spec.adopt)

    async def locate_for_delete(self, p: Pass) -> Location | None:
        return Location("kr2", None, p.status.nks_id)

    def observe(self, snapshot: ClusterSnapshot, nks_id: str) -> Observed | None:
        if snapshot.cluster is None:
            return None
        return Observed(nks_id, snapshot.cluster, snapshot, getattr(self, "unreadable", {}))

    def problems(
        self, p: Pass, supported: Mapping[str, bool], observed: Observed | None
    ) -> tuple[list[str], list[Drift]]:
        return list(self.spec_problems), []

    def report(self, p: Pass, observed: Observed) -> None:
        p.status.nks_status = observed.status

    async def existing(self, p: Pass, account: Any, location: Location, name: str) -> list[str]:
        self.calls.log.append(f"lookup {name}")
        return list(self.existing_ids)

    async def find_created(
        self, p: Pass, account: Any, location: Location, intent: CreationIntent
    ) -> str | None:
        self.calls.log.append(f"find {intent.name}")
        return self.created_by_intent

    def create_blocker(
        self, p: Pass, location: Location, snapshot: ClusterSnapshot | None
    ) -> str | None:
        return self.blocker

    def secret_refs(self, spec: FakeSpec) -> list[SecretKeyReference]:
        return []

    async def create(
        self, account: Any, location: Location, spec: FakeSpec, name: str, secrets: Any
    ) -> str:
        self.calls.log.append(f"create {name}")
        if self.create_error is not None:
            raise self.create_error
        return ID

    def plan(
        self, p: Pass, observed: Observed, supported: Mapping[str, bool], location: Location
    ) -> Plan:
        return self.plan_result

    def operation_status(self, p: Pass, observed: Observed, target: str | None) -> str | None:
        return observed.status

    def after_send(self, p: Pass, operation: str, args: Mapping[str, Any]) -> None:
        p.status.sent_for = operation

    async def read_for_delete(self, account: Any, location: Location, nks_id: str) -> str | None:
        self.calls.log.append("read for delete")
        return self.delete_status

    async def delete(self, account: Any, location: Location, nks_id: str) -> bool:
        self.calls.log.append("delete")
        if self.delete_error is not None:
            raise self.delete_error
        return self.delete_status is not None  # a 404: already gone


class Harness:
    def __init__(self, *, credentials: bool = True, **settings: Any) -> None:
        self.calls = Calls()
        self.body: dict[str, Any] = {
            "apiVersion": "nks.nhncloud.com/v1alpha1",
            "kind": "NKSCluster",
            "metadata": {
                "name": "demo",
                "namespace": "ns",
                "uid": "u1",
                "generation": 1,
                "resourceVersion": "1",
            },
            "spec": {},
        }
        self.server = FakeAPIServer(self.calls, self.body)
        client = KubeClient(
            lambda: kopf.ConnectionInfo(server="http://apiserver", token="t"),
            transport=httpx.MockTransport(self.server.handle),
        )
        defaults = DefaultCredentials("tenant", "user", "pw") if credentials else None  # type: ignore[arg-type]
        options = {
            "error_backoff_seconds": 60.0,
            "slow_poll_seconds": 120.0,
            "default_credentials_namespaces": ("*",),
            **settings,
        }
        self.settings = OperatorSettings(default_credentials=defaults, **options)
        self.nks = FakeNKS(self.calls)
        self.account = FakeAccount(self.nks)
        self.poster = FakePoster(self.calls)
        self.cache = ObjectCache(
            parent_of=relations.PARENT_OF,
            children_view=relations.SEEN_BY_CHILDREN,
            own_annotations=relations.OWN_ANNOTATIONS,
        )
        metrics = OperatorMetrics()
        kube = KubeAPI(client)
        self.ctx = OperatorContext(
            settings=self.settings,
            kube=kube,
            events=self.poster,  # type: ignore[arg-type]
            accounts=FakeAccounts(self.account),  # type: ignore[arg-type]
            cache=self.cache,
            queue=WorkQueue(),
            metrics=metrics,
            finalizer=FINALIZER,
            credentials_finalizer=CREDENTIALS_FINALIZER,
            ownerships=Ownerships(kube),
            signing=SigningKey(kube, "operator", "signing-key"),
        )
        self.adapter = FakeAdapter(self.calls)
        self.reconciler = Reconciler(self.ctx, {"NKSCluster": self.adapter})

    def spec(self, **spec: Any) -> Harness:
        self.body["spec"] = spec
        return self

    async def signed_intent(self, name: str, requested_at: str) -> str:
        """The annotation the operator itself writes for this resource."""
        intent = CreationIntent(name=name, requested_at=requested_at)
        parts = intent_parts("NKSCluster", self.body["metadata"]["uid"], intent)
        signed = intent.model_copy(update={"signature": await self.ctx.signing.sign(*parts)})
        return json.dumps(signed.model_dump(mode="json", by_alias=True))

    def annotate(self, **annotations: str) -> Harness:
        self.body["metadata"]["annotations"] = annotations
        return self

    def status_of(self, **status: Any) -> Harness:
        self.body["status"] = status
        return self

    def observe(self, status: str = "CREATE_COMPLETE", **cluster: Any) -> ClusterSnapshot:
        snapshot = self.account.poller.watch(ID, KEY)
        snapshot.cluster = Cluster.model_validate({"uuid": ID, "status": status, **cluster})
        snapshot.detailed = True
        snapshot.refreshed_at = time.monotonic()
        return snapshot

    async def run(self) -> Any:
        self.cache.store(KEY, json.loads(json.dumps(self.body)))
        return await self.reconciler.reconcile(KEY)

    @property
    def status(self) -> dict[str, Any]:
        return self.body.get("status") or {}

    def condition(self, type_: str) -> dict[str, Any]:
        return next(c for c in self.status.get("conditions", []) if c["type"] == type_)

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.poster.events]

    def messages(self, reason: str) -> list[str]:
        return [message for _, r, message in self.poster.events if r == reason]


# -- validation, credentials, NKS outages ------------------------------------------------------


async def test_invalid_spec_is_marked_before_any_nks_call() -> None:
    h = Harness().spec(nodes=0)
    result = await h.run()
    assert h.status["phase"] == "Failed"
    assert h.condition("Ready")["reason"] == "InvalidSpec"
    assert h.condition("Synced")["reason"] == "InvalidSpec"
    assert "nodes" in h.condition("Ready")["message"]
    assert result.error == "terminal" and result.requeue_after == 60
    assert not [c for c in h.calls.log if c.startswith(("get_supports", "create", "lookup"))]
    assert h.reasons() == ["InvalidSpec"]
    await h.run()
    assert h.reasons() == ["InvalidSpec"]  # the same problem is posted once


async def test_semantic_problems_are_refused_too() -> None:
    h = Harness()
    h.adapter.spec_problems = ["spec.name 'x' is reserved"]
    await h.run()
    assert h.condition("Ready")["message"] == "spec.name 'x' is reserved"
    assert "create demo" not in h.calls.log


async def test_missing_credentials_leave_it_pending() -> None:
    h = Harness(credentials=False)
    result = await h.run()
    assert h.status["phase"] == "Pending"
    assert h.condition("Ready")["reason"] == "CredentialsMissing"
    assert h.reasons() == ["CredentialsError"]
    assert result.error == "terminal"


async def test_rejected_credentials() -> None:
    h = Harness()
    h.nks.supports_error = errors.UnauthorizedError("bad password", status_code=401)
    await h.run()
    assert h.condition("Ready")["reason"] == "CredentialsRejected"


async def test_an_nks_outage_is_transient_and_backs_off() -> None:
    h = Harness()
    h.nks.supports_error = errors.ServerError("503 Service Unavailable", status_code=503)
    result = await h.run()
    assert result.error == "transient"
    assert h.condition("Synced")["reason"] == "NKSUnavailable"
    assert "phase" not in h.status  # nothing is known: nothing else is claimed


# -- create ---------------------------------------------------------------------------------


async def test_create_records_intent_and_finalizer_in_one_write_before_the_call() -> None:
    h = Harness()
    result = await h.run()
    log = h.calls.log
    create = log.index("create demo")
    before = log[:create]
    writes = [c for c in before if c.startswith(("metadata", "status"))]
    assert len(writes) == 1, before  # the minimum: one write before the create call
    meta = json.loads(writes[0].split(" ", 1)[1])
    assert meta["finalizers"] == [FINALIZER]
    intent = json.loads(meta["annotations"][CREATE_REQUESTED_ANNOTATION])
    assert intent["name"] == "demo"
    assert h.status["nksID"] == ID and h.status["phase"] == "Provisioning"
    assert h.status["lastOperation"]["type"] == "CLUSTER_CREATE"
    assert h.condition("Synced")["reason"] == "CreateRequested"
    assert h.reasons() == ["CreateRequested"]
    assert result.error is None


async def test_a_blocked_create_waits_and_looks_again_soon() -> None:
    # A sibling's claim ends without anything NKS shows changing: only a timer wakes it.
    h = Harness(fast_poll_seconds=3.0)
    h.adapter.blocker = "waiting for another node group of the cluster to be created first"
    result = await h.run()
    assert "create demo" not in h.calls.log
    assert h.status["phase"] == "Pending"
    assert h.condition("Ready")["message"] == h.adapter.blocker
    assert result.error is None and result.requeue_after == 3.0
    h.adapter.blocker = None
    await h.run()
    assert "create demo" in h.calls.log


async def test_paused_before_creation_sends_nothing() -> None:
    h = Harness().annotate(**{"nks.nhncloud.com/paused": "TRUE"})
    await h.run()
    assert h.status["phase"] == "Paused"
    assert h.condition("Ready")["reason"] == "Paused"
    assert not any(c.startswith(("create", "metadata")) for c in h.calls.log)


async def test_name_in_use_is_refused() -> None:
    h = Harness()
    h.adapter.existing_ids = ["someone-elses"]
    await h.run()
    assert h.status["phase"] == "Failed"
    assert h.condition("Ready")["reason"] == "ClusterNameInUse"
    assert "create demo" not in h.calls.log


async def test_refused_create_clears_the_intent() -> None:
    h = Harness()
    h.adapter.create_error = errors.InvalidRequestError("bad flavor", status_code=400)
    await h.run()
    assert h.condition("Ready")["reason"] == "CreateRefused"
    assert CREATE_REQUESTED_ANNOTATION not in (h.body["metadata"].get("annotations") or {})


async def test_uncertain_create_keeps_the_intent_and_adopts_later() -> None:
    h = Harness()
    h.adapter.create_error = errors.ServerError("timeout", status_code=504)
    result = await h.run()
    assert result.error == "transient"
    assert CREATE_REQUESTED_ANNOTATION in h.body["metadata"]["annotations"]
    assert "CreateUncertain" in h.reasons()
    # Within the grace period nothing is sent again: NKS may still show it.
    h.adapter.create_error = None
    await h.run()
    assert h.calls.log.count("create demo") == 1
    # Found by the intent: adopted, never created twice.
    h.adapter.created_by_intent = ID
    await h.run()
    assert h.status["nksID"] == ID
    assert h.condition("Synced")["reason"] == "Adopted"
    assert h.calls.log.count("create demo") == 1


async def test_an_old_intent_without_a_result_creates_again() -> None:
    old = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)).isoformat()
    h = Harness()
    h.annotate(**{CREATE_REQUESTED_ANNOTATION: await h.signed_intent("demo", old)})
    await h.run()
    assert "find demo" in h.calls.log and "create demo" in h.calls.log


@pytest.mark.parametrize("forgery", ["unsigned", "wrong signature", "another resource's"])
async def test_a_hand_written_intent_never_adopts_by_name(forgery: str) -> None:
    old = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)).isoformat()
    h = Harness()
    h.adapter.created_by_intent = ID  # what a lookup by that name would find
    h.adapter.existing_ids = [ID]
    if forgery == "unsigned":
        intent = json.dumps({"name": "demo", "requestedAt": old})
    elif forgery == "wrong signature":
        intent = json.dumps({"name": "demo", "requestedAt": old, "signature": "0" * 64})
    else:  # copied from a resource with another UID
        h.body["metadata"]["uid"] = "other"
        intent = await h.signed_intent("demo", old)
        h.body["metadata"]["uid"] = "u1"
    h.annotate(**{CREATE_REQUESTED_ANNOTATION: intent})
    await h.run()
    assert "find demo" not in h.calls.log
    assert "nksID" not in h.status
    assert h.condition("Ready")["reason"] == "ClusterNameInUse"
    assert ID not in h.condition("Ready")["message"]  # no other resource's id echoed
    assert "NotPermitted" in h.reasons()  # the ignored annotation is reported


# -- one managing resource per NKS id --------------------------------------------------------


def other_owner_record(h: Harness, nks_id: str = ID, *, exists: bool = True) -> None:
    """An ownership record held by another resource (in another namespace)."""
    name = f"cluster.{nks_id}"
    h.server.store.objects[f"/apis/nks.nhncloud.com/v1alpha1/nksownerships/{name}"] = {
        "metadata": {
            "name": name,
            "resourceVersion": "7",
            "uid": "record-uid",
            "labels": {"nks.nhncloud.com/owner-uid": "team-a-uid"},
        },
        "spec": {
            "resource": "cluster",
            "nksID": nks_id,
            "owner": {
                "kind": "NKSCluster",
                "namespace": "team-a",
                "name": "prod",
                "uid": "team-a-uid",
            },
        },
    }
    if exists:
        h.server.store.objects[
            "/apis/nks.nhncloud.com/v1alpha1/namespaces/team-a/nksclusters/prod"
        ] = {"metadata": {"name": "prod", "namespace": "team-a", "uid": "team-a-uid"}}


@pytest.mark.parametrize("through", ["spec", "status"])
async def test_an_id_another_resource_manages_is_refused_before_any_call(through: str) -> None:
    h = Harness()
    other_owner_record(h)
    h.spec(adopt=ID) if through == "spec" else h.status_of(nksID=ID)
    h.observe()
    result = await h.run()
    assert h.condition("Ready")["reason"] == "ManagedByAnotherResource"
    assert h.status["phase"] == "Failed" and result.error == "terminal"
    assert ID not in json.dumps(h.condition("Ready")) and "team-a" not in json.dumps(h.status)
    assert not [c for c in h.calls.log if c.startswith(("get_supports", "resize", "create"))]
    if through == "spec":
        assert "nksID" not in h.status


async def test_a_record_whose_owner_is_gone_is_taken_over() -> None:
    h = Harness().spec(adopt=ID)
    other_owner_record(h, exists=False)
    h.observe()
    await h.run()
    assert h.status["nksID"] == ID and h.condition("Ready")["status"] == "True"
    record = h.server.store.objects[f"/apis/nks.nhncloud.com/v1alpha1/nksownerships/cluster.{ID}"]
    assert record["spec"]["owner"]["uid"] == "u1"


async def test_a_rewritten_status_is_restored_from_the_record() -> None:
    h = Harness().status_of(nksID=ID)
    h.observe()
    await h.run()  # claims ID
    other = "c0ffee00-0000-4000-8000-000000000002"
    other_owner_record(h, other)
    h.body["status"]["nksID"] = other  # someone with status access points it elsewhere
    await h.run()
    assert h.status["nksID"] == ID
    assert "ManagedByAnotherResource" in h.reasons()


async def test_deleting_a_refused_resource_calls_nothing_in_nks() -> None:
    h = Harness().status_of(nksID=ID)
    other_owner_record(h)
    h.body["metadata"]["finalizers"] = [FINALIZER]
    h.body["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    await h.run()
    assert "delete" not in h.calls.log and "read for delete" not in h.calls.log
    assert h.body["metadata"]["finalizers"] == []
    assert f"cluster.{ID}" in "".join(h.server.store.objects)  # the other's record stays


async def test_deletion_releases_the_record() -> None:
    h = Harness().status_of(nksID=ID)
    h.observe()
    await h.run()
    assert any(p.endswith(f"cluster.{ID}") for p in h.server.store.objects)
    h.body["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    h.adapter.delete_status = None  # NKS says it is gone
    await h.run()
    assert not any(p.endswith(f"cluster.{ID}") for p in h.server.store.objects)


async def test_default_credentials_serve_only_allowed_namespaces() -> None:
    h = Harness(default_credentials_namespaces=None, operator_namespace="nks-system")
    await h.run()
    assert h.condition("Ready")["reason"] == "DefaultCredentialsNotAllowed"
    assert not [c for c in h.calls.log if c.startswith(("get_supports", "create", "lookup"))]
    h = Harness(default_credentials_namespaces=("team-*", "ns"))
    await h.run()
    assert "create demo" in h.calls.log


# -- observe and converge -------------------------------------------------------------------


async def test_not_read_yet_changes_nothing() -> None:
    h = Harness().status_of(nksID=ID, phase="Ready")
    h.account.poller.watch(ID, KEY)
    await h.run()
    assert h.status == {"nksID": ID, "phase": "Ready"}


async def test_gone_behind_our_back_is_reported_not_recreated() -> None:
    h = Harness().status_of(nksID=ID)
    h.account.poller.watch(ID, KEY).gone = True
    await h.run()
    assert h.status["phase"] == "Failed"
    assert h.condition("Ready")["reason"] == "ClusterNotFound"
    assert "create demo" not in h.calls.log


async def test_in_sync() -> None:
    h = Harness().status_of(nksID=ID)
    h.observe()
    result = await h.run()
    assert h.status["phase"] == "Ready"
    assert [h.condition(t)["status"] for t in ("Ready", "Synced", "Progressing")] == [
        "True",
        "True",
        "False",
    ]
    assert result.requeue_after == 120 and result.error is None


async def test_a_failing_poll_is_reported_and_nothing_is_planned_on_an_old_view() -> None:
    h = Harness().status_of(nksID=ID)
    h.observe()
    await h.run()
    h.adapter.plan_result = Plan(action=resize())
    h.account.poller.last_error = errors.ServerError("503 Service Unavailable", status_code=503)
    result = await h.run()
    assert h.condition("Ready")["status"] == "True"  # what was read last still holds
    assert (h.condition("Synced")["status"], h.condition("Synced")["reason"]) == (
        "False",
        "NKSUnavailable",
    )
    assert result.error == "transient"
    assert not [c for c in h.calls.log if c.startswith("resize")]
    h.account.poller.last_error = None
    await h.run()
    assert h.condition("Synced")["reason"] != "NKSUnavailable"


async def test_a_failing_read_of_one_cluster_is_reported_on_its_resources_only() -> None:
    h = Harness().status_of(nksID=ID)
    snapshot = h.observe()
    await h.run()
    h.adapter.plan_result = Plan(action=resize())
    snapshot.read_error = "HTTP 429: Too many requests"
    result = await h.run()
    assert h.account.poller.last_error is None
    synced = h.condition("Synced")
    assert (synced["status"], synced["reason"]) == ("False", "NKSUnavailable")
    assert "429" in synced["message"] and result.error == "transient"
    assert not [c for c in h.calls.log if c.startswith("resize")]
    snapshot.read_error = None
    await h.run()
    assert [c for c in h.calls.log if c.startswith("resize")]


async def test_nks_failed() -> None:
    h = Harness().status_of(nksID=ID)
    h.observe("UPDATE_FAILED", status_reason="quota")
    await h.run()
    assert h.status["phase"] == "Failed"
    assert h.condition("Ready")["message"] == "NKS reports UPDATE_FAILED: quota"
    assert h.condition("Synced")["status"] == "True"


async def test_creating_is_not_ready_and_an_update_stays_ready() -> None:
    h = Harness().status_of(
        nksID=ID, lastOperation={"type": "CLUSTER_CREATE", "state": "Requested"}
    )
    h.observe("CREATE_IN_PROGRESS")
    await h.run()
    assert h.status["phase"] == "Provisioning" and h.condition("Ready")["status"] == "False"
    h.observe("CREATE_COMPLETE")
    await h.run()
    assert h.status["lastOperation"]["state"] == "Succeeded"
    h.observe("UPDATE_IN_PROGRESS")
    await h.run()
    assert h.status["phase"] == "Updating" and h.condition("Ready")["status"] == "True"


async def test_blocked_and_waiting_plans_are_not_synced() -> None:
    h = Harness().status_of(nksID=ID)
    h.observe()
    h.adapter.plan_result = Plan(blocked=[Blocked(Reason.UPGRADE_BLOCKED, "start nodes first")])
    await h.run()
    assert h.condition("Synced")["reason"] == "UpgradeBlocked"
    assert h.reasons() == ["UpgradeBlocked"]
    # A control-plane upgrade waiting for a node group is not "spec and NKS agree".
    h.adapter.plan_result = Plan(waiting=Waiting("waiting for node group(s) pool"))
    await h.run()
    assert h.condition("Synced")["status"] == "False"
    assert h.condition("Synced")["reason"] == "Waiting"
    assert h.condition("Progressing")["status"] == "True"


async def send_resize(client: FakeNKS, cluster_id: str, **args: Any) -> None:
    await client.resize_cluster(cluster_id, **args)


def resize(nodes: int = 3) -> Action:
    return Action(
        "CLUSTER_RESIZE",
        send_resize,
        {"nodegroup": "default-worker", "node_count": nodes},
        f"resize default-worker to {nodes}",
        "default-worker",
    )


async def test_an_operation_is_recorded_before_it_is_sent() -> None:
    h = Harness().status_of(nksID=ID)
    h.observe()
    h.adapter.plan_result = Plan(action=resize())
    await h.run()
    log = h.calls.log
    sent = next(i for i, c in enumerate(log) if c.startswith("resize"))
    recorded = next(i for i, c in enumerate(log) if c.startswith("status") and "Requested" in c)
    assert recorded < sent
    assert h.status["lastOperation"]["state"] == "Requested"
    assert h.status["phase"] == "Updating"
    assert h.condition("Synced")["reason"] == "OperationRequested"
    assert "OperationRequested" in h.reasons()
    # The next pass follows it instead of sending it again.
    await h.run()
    assert sum(c.startswith("resize") for c in h.calls.log) == 1


async def test_refused_operation_is_not_retried_until_the_spec_changes() -> None:
    h = Harness().status_of(nksID=ID)
    h.observe()
    h.adapter.plan_result = Plan(action=resize())
    h.nks.send_error = errors.InvalidRequestError("quota exceeded", status_code=400)
    result = await h.run()
    assert h.condition("Synced")["reason"] == "OperationRefused"
    # A person must act: a terminal error (counted), looked at again on the slow timer.
    assert result.error == "terminal" and result.requeue_after == h.settings.slow_poll_seconds
    assert h.status["lastOperation"]["refused"] is True
    message = h.condition("Synced")["message"]
    await h.run()
    assert sum(c.startswith("resize") for c in h.calls.log) == 1
    # Shown the same way on every later pass: the same reason and words, one Warning.
    assert h.condition("Synced")["reason"] == "OperationRefused"
    assert h.condition("Synced")["message"] == message
    assert "change the spec to try again" in message
    assert h.reasons().count("OperationRefused") == 1


async def test_a_busy_refusal_is_a_wait_not_a_failure() -> None:
    h = Harness().status_of(nksID=ID)
    h.observe()
    h.adapter.plan_result = Plan(action=resize())
    h.nks.send_error = errors.InvalidRequestError("cluster update in progress", status_code=400)
    await h.run()
    # Nothing happened: no operation to follow, and the adapter's record of it is gone.
    assert "lastOperation" not in h.status and "sentFor" not in h.status
    assert h.condition("Progressing")["reason"] == "Waiting"
    h.nks.send_error = None
    await h.run()
    assert h.status["lastOperation"]["state"] == "Requested"
    assert h.status["sentFor"] == "CLUSTER_RESIZE"


async def test_a_throttled_send_leaves_no_record_and_backs_off() -> None:
    h = Harness().status_of(nksID=ID)
    h.observe()
    h.adapter.plan_result = Plan(action=resize())
    h.nks.send_error = errors.RateLimitedError("slow down", status_code=429, retry_after=5)
    result = await h.run()
    assert "lastOperation" not in h.status  # refused unread: nothing to follow
    assert "sentFor" not in h.status
    assert h.condition("Synced")["reason"] == "NKSUnavailable"
    assert result.error == "transient"


async def test_a_lost_answer_that_never_shows_is_sent_again_without_counting() -> None:
    h = Harness().status_of(nksID=ID)
    h.observe()
    h.adapter.plan_result = Plan(action=resize())
    h.nks.send_error = errors.ServerError("boom", status_code=500)
    await h.run()
    assert h.status["lastOperation"]["state"] == "Requested"  # it may have happened
    h.nks.send_error = None
    h.body["status"]["lastOperation"] = operation(age=120)  # and it never showed
    await h.run()
    assert any("answer to" in m for m in h.messages("OperationDropped"))
    await h.run()
    assert h.status["lastOperation"]["attempt"] == 1  # NKS never accepted the first one
    h.body["status"]["lastOperation"] = operation(age=120)  # accepted, never applied
    await h.run()
    await h.run()
    assert h.status["lastOperation"]["attempt"] == 2
    assert sum(c.startswith("resize") for c in h.calls.log) == 3


async def test_paused_resource_sends_nothing() -> None:
    h = Harness().status_of(nksID=ID).annotate(**{"nks.nhncloud.com/paused": "true"})
    h.observe()
    h.adapter.plan_result = Plan(action=resize())
    await h.run()
    assert not any(c.startswith("resize") for c in h.calls.log)
    assert h.status["phase"] == "Paused"
    assert "would resize" in h.condition("Synced")["message"]


def operation(**fields: Any) -> dict[str, Any]:
    started = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=fields.pop("age", 1))
    return {
        "type": "CLUSTER_RESIZE",
        "state": "Requested",
        "target": "default-worker",
        "sinceTaskID": 10,
        "message": "resize default-worker to 3",
        "startedAt": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generation": 1,
        **fields,
    }


async def test_following_confirms_by_task_history() -> None:
    h = Harness().status_of(nksID=ID, lastOperation=operation())
    snapshot = h.observe("UPDATE_IN_PROGRESS")
    snapshot.tasks = [
        TaskEvent.model_validate(
            {"uuid": "t", "id": 11, "type": "CLUSTER_RESIZE", "state": "IN_PROGRESS"}
        )
    ]
    await h.run()
    assert h.status["lastOperation"]["state"] == "InProgress"
    assert h.condition("Progressing")["reason"] == "OperationInProgress"
    h.observe("UPDATE_COMPLETE").tasks = [
        TaskEvent.model_validate(
            {"uuid": "t", "id": 11, "type": "CLUSTER_RESIZE", "state": "SUCCESS"}
        )
    ]
    await h.run()
    assert h.status["lastOperation"]["state"] == "Succeeded"
    assert "OperationSucceeded" in h.reasons()


async def test_a_dropped_operation_is_sent_once_more_then_reported() -> None:
    h = Harness().status_of(nksID=ID, lastOperation=operation(age=120))
    h.observe()
    h.adapter.plan_result = Plan(action=resize())
    result = await h.run()
    assert "OperationDropped" in h.reasons()
    assert result.requeue_after == 0  # the next pass, at once, sends it again
    assert h.condition("Synced")["reason"] == "Waiting"
    await h.run()
    assert h.status["lastOperation"]["attempt"] == 2
    assert sum(c.startswith("resize") for c in h.calls.log) == 1
    h.body["status"]["lastOperation"] = operation(age=120, attempt=2)
    await h.run()
    assert h.status["lastOperation"]["state"] == "Failed"
    assert "OperationFailed" in h.reasons()
    assert sum(c.startswith("resize") for c in h.calls.log) == 1  # not a third time


async def test_an_old_view_never_counts_an_operation_as_dropped() -> None:
    h = Harness().status_of(nksID=ID, lastOperation=operation(age=120))
    snapshot = h.observe()
    snapshot.refreshed_at = time.monotonic() - 100  # reads failed since: read 20 s after
    h.adapter.plan_result = Plan(action=resize())
    await h.run()
    assert "OperationDropped" not in h.reasons()
    assert h.status["lastOperation"]["state"] == "Requested"
    snapshot.refreshed_at = time.monotonic()
    await h.run()
    assert "OperationDropped" in h.reasons()


async def test_a_rollback_fails_the_operation() -> None:
    h = Harness().status_of(nksID=ID, lastOperation=operation(state="InProgress"))
    h.observe("ROLLBACK_COMPLETE", status_reason="pdb blocked the drain")
    h.adapter.plan_result = Plan(action=resize())  # the spec still asks for it
    await h.run()
    assert h.status["lastOperation"]["state"] == "Failed"
    assert "pdb blocked the drain" in h.status["lastOperation"]["message"]
    assert h.status["phase"] == "Ready"  # NKS undid it: the cluster works as before
    # Held back on the next passes, in the words of the one Warning posted for it.
    await h.run()
    await h.run()
    assert not any(c.startswith("resize") for c in h.calls.log)
    [warning] = h.messages("OperationFailed")
    assert h.condition("Synced")["reason"] == "OperationFailed"
    assert h.condition("Synced")["message"] == warning
    assert warning.endswith("change the spec to try again")


async def test_an_operation_past_its_deadline_is_reported_and_still_followed() -> None:
    h = Harness(update_timeout_seconds=60).status_of(
        nksID=ID, lastOperation=operation(state="InProgress", age=120)
    )
    h.observe("UPDATE_IN_PROGRESS")
    await h.run()
    assert h.condition("Progressing")["status"] == "False"
    assert h.condition("Progressing")["reason"] == "OperationTimedOut"
    assert "OperationTimedOut" in h.reasons()
    h.observe("UPDATE_COMPLETE")
    await h.run()
    assert h.status["lastOperation"]["state"] == "Succeeded"
    assert h.condition("Progressing")["reason"] == "Idle"


async def test_an_unreadable_answer_marks_only_synced() -> None:
    h = Harness().status_of(nksID=ID)
    h.observe()
    h.adapter.unreadable = {"labels.extra_volumes": "expected a list"}  # type: ignore[attr-defined]
    await h.run()
    assert h.condition("Ready")["status"] == "True"
    assert h.condition("Synced")["reason"] == "NKSAnswerInvalid"
    assert "labels.extra_volumes" in h.condition("Synced")["message"]


async def test_a_status_write_that_fails_is_retried_not_fatal() -> None:
    h = Harness().status_of(nksID=ID)
    h.observe()
    h.server.fail_status = True
    result = await h.run()
    assert result.error == "transient" and result.kubernetes_error
    h.server.fail_status = False
    await h.run()
    assert h.condition("Ready")["status"] == "True"


# -- deletion -------------------------------------------------------------------------------


def deleting(h: Harness, **spec: Any) -> Harness:
    h.body["metadata"]["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    h.body["metadata"]["finalizers"] = [FINALIZER]
    h.body["spec"] = spec
    return h


async def test_retain_releases_without_deleting_in_nks() -> None:
    h = deleting(Harness().status_of(nksID=ID), deletionPolicy="Retain")
    result = await h.run()
    assert result.requeue_after is None
    assert h.body["metadata"]["finalizers"] == []
    assert "delete" not in h.calls.log and h.reasons() == ["Retained"]


async def test_delete_then_release_when_nks_says_gone() -> None:
    h = deleting(Harness().status_of(nksID=ID))
    await h.run()
    assert "delete" in h.calls.log and h.status["phase"] == "Deleting"
    assert h.body["metadata"]["finalizers"] == [FINALIZER]
    h.adapter.delete_status = "DELETE_IN_PROGRESS"
    await h.run()
    assert h.calls.log.count("delete") == 1
    h.adapter.delete_status = None
    result = await h.run()
    assert result.requeue_after is None and h.body["metadata"]["finalizers"] == []
    assert h.reasons()[-1] == "Deleted"


async def test_after_a_look_the_passes_answer_from_a_snapshot_read_since() -> None:
    h = deleting(Harness().status_of(nksID=ID))
    # Read before the deletion began, showing the cluster: the first look takes it (the
    # delete call's own answer says whether it is gone meanwhile).
    h.observe("CREATE_COMPLETE")
    await h.run()
    assert h.calls.log.count("read for delete") == 0 and h.calls.log.count("delete") == 1
    h.adapter.delete_status = "DELETE_IN_PROGRESS"
    await h.run()  # nothing read since the call: NKS is read
    assert h.calls.log.count("read for delete") == 1
    h.observe("DELETE_IN_PROGRESS")  # the poller read it after that
    h.adapter.delete_status = "CREATE_COMPLETE"  # (a read now would send the delete again)
    await h.run()
    assert h.calls.log.count("read for delete") == 1 and h.calls.log.count("delete") == 1
    assert h.status["phase"] == "Deleting"
    h.account.poller.last_error = errors.ServerError("503", status_code=503)
    with contextlib.suppress(Exception):
        await h.run()  # the account's polls fail: NKS is read (and its outage shown)
    assert h.calls.log.count("read for delete") == 2
    h.account.poller.last_error = None
    h.adapter.delete_status = "DELETE_IN_PROGRESS"
    h.account.poller.watch(ID, KEY).gone = True  # NKS answered 404
    result = await h.run()
    assert h.calls.log.count("read for delete") == 2
    assert result.requeue_after is None and h.body["metadata"]["finalizers"] == []


async def test_a_first_look_without_a_usable_snapshot_reads_nks() -> None:
    h = deleting(Harness().status_of(nksID=ID))
    h.observe("CREATE_COMPLETE").problems = {"cluster": "unreadable"}
    await h.run()
    assert h.calls.log.count("read for delete") == 1 and h.calls.log.count("delete") == 1


async def test_a_deletion_waits_while_the_snapshot_shows_another_operation_running() -> None:
    h = deleting(Harness().status_of(nksID=ID))
    h.adapter.delete_error = errors.InvalidRequestError(
        "Another operation is in progress", status_code=400
    )
    result = await h.run()  # refused: another operation runs; no error backoff
    assert h.calls.log.count("delete") == 1 and result.error is None
    assert result.requeue_after is not None and "DeleteRefused" not in h.reasons()
    snapshot = h.observe("CREATE_COMPLETE")  # read since: a node group is being deleted
    snapshot.nodegroups = {
        "pool": NodeGroup.model_validate(
            {"uuid": "g", "name": "pool", "status": "DELETE_IN_PROGRESS"}
        )
    }
    await h.run()
    assert h.calls.log.count("delete") == 1 and h.calls.log.count("read for delete") == 1
    assert "waiting for DELETE_IN_PROGRESS" in h.condition("Ready")["message"]


async def test_deletion_waits_for_a_running_operation() -> None:
    h = deleting(Harness().status_of(nksID=ID))
    h.adapter.delete_status = "UPDATE_IN_PROGRESS"
    await h.run()
    assert "delete" not in h.calls.log
    assert "waiting for UPDATE_IN_PROGRESS" in h.condition("Ready")["message"]


async def test_nothing_sent_nothing_to_delete() -> None:
    h = deleting(Harness())
    result = await h.run()
    assert result.requeue_after is None and h.body["metadata"]["finalizers"] == []
    assert "read for delete" not in h.calls.log


async def test_a_refused_delete_is_retried_with_backoff() -> None:
    h = deleting(Harness().status_of(nksID=ID))
    h.adapter.delete_error = errors.ServerError("boom", status_code=500)
    result = await h.run()
    assert result.error == "transient"
    assert "DeleteRefused" in h.reasons()


@pytest.mark.parametrize("value", ["true", "True", "TRUE"])
async def test_paused_deletion_waits(value: str) -> None:
    h = deleting(Harness().status_of(nksID=ID)).annotate(**{"nks.nhncloud.com/paused": value})
    await h.run()
    assert "delete" not in h.calls.log and h.status["phase"] == "Paused"
    assert h.body["metadata"]["finalizers"] == [FINALIZER]


async def test_a_deleted_object_is_forgotten() -> None:
    h = Harness()
    result = await h.reconciler.reconcile(KEY)  # never cached: gone from Kubernetes
    assert result.requeue_after is None


def test_last_operation_model_round_trip() -> None:
    assert LastOperation.model_validate(operation(attempt=2)).attempt == 2


async def test_a_pass_without_a_free_slot_of_its_account_does_nothing_and_backs_off() -> None:
    h = Harness()
    h.account.taken = h.account.slots  # other passes of the account hold every slot
    result = await h.run()
    assert result.error == "transient"  # retried with the key's backoff
    assert not [c for c in h.calls.log if c.startswith(("get_supports", "create", "status"))]
    h.account.taken = 0
    await h.run()
    assert "create demo" in h.calls.log
    assert h.account.taken == 0  # every pass gives its slot back


@pytest.mark.parametrize("ending", ["problem", "kubernetes error", "deletion"])
async def test_the_slot_is_given_back_however_the_pass_ends(ending: str) -> None:
    h = Harness().status_of(nksID=ID)
    h.observe()
    if ending == "problem":
        h.adapter.spec_problems = ["spec.name is reserved"]
    elif ending == "kubernetes error":
        h.server.fail_status = True
    else:
        h.body["metadata"]["finalizers"] = [FINALIZER]
        h.body["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    await h.run()
    assert h.account.taken == 0


async def test_adoption_by_name_takes_over_an_existing_cluster_of_that_name() -> None:
    """A manifest applied again on a new management cluster: no create, the cluster kept."""
    h = Harness().spec(adoption="ByName")
    h.adapter.existing_ids = [ID]
    await h.run()
    assert "create demo" not in h.calls.log
    assert h.status["nksID"] == ID
    assert h.condition("Synced")["reason"] == "Adopted"
    assert any(p.endswith(f"cluster.{ID}") for p in h.server.store.objects)


async def test_adoption_by_name_never_takes_another_resources_cluster() -> None:
    h = Harness().spec(adoption="ByName")
    h.adapter.existing_ids = [ID]
    other_owner_record(h)
    await h.run()
    assert "nksID" not in h.status and "create demo" not in h.calls.log
    assert h.condition("Ready")["reason"] == "ManagedByAnotherResource"


async def test_adoption_by_name_with_several_of_that_name_adopts_none() -> None:
    h = Harness().spec(adoption="ByName")
    h.adapter.existing_ids = [ID, "c0ffee00-0000-4000-8000-000000000002"]
    await h.run()
    assert "nksID" not in h.status and "create demo" not in h.calls.log
    assert h.condition("Ready")["reason"] == "ClusterNameInUse"
    assert "2 clusters named" in h.condition("Ready")["message"]
