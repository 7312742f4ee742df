"""The NKS client end to end against the real NKS simulator (HTTP on loopback).

Every client method runs against the simulator's lifecycles and rules; errors come from
the simulator's own answers and injected faults (`/_sim/faults`), token expiry from
`/_sim/expire-tokens`, and the call log (`/_sim/calls`) shows what went over the wire.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from nks_devtools.simulator import Credential, SimulatorConfig, SimulatorHandle, run_simulator
from nks_operator.nks import (
    NO_RETRIES,
    Addon,
    AuthenticationError,
    AutoscalerUpdate,
    Cluster,
    ClusterCreateLabels,
    ClusterCreateRequest,
    ComputeClient,
    ConflictError,
    Credentials,
    DeleteResult,
    ForbiddenError,
    InvalidRequestError,
    IPACLTarget,
    NKSClient,
    NodeGroupCreateLabels,
    NodeGroupCreateRequest,
    NotFoundError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    TokenCache,
    TransportError,
    match_servers,
    user_script_matches,
)
from nks_operator.nks.models import Freshness, IPACLUpdate, NodeCounts

from .conftest import FakeSleep

PASSWORD = "sim-API-passw0rd-42"
VERSION = "v1.28.3"
NEXT_VERSION = "v1.29.3"
NCR_SGW = str(uuid.UUID(int=1, version=4))
OBS_SGW = str(uuid.UUID(int=2, version=4))


def new_id() -> str:
    return str(uuid.uuid4())


FLAVOR = new_id()
IMAGE = new_id()


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(tenant_id=uuid.uuid4().hex, username="ops@example.com", password=PASSWORD)


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return RetryPolicy(initial_backoff=0.01, max_backoff=0.05, jitter=False)


@pytest.fixture
async def nks(
    simulator: SimulatorHandle, credentials: Credentials, fast_retry: RetryPolicy
) -> AsyncIterator[NKSClient]:
    async with NKSClient(
        credentials,
        "KR1",  # as NHN writes it: the client matches the catalog in any case
        nks_url=simulator.url,
        identity_url=simulator.url,
        token_cache=TokenCache(),
        retry=fast_retry,
    ) as client:
        yield client


@pytest.fixture
def compute(nks: NKSClient) -> ComputeClient:
    """Compute servers on the NKS client's session: its catalog gives the endpoint."""
    return ComputeClient.sharing(nks)


async def node_ids(
    nks: NKSClient, compute: ComputeClient, cluster_id: str, nodegroup: str
) -> dict[str, str]:
    """Instance UUID -> status of a group's nodes: its addresses joined to servers."""
    group = await nks.get_nodegroup(cluster_id, nodegroup)
    joined = match_servers(group.node_addresses or [], await compute.list_servers())
    assert joined.complete, joined
    return {joined.found[a].id: joined.found[a].status or "" for a in group.node_addresses or []}


@pytest.fixture
async def admin(simulator: SimulatorHandle) -> AsyncIterator[httpx.AsyncClient]:
    """The simulator's `/_sim/` admin endpoints."""
    async with httpx.AsyncClient(base_url=simulator.url + "/_sim") as client:
        yield client


