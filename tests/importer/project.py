"""An NKS project made directly through the NKS API (as a console or terraform user would,
never by the operator), with settings away from the defaults: what `import` must bring
under management without a single NKS write."""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass, field
from typing import Any

from nks_operator.api import NKSClusterSpec, NKSNodeGroupSpec
from nks_operator.nks import (
    AutoscalerUpdate,
    ClusterCreateRequest,
    Credentials,
    IPACLTarget,
    NKSClient,
    NodeGroupCreateRequest,
)
from nks_operator.nks.compute import ComputeClient, match_servers
from nks_operator.nks.models import MetricRule, ScaleInPolicy, ScaleOutPolicy
from nks_operator.reconcile import payloads
from nks_operator.reconcile.phase import is_in_progress
from tests.unit.specs import CLUSTER_SPEC, NODEGROUP_SPEC

NCR = "48f4ff38-d14b-4f34-a40c-705524e6a755"
OBS = "23c550cb-6a5b-4eaa-903a-711c13316d91"
SCRIPT = "#!/bin/bash\nset -e\necho 'web node' > /etc/motd\n"
WEB_LABELS = {"example.com/tier": "web", "team": "shop"}


def client(url: str, tenant: str) -> NKSClient:
    creds = Credentials(tenant_id=tenant, username="console-user", password="pw-" + tenant)
    return NKSClient(creds, "kr2", nks_url=url, identity_url=url)


async def wait_idle(nks: NKSClient, cluster_id: str, seconds: float = 30) -> None:
    """Until the cluster and all its node groups are out of every operation."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        cluster = await nks.get_cluster(cluster_id)
        groups = await nks.list_nodegroups(cluster_id)
        if not is_in_progress(cluster.status) and not any(is_in_progress(g.status) for g in groups):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"cluster {cluster_id} still busy after {seconds}s")


async def create_cluster(nks: NKSClient, name: str, **spec: Any) -> str:
    body = payloads.create_cluster_body(
        NKSClusterSpec.model_validate({**copy.deepcopy(CLUSTER_SPEC), **spec}), name, {}
    )
    cluster_id = await nks.create_cluster(ClusterCreateRequest.model_validate(body))
    await wait_idle(nks, cluster_id)
    return cluster_id


async def create_nodegroup(nks: NKSClient, cluster_id: str, name: str, **spec: Any) -> str:
    worker = NKSNodeGroupSpec.model_validate({**copy.deepcopy(NODEGROUP_SPEC), **spec})
    body = payloads.create_nodegroup_body(worker, name, {})
    group = await nks.create_nodegroup(cluster_id, NodeGroupCreateRequest.model_validate(body))
    await wait_idle(nks, cluster_id)
    return str(group.uuid)


@dataclass
class Project:
    clusters: dict[str, str] = field(default_factory=dict)  # NKS name -> UUID
    nodegroups: dict[str, str] = field(default_factory=dict)  # "cluster/group" -> UUID


async def build_project(url: str, tenant: str) -> Project:
    """ "shop": service gateways, strict SG rules, calico-ebpf, an IP ACL, the default worker
    with an autoscaler, a user script and floating IP auto-bind set afterwards, node groups
    `batch` (autoscaler with 2 pods), `web` (user script, node labels and the metric
    autoscaler set afterwards, SSD boot volume) and `legacy` (left on the previous version
    when the others were upgraded). "plain": the defaults."""
    project = Project()
    async with client(url, tenant) as nks:
        shop = await create_cluster(
            nks,
            "shop",
            kubernetesVersion="v1.28.3",
            strictSecurityGroupRules=True,
            serviceGateways={"ncr": NCR, "obs": OBS},
            network={**CLUSTER_SPEC["network"], "cni": "calico-ebpf"},
        )
        project.clusters["shop"] = shop
        scaler = {
            "enabled": True,
            "minNodes": 1,
            "maxNodes": 4,
            "scaleDown": {"unneededTimeMinutes": 20, "utilizationThresholdPercent": 60},
            "podReplicas": 2,
        }
        project.nodegroups["shop/batch"] = await create_nodegroup(
            nks, shop, "batch", autoscaler=scaler, nodeCount=2
        )
        project.nodegroups["shop/web"] = await create_nodegroup(
            nks, shop, "web", nodeCount=3, bootVolume={"type": "General SSD", "sizeGB": 80}
        )
        project.nodegroups["shop/legacy"] = await create_nodegroup(nks, shop, "legacy")
        for group in ("default-master", "default-worker", "batch", "web"):
            await nks.upgrade_nodegroup(shop, group, version="v1.29.3")
            await wait_idle(nks, shop)
        await nks.update_user_script(shop, "web", SCRIPT)
        await wait_idle(nks, shop)
        await nks.set_node_labels(shop, "web", WEB_LABELS)
        await wait_idle(nks, shop)
        await nks.set_metric_autoscaler(
            shop,
            "web",
            scale_out=ScaleOutPolicy(
                enable=True,
                max_node_count=6,
                rules_operator="OR",
                delay=5,
                adjustment_count=2,
                rules=[MetricRule(metric="GROUP_CPU_USAGE", threshold=70, duration=3)],
            ),
            scale_in=ScaleInPolicy(enable=False),
        )
        await wait_idle(nks, shop)
        cluster = await nks.get_cluster(shop)
        await nks.set_fip_auto_bind(
            shop, "default-worker", enable=True, subnet=cluster.fixed_subnet, selector="shop"
        )
        await wait_idle(nks, shop)
        await nks.update_user_script(shop, "default-worker", "echo default\n")
        await wait_idle(nks, shop)
        await nks.set_autoscaler(
            shop,
            "default-worker",
            AutoscalerUpdate(
                ca_enable=True,
                ca_min_node_count=1,
                ca_max_node_count=3,
                ca_scale_down_enable=False,
                ca_scale_down_unneeded_time=30,
                ca_scale_down_util_thresh=40,
                ca_scale_down_delay_after_add=15,
            ),
        )
        await wait_idle(nks, shop)
        await nks.set_ip_acl(
            shop,
            enable=True,
            action="ALLOW",
            targets=[
                IPACLTarget(cidr_address="10.0.0.0/8", description="office"),
                IPACLTarget(cidr_address="203.0.113.7"),
            ],
        )
        await wait_idle(nks, shop)
        project.clusters["plain"] = await create_cluster(nks, "plain")
    return project


async def node_ids(nks: NKSClient, cluster_id: str, nodegroup: str) -> list[str]:
    """Instance UUIDs of a group's nodes: its addresses joined to the compute servers."""
    group = await nks.get_nodegroup(cluster_id, nodegroup)
    joined = match_servers(
        group.node_addresses or [], await ComputeClient.sharing(nks).list_servers()
    )
    assert joined.complete, joined
    return sorted(server.id for server in joined.found.values())


@dataclass
class StoppedProject:
    cluster: str
    pool: str
    stopped: str  # the instance UUID of the stopped node of `pool`


async def build_stopped_project(url: str, tenant: str) -> StoppedProject:
    """ "ops" (the only cluster of the tenant, so node addresses are unique) with node group
    `pool` of three nodes, one of them stopped through the NKS API."""
    async with client(url, tenant) as nks:
        cluster = await create_cluster(nks, "ops")
        pool = await create_nodegroup(nks, cluster, "pool", nodeCount=3)
        stopped = (await node_ids(nks, cluster, "pool"))[1]
        await nks.stop_nodes(cluster, "pool", [stopped])
        await wait_idle(nks, cluster)
    return StoppedProject(cluster, pool, stopped)
