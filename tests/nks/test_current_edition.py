"""The client's current-edition methods end to end against the simulator, and the tolerant
reading of both forms of every contested answer (the simulator's knobs and
`answer_labels` give each form; docs/nks-api-notes.md, "The current edition")."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from nks_devtools.simulator import SimulatorHandle
from nks_operator.nks import (
    ClusterCreateLabels,
    ClusterCreateRequest,
    ConflictError,
    Credentials,
    DeleteResult,
    InvalidRequestError,
    NKSClient,
    NodeGroupCreateLabels,
    NodeGroupCreateRequest,
    NotFoundError,
    Operation,
    RetryPolicy,
    TokenCache,
    tasks,
)
from nks_operator.nks.models import (
    ControlPlaneLog,
    Freshness,
    MetricRule,
    NodeCounts,
    ScaleInPolicy,
    ScaleOutPolicy,
    SkmKey,
)

VERSION = "v1.28.3"
SUBNET = str(uuid.UUID(int=11, version=4))
SGW = str(uuid.UUID(int=12, version=4))
APPKEY = "lncs-app-key-secret-9"
CPU_RULE = MetricRule(metric="GROUP_CPU_USAGE", threshold=80, duration=3)


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
async def nks(simulator: SimulatorHandle) -> AsyncIterator[NKSClient]:
    credentials = Credentials(tenant_id=uuid.uuid4().hex, username="ops", password="pw-0001")
    async with NKSClient(
        credentials,
        "KR1",
        nks_url=simulator.url,
        identity_url=simulator.url,
        token_cache=TokenCache(),
        retry=RetryPolicy(initial_backoff=0.01, max_backoff=0.05, jitter=False),
    ) as client:
        yield client


@pytest.fixture
async def admin(simulator: SimulatorHandle) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=simulator.url + "/_sim") as client:
        yield client


async def sim(admin: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    response = await admin.request(method, path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def idle(admin: httpx.AsyncClient) -> None:
    """Run every pending operation to its end now."""
    await sim(admin, "POST", "/finish-operations", {})


def create_request(name: str, **labels: Any) -> ClusterCreateRequest:
    return ClusterCreateRequest(
        name=name,
        keypair="ops-keypair",
        flavor_id=new_id(),
        fixed_network=new_id(),
        fixed_subnet=SUBNET,
        labels=ClusterCreateLabels(
            availability_zone="kr1-pub-a",
            node_image=new_id(),
            boot_volume_type="General SSD",
            boot_volume_size=50,
            kube_tag=VERSION,
            master_lb_floating_ip_enabled=False,
            **labels,
        ),
    )


@pytest.fixture
async def cluster_id(nks: NKSClient, admin: httpx.AsyncClient) -> str:
    created = await nks.create_cluster(create_request("today"))
    await idle(admin)
    return created


# -- create-time labels ------------------------------------------------------------------


async def test_create_with_the_current_editions_labels(
    nks: NKSClient, admin: httpx.AsyncClient
) -> None:
    logs = ControlPlaneLog(enable=True, type="lncs", sgw=SGW, lncs_appkey=SecretStr(APPKEY))
    request = create_request(
        "labels",
        k8s_node_labels={"env": "prod"},
        mba_scale_out=ScaleOutPolicy(enable=True, max_node_count=4, rules=[CPU_RULE]),
        fip_auto_bind_enable=True,
        fip_bind_subnet=SUBNET,
        ca_pod_replicas=2,
        control_plane_log=logs,
        skm=SkmKey(key_id="skm-key-1"),
    )
    wire = request.to_wire()["labels"]
    assert json.loads(wire["k8s_node_labels"]) == {"env": "prod"}  # JSON text
    assert json.loads(wire["mba_scale_out"])["enable"] is True
    assert (wire["fip_auto_bind_enable"], wire["ca_pod_replicas"]) == ("True", "2")
    assert json.loads(wire["skm"]) == {"key_id": "skm-key-1"}
    cluster_id = await nks.create_cluster(request)
    await idle(admin)

    cluster = await nks.get_cluster(cluster_id)
    labels = cluster.labels
    assert labels.k8s_node_labels == {"env": "prod"}
    assert labels.mba_scale_out is not None and labels.mba_scale_out.enable is True
    assert labels.mba_scale_out.rules is not None
    assert labels.mba_scale_out.rules[0].metric == "GROUP_CPU_USAGE"
    assert (labels.fip_auto_bind_enable, labels.fip_bind_subnet) == (True, SUBNET)
    assert labels.ca_pod_replicas == 2 and labels.skm == SkmKey(key_id="skm-key-1")
    assert labels.control_plane_log is not None and labels.control_plane_log.type == "lncs"
    assert APPKEY not in repr(cluster)
    assert cluster.unreadable == {}

    group = await nks.create_nodegroup(
        cluster_id,
        NodeGroupCreateRequest(
            name="pool",
            flavor_id=new_id(),
            image_id=new_id(),
            labels=NodeGroupCreateLabels(
                availability_zone="kr1-pub-a",
                boot_volume_type="General SSD",
                boot_volume_size=50,
                k8s_node_labels={"pool": "a"},
                mba_scale_in=ScaleInPolicy(enable=False),
            ),
        ),
    )
    await idle(admin)
    pool = await nks.get_nodegroup(cluster_id, group.uuid)
    assert pool.labels.k8s_node_labels == {"pool": "a"}
    assert pool.labels.mba_scale_in is not None and pool.labels.mba_scale_in.enable is False


def test_create_requests_refuse_what_nks_refuses() -> None:
    with pytest.raises(ValidationError, match="reserved"):
        create_request("x", k8s_node_labels={"kubernetes.io/role": "x"})
    with pytest.raises(ValidationError, match="at least one rule"):
        create_request("x", mba_scale_out=ScaleOutPolicy(enable=True))
    with pytest.raises(ValidationError, match="delay"):
        ScaleInPolicy(enable=False, delay=61)
    with pytest.raises(ValidationError, match="lncs_appkey"):
        ControlPlaneLog(enable=True, type="lncs", sgw=SGW)
    with pytest.raises(ValidationError, match="obs_api_url"):
        ControlPlaneLog(enable=True, type="obs", sgw=SGW)


# -- node group settings -----------------------------------------------------------------


async def test_node_labels_metric_autoscaler_and_floating_ips(
    nks: NKSClient, admin: httpx.AsyncClient, cluster_id: str
) -> None:
    group = "default-worker"
    answer = await nks.set_node_labels(cluster_id, group, {"env": "prod", "tier": ""})
    worker = await nks.get_nodegroup(cluster_id, group)
    assert answer.uuid == worker.uuid and worker.is_in_progress
    await idle(admin)
    assert (await nks.get_nodegroup(cluster_id, group)).labels.k8s_node_labels == {
        "env": "prod",
        "tier": "",
    }
    with pytest.raises(ValueError, match="at most 20"):
        await nks.set_node_labels(cluster_id, group, {f"k{i}": "v" for i in range(21)})

    before = (await nks.get_nodegroup(cluster_id, group)).labels.mba_scale_out
    assert before is not None and before.enable is False and before.max_node_count == 10
    await nks.set_metric_autoscaler(
        cluster_id,
        group,
        scale_out=ScaleOutPolicy(enable=True, max_node_count=5, delay=5, rules=[CPU_RULE]),
        scale_in=ScaleInPolicy(enable=False),
    )
    await idle(admin)
    policy = (await nks.get_nodegroup(cluster_id, group)).labels.mba_scale_out
    assert policy is not None and (policy.enable, policy.max_node_count, policy.delay) == (
        True,
        5,
        5,
    )
    with pytest.raises(InvalidRequestError, match="autoscaler"):
        await nks.resize_cluster(cluster_id, nodegroup=group, node_count=3)
    with pytest.raises(ValueError, match="scale-out policy"):
        await nks.set_metric_autoscaler(cluster_id, group)

    await nks.set_fip_auto_bind(cluster_id, group, enable=True, subnet=SUBNET, selector="pool-a")
    await idle(admin)
    labels = (await nks.get_nodegroup(cluster_id, group)).labels
    assert (labels.fip_auto_bind_enable, labels.fip_bind_subnet, labels.fip_selector) == (
        True,
        SUBNET,
        "pool-a",
    )
    with pytest.raises(InvalidRequestError, match="subnet"):
        await nks.set_fip_auto_bind(cluster_id, group, enable=True, subnet=new_id())

    events = await nks.list_events(cluster_id)
    assert [e.type for e in events][-3:] == [
        "NODEGROUP_UPDATE_K8S_NODE_LABELS",
        "NODEGROUP_SET_METRIC_BASE_AUTOSCALER",
        "NODEGROUP_UPDATE_FIP_AUTO_BIND",
    ]
    for operation, event in zip(
        (Operation.SET_NODE_LABELS, Operation.SET_METRIC_AUTOSCALER, Operation.SET_FIP_AUTO_BIND),
        events[-3:],
        strict=True,
    ):
        assert event.type in tasks.task_names(operation) and event.succeeded


async def test_control_plane_log(nks: NKSClient, admin: httpx.AsyncClient, cluster_id: str) -> None:
    logs = ControlPlaneLog(
        enable=True, type="lncs", sgw=SGW, upload_interval=5, lncs_appkey=SecretStr(APPKEY)
    )
    answer = await nks.set_control_plane_log(cluster_id, logs)
    assert answer.uuid == cluster_id
    await idle(admin)
    shown = (await nks.get_cluster(cluster_id)).labels.control_plane_log
    assert shown is not None and (shown.enable, shown.upload_interval) == (True, 5)
    assert shown.lncs_appkey is not None and shown.lncs_appkey.get_secret_value() == APPKEY
    await nks.set_control_plane_log(cluster_id, ControlPlaneLog(enable=False))
    await idle(admin)
    shown = (await nks.get_cluster(cluster_id)).labels.control_plane_log
    assert shown is not None and shown.enable is False
    assert (await nks.list_events(cluster_id))[-1].type == "CLUSTER_UPDATE_CONTROL_PLANE_LOG"


# -- add-ons -----------------------------------------------------------------------------


async def test_addons(nks: NKSClient, admin: httpx.AsyncClient, cluster_id: str) -> None:
    types = {t.name: t for t in await nks.list_addon_types()}
    assert types["cni"].mandatory is True and types["metrics-server"].mandatory is False
    assert (await nks.get_addon_type("kube-dns")).uuid == types["kube-dns"].uuid

    catalogue = await nks.list_addon_catalogue()
    versions = [e.version for e in catalogue if e.name == "metrics-server"]
    assert len(versions) >= 2
    entry = next(e for e in catalogue if e.name == "metrics-server")
    assert (await nks.get_addon_catalogue_entry(entry.uuid)) == entry
    replicas = entry.option("replicas")
    assert replicas is not None and (replicas.data_type, replicas.updatable) == ("INTEGER", True)

    installed = {a.name: a for a in await nks.list_cluster_addons(cluster_id)}
    assert set(installed) == {"calico", "coredns"}  # the mandatory types
    assert all(a.is_stable for a in installed.values())

    answer = await nks.install_addon(
        cluster_id,
        name="metrics-server",
        version=versions[0],
        resolve_conflicts="overwrite",
        options={"replicas": "2"},
    )
    assert answer.uuid == cluster_id
    assert (await nks.get_cluster_addon(cluster_id, "metrics-server")).is_in_progress
    await idle(admin)
    done = await nks.get_cluster_addon(cluster_id, "metrics-server")
    assert (done.version, done.options, done.status) == (
        versions[0],
        {"replicas": "2"},
        "UPDATE_COMPLETE",
    )
    with pytest.raises(ConflictError):
        await nks.install_addon(
            cluster_id, name="metrics-server", version=versions[1], resolve_conflicts="none"
        )

    await sim(admin, "POST", "/fail-next", {"operation": "update_addon", "reason": "conflict"})
    await nks.update_addon(cluster_id, done.uuid, version=versions[1], resolve_conflicts="none")
    await idle(admin)
    failed = await nks.get_cluster_addon(cluster_id, done.uuid)
    assert failed.is_failed and failed.status_reason == "conflict" and failed.version == versions[0]
    await nks.update_addon(
        cluster_id, "metrics-server", version=versions[1], resolve_conflicts="overwrite"
    )
    await idle(admin)
    assert (await nks.get_cluster_addon(cluster_id, "metrics-server")).version == versions[1]

    with pytest.raises(InvalidRequestError, match="mandatory"):
        await nks.uninstall_addon(cluster_id, "coredns")
    assert await nks.uninstall_addon(cluster_id, "metrics-server") is DeleteResult.ACCEPTED
    await idle(admin)
    assert await nks.uninstall_addon(cluster_id, "metrics-server") is DeleteResult.ALREADY_GONE
    with pytest.raises(NotFoundError):
        await nks.get_cluster_addon(cluster_id, "metrics-server")
    types_seen = [e.type for e in await nks.list_events(cluster_id)]
    assert {"CLUSTER_INSTALL_ADDON", "CLUSTER_UPDATE_ADDON", "CLUSTER_UNINSTALL_ADDON"} <= set(
        types_seen
    )


@pytest.mark.parametrize("paths", ["with_slash", "without_slash"])
async def test_addon_paths_in_either_form(
    nks: NKSClient, admin: httpx.AsyncClient, cluster_id: str, paths: str
) -> None:
    await sim(admin, "PATCH", "/config", {"addon_paths": paths})
    for _ in range(2):
        assert await nks.list_addon_types()
        assert await nks.list_addon_catalogue()
        assert await nks.list_cluster_addons(cluster_id)
    await nks.install_addon(
        cluster_id, name="metrics-server", version="v0.4.4-nks1", resolve_conflicts="none"
    )
    calls = (await sim(admin, "GET", "/calls"))["log"]
    addon_calls = [(c["operation"], c["path"].endswith("/"), c["status"]) for c in calls]
    addon_calls = [c for c in addon_calls if "addon" in c[0]]
    if paths == "with_slash":  # the CE's form, sent first
        assert {status for _, _, status in addon_calls} <= {200, 202}
    else:  # one 404 per operation, then the form that answered is kept
        refused = [(op, slash) for op, slash, status in addon_calls if status == 404]
        assert sorted(refused) == sorted(
            [(op, True) for op in ("list_addon_types", "list_addon_catalogue")]
            + [("list_cluster_addons", True), ("install_addon", True)]
        )
    with pytest.raises(NotFoundError):  # a cluster that is not there: 404 in both forms
        await nks.list_cluster_addons(new_id())


async def test_addons_when_options_are_refused(
    nks: NKSClient, admin: httpx.AsyncClient, cluster_id: str
) -> None:
    await sim(admin, "PATCH", "/config", {"addon_options": "refused"})
    with pytest.raises(InvalidRequestError, match="options"):
        await nks.install_addon(
            cluster_id,
            name="metrics-server",
            version="v0.4.4-nks1",
            resolve_conflicts="none",
            options={"replicas": "2"},
        )
    await nks.install_addon(
        cluster_id, name="metrics-server", version="v0.4.4-nks1", resolve_conflicts="none"
    )
    await idle(admin)
    assert (await nks.get_cluster_addon(cluster_id, "metrics-server")).options == {"replicas": "1"}


# -- both forms of each contested answer -------------------------------------------------


@pytest.mark.parametrize("form", ["flat", "nested"])
async def test_health_in_either_form(
    nks: NKSClient, admin: httpx.AsyncClient, cluster_id: str, form: str
) -> None:
    await sim(admin, "PATCH", "/config", {"health_reason_form": form})
    cluster = await nks.get_cluster(cluster_id)
    assert cluster.health is Freshness.FRESH
    reason = cluster.health_reason
    assert reason is not None and reason.unreadable == {}
    assert (reason.api, reason.api_status, reason.node_status) == ("OK", "NORMAL", "NORMAL")
    assert reason.group_node_status == {"default-worker": "NORMAL"}
    assert reason.group_nodes == {"default-worker": NodeCounts(ready=1, not_ready=0)}
    assert reason.timestamp is not None and reason.timestamp.tzinfo is not None


@pytest.mark.parametrize("form", ["boolean", "string"])
async def test_metric_autoscaler_label_in_either_form(
    nks: NKSClient, admin: httpx.AsyncClient, cluster_id: str, form: str
) -> None:
    await sim(admin, "PATCH", "/config", {"mba_enable_form": form})
    policy = (await nks.get_nodegroup(cluster_id, "default-worker")).labels.mba_scale_out
    assert policy is not None and policy.enable is False


@pytest.mark.parametrize("status", ["NEED_K8S_UPGRADE", "NEED_UPGRADE"])
async def test_version_hints_in_either_form(
    nks: NKSClient, admin: httpx.AsyncClient, cluster_id: str, status: str
) -> None:
    await sim(admin, "PATCH", "/config", {"kube_version_status": status})
    cluster = await nks.get_cluster(cluster_id)
    assert cluster.labels.kube_version_status == status
    assert cluster.upgradable_versions == ["v1.29.3"]
    assert cluster.platform_version == "1.202602.0"
    group = await nks.get_nodegroup(cluster_id, "default-worker")
    assert group.labels.kube_version_status == "LATEST" and group.platform_version
    assert group.node_ids is not None and len(group.node_ids) == 1


async def test_unlisted_settings_hidden_read_as_unknown(
    nks: NKSClient, admin: httpx.AsyncClient, cluster_id: str
) -> None:
    await nks.set_node_labels(cluster_id, "default-worker", {"env": "prod"})
    await idle(admin)
    await sim(admin, "PATCH", "/config", {"setting_labels": "hidden"})
    labels = (await nks.get_nodegroup(cluster_id, "default-worker")).labels
    assert labels.k8s_node_labels is None and labels.fip_auto_bind_enable is None  # unknown


async def test_odd_label_forms_make_one_field_unknown(
    nks: NKSClient, admin: httpx.AsyncClient, cluster_id: str
) -> None:
    odd = {
        "mba_scale_out": "{not json",
        "mba_scale_in": {"enable": "true", "min_node_count": "2", "rules": None},  # an object
        "k8s_node_labels": {"env": "prod", "replicas": 3},  # an object, a number as text
        "upgradable_kube_versions": "v1.29.3",
        "node_list": None,  # hidden
    }
    await sim(
        admin, "PATCH", f"/clusters/{cluster_id}/nodegroups/default-worker", {"answer_labels": odd}
    )
    group = await nks.get_nodegroup(cluster_id, "default-worker")
    labels = group.labels
    assert labels.mba_scale_out is None
    assert labels.mba_scale_in is not None and (
        labels.mba_scale_in.enable,
        labels.mba_scale_in.min_node_count,
    ) == (True, 2)
    assert labels.k8s_node_labels == {"env": "prod", "replicas": "3"}
    assert labels.upgradable_kube_versions is None and group.node_ids is None
    assert set(group.unreadable) == {"labels.mba_scale_out", "labels.upgradable_kube_versions"}


@pytest.mark.parametrize("names", ["current", "copy"])
async def test_task_names_of_either_edition_confirm_the_operation(
    nks: NKSClient, admin: httpx.AsyncClient, cluster_id: str, names: str
) -> None:
    await sim(admin, "PATCH", "/config", {"task_names": names})
    group = await nks.get_nodegroup(cluster_id, "default-worker")
    assert group.node_ids
    await nks.resize_cluster(cluster_id, nodegroup="default-worker", node_count=2)
    await idle(admin)
    group = await nks.get_nodegroup(cluster_id, "default-worker")
    assert group.node_ids is not None
    await nks.stop_nodes(cluster_id, "default-worker", group.node_ids[:1])
    await idle(admin)
    recorded = (await nks.list_events(cluster_id))[-1].type
    assert recorded is not None
    expected = (
        "NODEGROUP_NODE_ACTION_STOP_NODE"
        if names == "current"
        else ("NODEGROUP_NODE_ACTION_NODE_STOP")
    )
    assert recorded == expected
    assert recorded in tasks.task_names(Operation.STOP_NODES)
    assert tasks.confirmed_operations(recorded) == {Operation.STOP_NODES}
    assert tasks.same_task("NODEGROUP_NODE_ACTION_NODE_STOP", recorded)