async def sim_json(admin: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    response = await admin.request(method, path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def call_statuses(admin: httpx.AsyncClient, operation: str) -> list[int]:
    calls = await sim_json(admin, "GET", f"/calls?operation={operation}")
    return [entry["status"] for entry in calls["log"]]


def create_request(name: str, **labels: Any) -> ClusterCreateRequest:
    return ClusterCreateRequest(
        name=name,
        keypair="ops-keypair",
        flavor_id=FLAVOR,
        fixed_network=new_id(),
        fixed_subnet=new_id(),
        node_count=1,
        labels=ClusterCreateLabels(
            availability_zone="kr1-pub-a",
            node_image=IMAGE,
            boot_volume_type="General SSD",
            boot_volume_size=50,
            kube_tag=VERSION,
            # A public endpoint needs an internet gateway network (the current edition).
            master_lb_floating_ip_enabled=True,
            external_network_id=new_id(),
            external_subnet_ids=[new_id()],
            **labels,
        ),
    )


async def settle(nks: NKSClient, admin: httpx.AsyncClient, cluster_id: str) -> Cluster:
    """Poll like the operator would, until the cluster and its groups are stable again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        cluster = await nks.get_cluster(cluster_id)
        groups = await nks.list_nodegroups(cluster_id)
        state = await sim_json(admin, "GET", "/state")
        pending = [p for p in state["pending_operations"] if p["cluster_uuid"] == cluster.uuid]
        assert not cluster.is_failed, cluster.status_reason
        if cluster.is_stable and all(g.is_stable for g in groups) and not pending:
            return cluster
        assert loop.time() < deadline, f"cluster still {cluster.status}: {pending}"
        await asyncio.sleep(0.02)


async def wait_gone(probe: Callable[[], Awaitable[Any]]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        try:
            await probe()
        except NotFoundError:
            return
        assert loop.time() < deadline, "still there"
        await asyncio.sleep(0.02)


async def ready_cluster(
    nks: NKSClient, admin: httpx.AsyncClient, name: str = "ops-prod", **labels: Any
) -> Cluster:
    cluster_id = await nks.create_cluster(create_request(name, **labels))
    return await settle(nks, admin, cluster_id)


# -- every operation, end to end ---------------------------------------------------------


async def test_supported_versions(nks: NKSClient) -> None:
    supports = await nks.get_supports()
    assert VERSION in supports.creatable_versions
    assert NEXT_VERSION in supports.creatable_versions
    assert "v1.17.6" in supports.versions and "v1.17.6" not in supports.creatable_versions
    assert "CLUSTER_CREATE" in supports.supported_event_type["cluster_events"]


async def test_cluster_lifecycle_and_cluster_operations(
    nks: NKSClient, compute: ComputeClient, admin: httpx.AsyncClient
) -> None:
    cluster_id = await nks.create_cluster(
        create_request("ops-prod", ncr_sgw=NCR_SGW, obs_sgw=OBS_SGW)
    )
    first = await nks.get_cluster(cluster_id)
    assert first.status == "CREATE_IN_PROGRESS" and first.is_in_progress

    cluster = await settle(nks, admin, cluster_id)
    assert cluster.status == "CREATE_COMPLETE"
    assert cluster.name == "ops-prod"
    assert cluster.kubernetes_version == VERSION
    assert cluster.api_address and cluster.api_address.startswith("https://")
    assert cluster.health_status == "FRESH" and cluster.health is Freshness.FRESH
    reason = cluster.health_reason
    assert reason is not None and reason.group_nodes["default-worker"] == NodeCounts(1, 0)
    assert len(cluster.node_addresses) == 1
    assert cluster.labels.master_lb_floating_ip_enabled is True
    assert cluster.labels.cert_manager_api is True
    assert cluster.labels.ncr_sgw == NCR_SGW

    assert [c.uuid for c in await nks.list_clusters()] == [cluster_id]
    assert [c.uuid for c in await nks.find_clusters("ops-prod")] == [cluster_id]
    assert (await nks.get_cluster("ops-prod")).uuid == cluster_id  # by name, too

    events = await nks.list_events(cluster_id)
    assert [(e.type, e.state) for e in events] == [("CLUSTER_CREATE", "SUCCESS")]
    event = await nks.get_event(cluster_id, events[0].uuid)
    assert event.succeeded and event.cluster_uuid == cluster_id

    kubeconfig = await nks.get_kubeconfig(cluster_id)
    assert "apiVersion" in kubeconfig.get_secret_value()

    # Resize the default worker group.
    resized = await nks.resize_cluster(cluster_id, nodegroup="default-worker", node_count=3)
    assert resized.uuid == cluster_id
    cluster = await settle(nks, admin, cluster_id)
    assert cluster.node_count == 3 and len(cluster.node_addresses) == 3

    # Scale in, naming the nodes to remove (instance UUIDs come from the compute API).
    nodes = list(await node_ids(nks, compute, cluster_id, "default-worker"))
    await nks.resize_cluster(
        cluster_id, nodegroup="default-worker", node_count=2, nodes_to_remove=nodes[:1]
    )
    await settle(nks, admin, cluster_id)
    remaining = list(await node_ids(nks, compute, cluster_id, "default-worker"))
    assert nodes[0] not in remaining and len(remaining) == 2

    # IP access control on the API endpoint.
    await nks.set_ip_acl(
        cluster_id,
        enable=True,
        action="ALLOW",
        targets=["192.168.0.5", IPACLTarget(cidr_address="10.10.22.0/24", description="office")],
    )
    acl = await nks.get_ip_acl(cluster_id)
    assert acl.enable is True and acl.action == "ALLOW"
    assert [(t.cidr_address, t.description) for t in acl.ipacl_targets] == [
        ("192.168.0.5", None),
        ("10.10.22.0/24", "office"),
    ]
    await settle(nks, admin, cluster_id)
    await nks.set_ip_acl(cluster_id, enable=False)
    assert (await nks.get_ip_acl(cluster_id)).enable is False

    # CNI change: the copy's API (gone today: 404), only from Flannel, so make this an old
    # Flannel cluster of an NKS that still has it.
    with pytest.raises(NotFoundError):
        await nks.update_cni(cluster_id, pod_cidr="10.200.0.0/16", pod_subnet=24)
    await sim_json(admin, "PATCH", "/config", {"cni_update_api": True})
    await sim_json(admin, "PATCH", f"/clusters/{cluster_id}", {"labels": {"cni_driver": "flannel"}})
    await nks.update_cni(cluster_id, pod_cidr="10.200.0.0/16", pod_subnet=24)
    cluster = await settle(nks, admin, cluster_id)
    assert cluster.labels.cni_driver == "calico"
    assert cluster.labels.pods_network_cidr == "10.200.0.0/16"

    # Certificate renewal: a new kubeconfig afterwards.
    await nks.renew_certificate(cluster_id, term_of_validity=2)
    cluster = await settle(nks, admin, cluster_id)
    assert cluster.labels.term_of_validity == 2
    renewed = await nks.get_kubeconfig(cluster_id)
    assert renewed.get_secret_value() != kubeconfig.get_secret_value()

    # Service gateways.
    new_ncr, new_obs = new_id(), new_id()
    await nks.update_service_gateway(cluster_id, ncr_sgw=new_ncr, obs_sgw=new_obs)
    cluster = await settle(nks, admin, cluster_id)
    assert (cluster.labels.ncr_sgw, cluster.labels.obs_sgw) == (new_ncr, new_obs)

    # Only the guide's task types: IP ACL, certificate and gateway changes record none.
    types = [e.type for e in await nks.list_events(cluster_id)]
    assert sorted(set(types)) == ["CLUSTER_CNI_UPDATE", "CLUSTER_CREATE", "CLUSTER_RESIZE"]

    # Delete: accepted, then gone, then "already gone".
    assert await nks.delete_cluster(cluster_id) is DeleteResult.ACCEPTED
    await wait_gone(lambda: nks.get_cluster(cluster_id))
    with pytest.raises(NotFoundError) as caught:
        await nks.get_cluster(cluster_id)
    assert caught.value.status_code == 404 and caught.value.request_id
    assert await nks.delete_cluster(cluster_id) is DeleteResult.ALREADY_GONE
    assert await nks.list_clusters() == []


async def test_nodegroup_operations(
    nks: NKSClient, compute: ComputeClient, admin: httpx.AsyncClient
) -> None:
    cluster = await ready_cluster(nks, admin)
    cid = cluster.uuid

    # default-master listed or not (contested, the simulator's knob; a GET answers 403).
    groups = await nks.list_nodegroups(cid)
    assert [(g.name, g.role) for g in groups] == [("default-worker", "worker")]
    await sim_json(admin, "PATCH", "/config", {"list_default_master": True})
    groups = await nks.list_nodegroups(cid)
    assert [(g.name, g.role, g.is_default) for g in groups] == [
        ("default-master", "master", True),
        ("default-worker", "worker", False),
    ]
    with pytest.raises(ForbiddenError):
        await nks.get_nodegroup(cid, "default-master")
    worker = await nks.get_nodegroup(cid, "default-worker")
    assert worker.cluster_id == cid and worker.role == "worker"
    assert worker.kubernetes_version == VERSION
    assert (await nks.get_nodegroup(cid, worker.uuid)).name == "default-worker"

    # Autoscaler on, then off again.
    assert (await nks.get_autoscaler(cid, "default-worker")).ca_enable is False
    await nks.set_autoscaler(
        cid,
        "default-worker",
        AutoscalerUpdate(
            ca_enable=True,
            ca_min_node_count=1,
            ca_max_node_count=3,
            ca_scale_down_enable=True,
            ca_scale_down_unneeded_time=20,
            ca_scale_down_util_thresh=40,
            ca_scale_down_delay_after_add=30,
        ),
    )
    await settle(nks, admin, cid)
    config = await nks.get_autoscaler(cid, "default-worker")
    assert (config.ca_enable, config.ca_min_node_count, config.ca_max_node_count) == (True, 1, 3)
    assert config.ca_scale_down_util_thresh == 40
    # While the autoscaler is on, resize is refused.
    with pytest.raises(InvalidRequestError, match="autoscaler"):
        await nks.resize_cluster(cid, nodegroup="default-worker", node_count=2)
    await nks.set_autoscaler(cid, "default-worker", AutoscalerUpdate(ca_enable=False))
    await settle(nks, admin, cid)
    assert (await nks.get_autoscaler(cid, "default-worker")).ca_enable is False

    # Stop one of two nodes, then start it again.
    await nks.resize_cluster(cid, nodegroup="default-worker", node_count=2)
    await settle(nks, admin, cid)
    ids = list(await node_ids(nks, compute, cid, "default-worker"))
    await nks.stop_nodes(cid, "default-worker", ids[:1])
    await settle(nks, admin, cid)
    statuses = await node_ids(nks, compute, cid, "default-worker")
    assert (statuses[ids[0]], statuses[ids[1]]) == ("SHUTOFF", "ACTIVE")
    with pytest.raises(InvalidRequestError, match="Not all nodes"):
        await nks.stop_nodes(cid, "default-worker", ids[1:])
    await nks.start_nodes(cid, "default-worker", ids[:1])
    await settle(nks, admin, cid)
    assert set((await node_ids(nks, compute, cid, "default-worker")).values()) == {"ACTIVE"}

    # User script and flavor change.
    script = "#!/bin/bash\necho ready\n"
    await nks.update_user_script(cid, "default-worker", script)
    await settle(nks, admin, cid)
    worker = await nks.get_nodegroup(cid, "default-worker")
    assert user_script_matches(script, worker.labels.user_script_v2) is True
    assert user_script_matches("echo other", worker.labels.user_script_v2) is False
    new_flavor = new_id()
    await nks.change_flavor(
        cid, "default-worker", flavor_id=new_flavor, num_buffer_nodes=1, num_max_unavailable_nodes=1
    )
    await settle(nks, admin, cid)
    assert (await nks.get_nodegroup(cid, "default-worker")).flavor_id == new_flavor

    # An extra node group: create, conflict on its name, delete.
    request = NodeGroupCreateRequest(
        name="pool-a",
        node_count=2,
        flavor_id=FLAVOR,
        image_id=IMAGE,
        labels=NodeGroupCreateLabels(
            availability_zone="kr1-pub-b", boot_volume_type="General SSD", boot_volume_size=30
        ),
    )
    created = await nks.create_nodegroup(cid, request)
    assert created.name == "pool-a" and created.uuid
    await settle(nks, admin, cid)
    pool = await nks.get_nodegroup(cid, "pool-a")
    assert pool.uuid == created.uuid and pool.node_count == 2 and pool.is_stable
    assert pool.labels.boot_volume_size == 30
    with pytest.raises(ConflictError):
        await nks.create_nodegroup(cid, request)

    # Upgrade: control plane first, then every worker group.
    await nks.upgrade_nodegroup(cid, "default-master", version=NEXT_VERSION)
    cluster = await settle(nks, admin, cid)
    assert cluster.kubernetes_version == NEXT_VERSION
    for group in ("default-worker", "pool-a"):
        await nks.upgrade_nodegroup(
            cid, group, version=NEXT_VERSION, num_buffer_nodes=1, num_max_unavailable_nodes=1
        )
        await settle(nks, admin, cid)
        assert (await nks.get_nodegroup(cid, group)).kubernetes_version == NEXT_VERSION

    assert await nks.delete_nodegroup(cid, "pool-a") is DeleteResult.ACCEPTED
    await wait_gone(lambda: nks.get_nodegroup(cid, created.uuid))
    assert await nks.delete_nodegroup(cid, created.uuid) is DeleteResult.ALREADY_GONE
    assert [g.name for g in await nks.list_nodegroups(cid)] == ["default-master", "default-worker"]

    types = {e.type for e in await nks.list_events(cid)}
    assert {
        "NODEGROUP_SET_CLUSTER_AUTOSCALER",
        "NODEGROUP_NODE_ACTION_STOP_NODE",  # the current edition's names (the copy's: knob)
        "NODEGROUP_NODE_ACTION_START_NODE",
        "NODEGROUP_USERSCRIPT_UPDATE",
        "NODEGROUP_UPDATE_FLAVOR",
        "NODEGROUP_CREATE",
        "NODEGROUP_DELETE",
        "NODEGROUP_UPGRADE",
    } <= types


async def test_list_clusters_pages_through_the_simulator(
    nks: NKSClient, admin: httpx.AsyncClient
) -> None:
    created = [await nks.create_cluster(create_request(f"page-{i}")) for i in range(5)]
    clusters = await nks.list_clusters(page_size=2)
    assert sorted(c.uuid for c in clusters) == sorted(created)
    assert len(await call_statuses(admin, "list_clusters")) == 3


# -- errors as the simulator produces them -----------------------------------------------


async def test_not_found(nks: NKSClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await nks.get_cluster(new_id())
    assert "could not be found" in caught.value.message


async def test_invalid_requests(nks: NKSClient, admin: httpx.AsyncClient) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await nks.create_cluster(create_request("Bad_Name"))
    assert caught.value.status_code == 400 and caught.value.request_id

    cluster = await ready_cluster(nks, admin)
    with pytest.raises(InvalidRequestError, match="cannot be deleted"):
        await nks.delete_nodegroup(cluster.uuid, "default-worker")
    # An operation while another runs: "operation in progress" is a 400.
    await nks.resize_cluster(cluster.uuid, nodegroup="default-worker", node_count=2)
    with pytest.raises(InvalidRequestError, match="in progress"):
        await nks.renew_certificate(cluster.uuid, term_of_validity=1)
    # Upgrading workers ahead of the control plane is refused.
    await settle(nks, admin, cluster.uuid)
    with pytest.raises(InvalidRequestError):
        await nks.upgrade_nodegroup(cluster.uuid, "default-worker", version=NEXT_VERSION)


async def test_forbidden(nks: NKSClient, admin: httpx.AsyncClient) -> None:
    cluster = await ready_cluster(nks, admin)
    with pytest.raises(ForbiddenError):
        await nks.get_nodegroup(cluster.uuid, "default-master")

    await sim_json(admin, "PATCH", "/config", {"max_clusters_per_tenant": 1})
    with pytest.raises(ForbiddenError) as caught:
        await nks.create_cluster(create_request("one-too-many"))
    assert caught.value.status_code == 403
    assert "maximum clusters" in caught.value.message


async def test_conflict_is_not_retried(nks: NKSClient, admin: httpx.AsyncClient) -> None:
    cluster = await ready_cluster(nks, admin)
    request = NodeGroupCreateRequest(
        name="default-worker",
        flavor_id=FLAVOR,
        image_id=IMAGE,
        labels=NodeGroupCreateLabels(
            availability_zone="kr1-pub-a", boot_volume_type="General SSD", boot_volume_size=20
        ),
    )
    with pytest.raises(ConflictError):
        await nks.create_nodegroup(cluster.uuid, request)
    assert await call_statuses(admin, "create_nodegroup") == [409]


async def test_rate_limited_read_honours_retry_after(
    simulator: SimulatorHandle, credentials: Credentials, admin: httpx.AsyncClient
) -> None:
    fake_sleep = FakeSleep()
    rule = {"operation": "list_clusters", "action": "throttle", "retry_after": 3, "count": 2}
    await sim_json(admin, "PUT", "/faults", [rule])
    policy = RetryPolicy(initial_backoff=0.01, jitter=False, sleep=fake_sleep)
    async with NKSClient(
        credentials, nks_url=simulator.url, identity_url=simulator.url, retry=policy
    ) as nks:
        assert await nks.list_clusters() == []
    assert fake_sleep.delays == [3.0, 3.0]
    assert await call_statuses(admin, "list_clusters") == [429, 429, 200]


async def test_rate_limited_without_retries(
    simulator: SimulatorHandle, credentials: Credentials, admin: httpx.AsyncClient
) -> None:
    rule = {"operation": "get_supports", "action": "throttle", "retry_after": 7}
    await sim_json(admin, "PUT", "/faults", [rule])
    async with NKSClient(
        credentials, nks_url=simulator.url, identity_url=simulator.url, retry=NO_RETRIES
    ) as nks:
        with pytest.raises(RateLimitedError) as caught:
            await nks.get_supports()
    assert caught.value.retry_after == 7
    assert caught.value.status_code == 429


async def test_rate_limited_write_is_retried_after_retry_after(
    simulator: SimulatorHandle, credentials: Credentials, admin: httpx.AsyncClient
) -> None:
    fake_sleep = FakeSleep()
    policy = RetryPolicy(initial_backoff=0.01, jitter=False, sleep=fake_sleep)
    async with NKSClient(
        credentials, nks_url=simulator.url, identity_url=simulator.url, retry=policy
    ) as nks:
        rule = {"operation": "create_cluster", "action": "throttle", "retry_after": 2, "count": 1}
        await sim_json(admin, "PUT", "/faults", [rule])
        cluster_id = await nks.create_cluster(create_request("after-429"))
    assert fake_sleep.delays == [2.0]
    assert await call_statuses(admin, "create_cluster") == [429, 202]
    assert (
        len((await sim_json(admin, "GET", "/state"))["tenants"][credentials.tenant_id]["clusters"])
        == 1
    )
    assert cluster_id


@pytest.mark.parametrize("body", ["json", "html", "empty"])
async def test_server_errors_on_reads_are_retried(
    body: str, nks: NKSClient, admin: httpx.AsyncClient
) -> None:
    rule = {"operation": "get_supports", "action": "error", "status": 502, "body": body, "count": 2}
    await sim_json(admin, "PUT", "/faults", [rule])
    supports = await nks.get_supports()
    assert supports.creatable_versions
    assert await call_statuses(admin, "get_supports") == [502, 502, 200]


@pytest.mark.parametrize(
    ("body", "expected"),
    [("json", r".*erred.*"), ("html", r"non-JSON answer \(text/html, \d+ bytes\)")],
)
async def test_server_error_message_from_each_body(
    body: str, expected: str, nks: NKSClient, admin: httpx.AsyncClient
) -> None:
    """NKS's JSON message is kept; a proxy's HTML page is described, never quoted."""
    rule = {"operation": "get_supports", "action": "error", "status": 503, "body": body}
    await sim_json(admin, "PUT", "/faults", [rule])
    with pytest.raises(ServerError) as caught:
        await nks.get_supports()
    assert caught.value.status_code == 503
    assert re.fullmatch(expected, caught.value.message)
    assert "upstream server failed" not in str(caught.value)
    assert len(await call_statuses(admin, "get_supports")) == 4  # max_attempts


async def test_server_error_on_a_write_is_not_retried(
    nks: NKSClient, admin: httpx.AsyncClient
) -> None:
    cluster = await ready_cluster(nks, admin)
    rule = {"operation": "resize_cluster", "action": "error", "status": 500}
    await sim_json(admin, "PUT", "/faults", [rule])
    with pytest.raises(ServerError):
        await nks.resize_cluster(cluster.uuid, nodegroup="default-worker", node_count=2)
    assert await call_statuses(admin, "resize_cluster") == [500]


@pytest.mark.parametrize("mode", ["close", "error"])
async def test_dropped_create_answer_surfaces_and_state_tells_the_truth(
    mode: str, nks: NKSClient, admin: httpx.AsyncClient
) -> None:
    rule = {"operation": "create_cluster", "action": "drop_response", "drop_mode": mode}
    await sim_json(admin, "PUT", "/faults", [rule])
    with pytest.raises((TransportError, ServerError)) as caught:
        await nks.create_cluster(create_request("dropped"))
    if mode == "close":
        assert isinstance(caught.value, TransportError)
        assert caught.value.may_have_reached_server
    # Never repeated by the client; the cluster exists anyway - found by name.
    assert len(await call_statuses(admin, "create_cluster")) == 1
    assert len(await nks.find_clusters("dropped")) == 1


async def test_read_timeout_is_a_transport_error(
    simulator: SimulatorHandle, credentials: Credentials, admin: httpx.AsyncClient
) -> None:
    rule = {"operation": "get_supports", "action": "latency", "latency": 1.0}
    await sim_json(admin, "PUT", "/faults", [rule])
    async with NKSClient(
        credentials,
        nks_url=simulator.url,
        identity_url=simulator.url,
        retry=NO_RETRIES,
        timeout=httpx.Timeout(0.2),
    ) as nks:
        with pytest.raises(TransportError) as caught:
            await nks.get_supports()
    assert "ReadTimeout" in str(caught.value)
    assert caught.value.may_have_reached_server


async def test_connection_refused_is_a_transport_error(credentials: Credentials) -> None:
    async with run_simulator(SimulatorConfig(delay=0.05)) as gone:
        url = gone.url
    async with NKSClient(credentials, nks_url=url, identity_url=url, retry=NO_RETRIES) as nks:
        with pytest.raises(TransportError) as caught:
            await nks.get_supports()
    assert caught.value.operation == "issue_token"
    assert not caught.value.may_have_reached_server


# -- authentication ----------------------------------------------------------------------


async def test_wrong_password_is_an_authentication_error() -> None:
    good = Credentials(tenant_id="t-1", username="ops@example.com", password=PASSWORD)
    bad = Credentials(tenant_id="t-1", username="ops@example.com", password="wrong-password")
    config = SimulatorConfig(
        delay=0.05,
        credentials=[Credential(tenant_id="t-1", username=good.username, password=PASSWORD)],
    )
    async with run_simulator(config) as sim:
        async with NKSClient(good, nks_url=sim.url, identity_url=sim.url) as nks:
            await nks.authenticate()
        async with NKSClient(bad, nks_url=sim.url, identity_url=sim.url) as nks:
            with pytest.raises(AuthenticationError) as caught:
                await nks.list_clusters()
        assert caught.value.status_code == 401
        assert "requires authentication" in caught.value.message
        assert sim.calls.count("issue_token", 401) == 1  # not retried
        assert sim.calls.count("list_clusters") == 0


async def test_expired_token_is_renewed_once_on_401(
    nks: NKSClient, admin: httpx.AsyncClient
) -> None:
    await nks.list_clusters()
    expired = await sim_json(admin, "POST", "/expire-tokens", {})
    assert expired["expired"] == 1

    assert await nks.list_clusters() == []

    assert await call_statuses(admin, "list_clusters") == [200, 401, 200]
    assert await call_statuses(admin, "issue_token") == [200, 200]


async def test_expired_token_on_a_write_is_repeated_once(
    nks: NKSClient, admin: httpx.AsyncClient
) -> None:
    cluster = await ready_cluster(nks, admin)
    await sim_json(admin, "POST", "/expire-tokens", {})
    await nks.renew_certificate(cluster.uuid, term_of_validity=3)
    assert await call_statuses(admin, "renew_certificate") == [401, 202]
    assert (await settle(nks, admin, cluster.uuid)).labels.term_of_validity == 3


async def test_token_renewed_before_it_expires(
    simulator: SimulatorHandle, credentials: Credentials, admin: httpx.AsyncClient
) -> None:
    await sim_json(admin, "PATCH", "/config", {"token_ttl": 2.0})
    async with NKSClient(
        credentials, nks_url=simulator.url, identity_url=simulator.url, token_cache=TokenCache()
    ) as nks:
        await nks.list_clusters()
        await nks.list_clusters()
        assert await call_statuses(admin, "issue_token") == [200]
        await asyncio.sleep(1.2)  # past half the lifetime: the margin is capped there
        await nks.list_clusters()
    assert await call_statuses(admin, "issue_token") == [200, 200]
    assert 401 not in await call_statuses(admin, "list_clusters")


async def test_one_token_for_concurrent_callers_and_clients(
    simulator: SimulatorHandle, credentials: Credentials, admin: httpx.AsyncClient
) -> None:
    cache = TokenCache()
    async with (
        NKSClient(
            credentials, nks_url=simulator.url, identity_url=simulator.url, token_cache=cache
        ) as a,
        NKSClient(
            credentials, nks_url=simulator.url, identity_url=simulator.url, token_cache=cache
        ) as b,
    ):
        await asyncio.gather(*(client.list_clusters() for client in (a, b) * 10))
    assert await call_statuses(admin, "issue_token") == [200]
    assert len(await call_statuses(admin, "list_clusters")) == 20


async def test_tenants_are_isolated(nks: NKSClient, simulator: SimulatorHandle) -> None:
    await nks.create_cluster(create_request("mine"))
    other = Credentials(tenant_id=uuid.uuid4().hex, username="other@example.com", password="pw")
    async with NKSClient(other, nks_url=simulator.url, identity_url=simulator.url) as theirs:
        assert await theirs.list_clusters() == []


# -- secrets over a real connection --------------------------------------------------------


async def test_no_secret_in_logs_over_a_real_connection(
    nks: NKSClient,
    admin: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx, httpcore, the client and the simulator
    cluster = await ready_cluster(nks, admin, "secretive")
    kubeconfig = (await nks.get_kubeconfig(cluster.uuid)).get_secret_value()
    await sim_json(admin, "POST", "/expire-tokens", {})
    await nks.get_cluster(cluster.uuid)
    rule = {"operation": "get_supports", "action": "error", "status": 503, "count": 1}
    await sim_json(admin, "PUT", "/faults", [rule])
    await nks.get_supports()
    token = nks.token_cache.peek(nks._cache_key)
    assert token is not None

    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "get_kubeconfig" in text or "/config" in text  # the calls were logged...
    assert PASSWORD not in text  # ...but no secret
    assert token.value.get_secret_value() not in text
    assert "client-key-data" not in text
    key_line = next(line for line in kubeconfig.splitlines() if "client-key-data" in line)
    assert key_line.split(":", 1)[1].strip() not in text


# -- node instances, newer create fields, outcomes ---------------------------------------


async def test_compute_servers_are_the_nodes(
    nks: NKSClient, compute: ComputeClient, admin: httpx.AsyncClient
) -> None:
    cluster = await ready_cluster(nks, admin, "ops-nodes")
    await nks.resize_cluster(cluster.uuid, nodegroup="default-worker", node_count=3)
    await settle(nks, admin, cluster.uuid)
    group = await nks.get_nodegroup(cluster.uuid, "default-worker")

    servers = await compute.list_servers(page_size=1)  # three pages
    assert len(await call_statuses(admin, "list_servers")) == 3
    joined = match_servers(group.node_addresses or [], servers)
    assert joined.complete and len(joined.found) == 3
    for server in joined.found.values():
        assert server.name and server.name.startswith("ops-nodes-default-w")  # the guide's form
        assert server.is_active and server.power_state == 1 and server.flavor_id == FLAVOR
    assert {s.id for s in await compute.list_servers(name="^ops-nodes-")} == {s.id for s in servers}
    assert await compute.list_servers(name="^someone-else-") == []

    stopped = next(iter(joined.found.values()))
    await nks.stop_nodes(cluster.uuid, "default-worker", [stopped.id])
    await settle(nks, admin, cluster.uuid)
    (off,) = await compute.list_servers(status="SHUTOFF")
    assert (off.id, off.stopped, off.power_state) == (stopped.id, True, 4)


async def test_compute_endpoint_from_the_catalog_or_an_override(
    nks: NKSClient, simulator: SimulatorHandle, credentials: Credentials
) -> None:
    assert await ComputeClient.sharing(nks).endpoint() == (
        f"{simulator.url}/v2/{credentials.tenant_id}"
    )
    override = ComputeClient.sharing(nks, compute_url=simulator.url)
    assert await override.endpoint() == f"{simulator.url}/v2/{credentials.tenant_id}"
    assert await override.list_servers() == []
    async with NKSClient(
        credentials, "kr3", nks_url=simulator.url, identity_url=simulator.url
    ) as other:
        assert (await ComputeClient.sharing(other).endpoint()).endswith(credentials.tenant_id)
    async with NKSClient(credentials, nks_url=simulator.url, identity_url=simulator.url) as bare:
        with pytest.raises(ValueError, match="region or a compute URL"):
            ComputeClient.sharing(bare)


async def test_another_projects_servers_are_refused(
    nks: NKSClient, simulator: SimulatorHandle
) -> None:
    compute = ComputeClient.sharing(nks, compute_url=f"{simulator.url}/v2/someone-else")
    with pytest.raises(ForbiddenError, match="another project"):
        await compute.list_servers()


async def test_create_with_addons_and_an_ip_acl_closed_from_the_start(
    nks: NKSClient, admin: httpx.AsyncClient
) -> None:
    request = create_request("ops-acl")
    request.addons = [
        Addon(name="calico", version="v3.28.2-nks1", options={"mode": "vxlan"}),
        Addon(name="coredns", version="1.8.4-nks1"),
    ]
    request.api_ep_ipacl = IPACLUpdate(
        enable=True, action="ALLOW", ipacl_targets=[IPACLTarget(cidr_address="203.0.113.0/24")]
    )
    cluster_id = await nks.create_cluster(request)
    creating = await nks.get_ip_acl(cluster_id)  # in force while the cluster is created
    assert (creating.enable, creating.action) == (True, "ALLOW")
    assert [t.cidr_address for t in creating.ipacl_targets or []] == ["203.0.113.0/24"]
    cluster = await settle(nks, admin, cluster_id)
    assert cluster.labels.api_ep_ipacl_enable is True
    state = await sim_json(admin, "GET", "/state")
    (entry,) = next(iter(state["tenants"].values()))["clusters"]
    assert entry["ipacl"]["enable"] == "true"

    request.name = "ops-bad-addon"
    request.addons = [Addon(name="calico", version="")]
    with pytest.raises(InvalidRequestError, match="version"):
        await nks.create_cluster(request)


async def test_node_groups_with_no_nodes(nks: NKSClient, admin: httpx.AsyncClient) -> None:
    cluster = await ready_cluster(nks, admin, "ops-empty")
    request = NodeGroupCreateRequest(
        name="spare",
        node_count=0,
        flavor_id=FLAVOR,
        image_id=IMAGE,
        labels=NodeGroupCreateLabels(
            availability_zone="kr1-pub-b", boot_volume_type="General SSD", boot_volume_size=30
        ),
    )
    await nks.create_nodegroup(cluster.uuid, request)
    await settle(nks, admin, cluster.uuid)
    spare = await nks.get_nodegroup(cluster.uuid, "spare")
    assert (spare.node_count, spare.node_addresses, spare.status) == (0, [], "CREATE_COMPLETE")
    await nks.resize_cluster(cluster.uuid, nodegroup="spare", node_count=1)
    await settle(nks, admin, cluster.uuid)
    await nks.resize_cluster(cluster.uuid, nodegroup="spare", node_count=0)
    await settle(nks, admin, cluster.uuid)
    assert (await nks.get_nodegroup(cluster.uuid, "spare")).node_addresses == []
    with pytest.raises(InvalidRequestError, match="node_count"):
        await nks.resize_cluster(cluster.uuid, nodegroup="default-worker", node_count=0)


@pytest.mark.parametrize("outcome", ["rollback_complete", "rollback_failed", "failed"])
async def test_operations_can_end_rolled_back(
    nks: NKSClient, admin: httpx.AsyncClient, outcome: str
) -> None:
    cluster = await ready_cluster(nks, admin, "ops-rollback")
    body = {"cluster": cluster.uuid, "operation": "resize_cluster", "outcome": outcome}
    await sim_json(admin, "POST", "/fail-next", {**body, "reason": "Quota exceeded for cores"})
    await nks.resize_cluster(cluster.uuid, nodegroup="default-worker", node_count=3)
    group = await wait_for_group(nks, cluster.uuid, lambda g: not g.is_in_progress)
    expected = {
        "rollback_complete": "ROLLBACK_COMPLETE",
        "rollback_failed": "ROLLBACK_FAILED",
        "failed": "UPDATE_FAILED",
    }[outcome]
    assert group.status == expected and group.operation_failed
    assert group.is_rolled_back is outcome.startswith("rollback")
    assert group.status_reason == "Quota exceeded for cores"
    assert group.node_count == 1  # nothing happened
    (task,) = [e for e in await nks.list_events(cluster.uuid) if e.type == "CLUSTER_RESIZE"]
    assert task.failed and task.contents == "Quota exceeded for cores"


async def test_an_operation_held_in_progress_until_finished(
    nks: NKSClient, admin: httpx.AsyncClient
) -> None:
    cluster = await ready_cluster(nks, admin, "ops-held")
    await sim_json(admin, "POST", "/hold-next", {"cluster": cluster.uuid})
    await nks.resize_cluster(cluster.uuid, nodegroup="default-worker", node_count=2)
    (pending,) = (await sim_json(admin, "GET", "/state"))["pending_operations"]
    assert (pending["operation"], pending["held"], pending["due_in"]) == (
        "resize_cluster",
        True,
        None,
    )
    assert (await nks.get_cluster(cluster.uuid)).status == "UPDATE_IN_PROGRESS"
    finished = await sim_json(admin, "POST", "/finish-operations", {"operation": "resize_cluster"})
    assert finished == {"finished": 1}
    done = await settle(nks, admin, cluster.uuid)
    assert (done.status, done.node_count) == ("UPDATE_COMPLETE", 2)


async def test_an_odd_label_marks_one_cluster_not_the_account(
    nks: NKSClient, admin: httpx.AsyncClient
) -> None:
    good = await ready_cluster(nks, admin, "ops-good")
    odd = await ready_cluster(nks, admin, "ops-odd")
    await sim_json(
        admin,
        "PATCH",
        f"/clusters/{odd.uuid}",
        {"answer_labels": {"extra_volumes": "[{", "ca_enable": ["yes"], "kube_tag": None}},
    )
    listing = await nks.list_clusters()
    by_id = {c.uuid: c for c in listing}
    assert set(by_id) == {good.uuid, odd.uuid} and listing.unreadable == ()
    assert by_id[good.uuid].unreadable == {}
    assert set(by_id[odd.uuid].unreadable) == {"labels.extra_volumes", "labels.ca_enable"}
    assert by_id[odd.uuid].labels.kube_tag is None  # missing: unknown, and no complaint


async def wait_for_group(
    nks: NKSClient, cluster_id: str, done: Callable[[Any], bool], group: str = "default-worker"
) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        found = await nks.get_nodegroup(cluster_id, group)
        if done(found):
            return found
        assert loop.time() < deadline, f"{group} still {found.status}"
        await asyncio.sleep(0.02)
