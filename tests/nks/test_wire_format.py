"""Every client method sends the guide's exact request and parses the guide's answer."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr, ValidationError

from nks_operator.nks import (
    ActionResponse,
    Addon,
    AutoscalerUpdate,
    ClusterCreateLabels,
    ClusterCreateRequest,
    DeleteResult,
    ExtraSecurityGroup,
    ExtraVolume,
    IPACLTarget,
    Listing,
    NKSClient,
    NodeGroupCreateLabels,
    NodeGroupCreateRequest,
    Operation,
)
from nks_operator.nks.models import (
    CatalogueAddon,
    ControlPlaneLog,
    IPACLUpdate,
    MetricRule,
    ScaleInPolicy,
    ScaleOutPolicy,
    ServiceGatewayUpdate,
)

from .conftest import NKS_URL, TOKEN

CL = "2b778d83-8b67-45b1-920e-b0c5ad5c2f30"
NG = "018b06c5-1293-4081-8242-167a1cb9f262"
UUID_ANSWER = {"uuid": CL}


def cluster_create_request() -> ClusterCreateRequest:
    """The guide's "Create a Cluster" example, built through the models."""
    return ClusterCreateRequest(
        name="test-k8s",
        keypair="test-keypair",
        flavor_id="6ef27f21-c774-4c0e-84ff-7dd4a762571f",
        fixed_network="eb212079-b6ec-430c-ba57-14280a457bcb",
        fixed_subnet="4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90",
        node_count=1,
        create_timeout=60,
        labels=ClusterCreateLabels(
            availability_zone="kr2-pub-b",
            boot_volume_size=20,
            boot_volume_type="General HDD",
            ca_enable=False,
            ca_max_node_count=10,
            ca_min_node_count=1,
            ca_scale_down_delay_after_add=3,
            ca_scale_down_enable=True,
            ca_scale_down_unneeded_time=3,
            ca_scale_down_util_thresh=50,
            external_network_id="751b8227-7b45-440a-9349-dbf829d0aba5",
            external_subnet_ids=["59ddc195-76b1-431d-9693-f09880747dc6"],
            kube_tag="v1.23.3",
            master_lb_floating_ip_enabled=True,
            strict_sg_rules=True,
            node_image="f462a2a5-ba24-46d6-b7a1-9a9febcd3cfc",
            user_script_v2="",
            pods_network_cidr="10.100.0.0/16",
            pods_network_subnet=24,
            extra_security_groups=[
                ExtraSecurityGroup(
                    target_subnet="4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90",
                    security_group_ids=[
                        "8669cca4-7904-4dc6-b1be-db49661cedb6",
                        "fa69d78d-bd04-4ab0-9ce6-c92a84b899c2",
                    ],
                )
            ],
            extra_volumes=[ExtraVolume(volume_type="General HDD", volume_size=100)],
        ),
    )


CLUSTER_CREATE_WIRE = {
    "cluster_template_id": "iaas_console",
    "create_timeout": 60,
    "fixed_network": "eb212079-b6ec-430c-ba57-14280a457bcb",
    "fixed_subnet": "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90",
    "flavor_id": "6ef27f21-c774-4c0e-84ff-7dd4a762571f",
    "keypair": "test-keypair",
    "labels": {
        "availability_zone": "kr2-pub-b",
        "boot_volume_size": "20",
        "boot_volume_type": "General HDD",
        "ca_enable": "False",
        "ca_max_node_count": "10",
        "ca_min_node_count": "1",
        "ca_scale_down_delay_after_add": "3",
        "ca_scale_down_enable": "True",
        "ca_scale_down_unneeded_time": "3",
        "ca_scale_down_util_thresh": "50",
        "cert_manager_api": "True",
        "clusterautoscale": "nodegroupfeature",
        "external_network_id": "751b8227-7b45-440a-9349-dbf829d0aba5",
        "external_subnet_id_list": "59ddc195-76b1-431d-9693-f09880747dc6",
        "kube_tag": "v1.23.3",
        "master_lb_floating_ip_enabled": "True",
        "strict_sg_rules": "True",
        "node_image": "f462a2a5-ba24-46d6-b7a1-9a9febcd3cfc",
        "user_script_v2": "",
        "pods_network_cidr": "10.100.0.0/16",
        "pods_network_subnet": 24,
        "extra_security_groups": [
            {
                "target_subnet": "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90",
                "security_group_ids": "8669cca4-7904-4dc6-b1be-db49661cedb6,"
                "fa69d78d-bd04-4ab0-9ce6-c92a84b899c2",
            }
        ],
        "extra_volumes": [{"volume_type": "General HDD", "volume_size": 100}],
    },
    "name": "test-k8s",
    "node_count": 1,
}

NODEGROUP_ANSWER = {
    "cluster_id": CL,
    "flavor_id": "6ef27f21-c774-4c0e-84ff-7dd4a762571f",
    "image_id": "f462a2a5-ba24-46d6-b7a1-9a9febcd3cfc",
    "labels": {"availability_zone": "kr2-pub-b", "ca_enable": "false", "boot_volume_size": "20"},
    "max_node_count": None,
    "min_node_count": 1,
    "name": "added-nodegroup",
    "node_count": 1,
    "role": "worker",
    "uuid": "a3366f2f-a1f3-45ef-8390-10536e8060ff",
}


@dataclass
class Case:
    """One operation: how to call it, what must go on the wire, what comes back."""

    operation: Operation
    call: Callable[[NKSClient], Awaitable[Any]]
    path: str
    body: Any  # None: no body
    answer_status: int
    answer: Any
    check: Callable[[Any], object]  # raises (assert / pytest.fail) when wrong
    params: dict[str, str] | None = None


def _is_action(result: Any) -> None:
    assert isinstance(result, ActionResponse)
    assert result.uuid == CL


CASES = [
    Case(
        Operation.LIST_CLUSTERS,
        lambda c: c.list_clusters(),
        "/v1/clusters",
        None,
        200,
        {"clusters": [{"uuid": CL, "name": "k8s-test", "status": "CREATE_COMPLETE"}]},
        lambda r: [x.uuid for x in r] == [CL] or pytest.fail(str(r)),
    ),
    Case(
        Operation.GET_CLUSTER,
        lambda c: c.get_cluster(CL),
        f"/v1/clusters/{CL}",
        None,
        200,
        {"uuid": CL, "name": "test-k8s", "status": "CREATE_COMPLETE", "node_addresses": None},
        lambda r: (r.uuid, r.node_addresses) == (CL, []) or pytest.fail(repr(r)),
    ),
    Case(
        Operation.CREATE_CLUSTER,
        lambda c: c.create_cluster(cluster_create_request()),
        "/v1/clusters",
        CLUSTER_CREATE_WIRE,
        202,
        {"uuid": "5801ef8a-3760-4858-b467-fc4c1201241d"},
        lambda r: r == "5801ef8a-3760-4858-b467-fc4c1201241d" or pytest.fail(repr(r)),
    ),
    Case(
        Operation.DELETE_CLUSTER,
        lambda c: c.delete_cluster(CL),
        f"/v1/clusters/{CL}",
        None,
        204,
        None,
        lambda r: r is DeleteResult.ACCEPTED or pytest.fail(repr(r)),
    ),
    Case(
        Operation.RESIZE_CLUSTER,
        lambda c: c.resize_cluster(CL, nodegroup="default-worker", node_count=3),
        f"/v1/clusters/{CL}/actions/resize",
        {"node_count": 3, "nodegroup": "default-worker"},
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.RESIZE_CLUSTER,
        lambda c: c.resize_cluster(
            CL, nodegroup="default-worker", node_count=1, nodes_to_remove=["n-1", "n-2"]
        ),
        f"/v1/clusters/{CL}/actions/resize",
        {"node_count": 1, "nodegroup": "default-worker", "nodes_to_remove": ["n-1", "n-2"]},
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.GET_KUBECONFIG,
        lambda c: c.get_kubeconfig(CL),
        f"/v1/clusters/{CL}/config",
        None,
        200,
        {"config": "apiVersion: v1\nkind: Config\n"},
        lambda r: r.get_secret_value() == "apiVersion: v1\nkind: Config\n" or pytest.fail(),
    ),
    Case(
        Operation.UPDATE_CNI,
        lambda c: c.update_cni(
            CL, pod_cidr="10.200.0.0/16", num_buffer_nodes=1, num_max_unavailable_nodes=1
        ),
        f"/v1/clusters/{CL}/actions/cni_update",
        {
            "cni": "calico",
            "num_max_unavailable_nodes": 1,
            "num_buffer_nodes": 1,
            "pod_cidr": "10.200.0.0/16",
        },
        200,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.UPDATE_CNI,
        lambda c: c.update_cni(CL, pod_cidr="10.200.0.0/16", pod_subnet=24),
        f"/v1/clusters/{CL}/actions/cni_update",
        {"cni": "calico", "pod_cidr": "10.200.0.0/16", "pod_subnet": "24"},
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.SET_IP_ACL,
        lambda c: c.set_ip_acl(
            CL,
            enable=True,
            action="ALLOW",
            targets=["192.168.0.5", IPACLTarget(cidr_address="10.10.22.3/24", description="Fr")],
        ),
        f"/v1/clusters/{CL}/api_ep_ipacl",
        {
            "enable": "true",
            "action": "ALLOW",
            "ipacl_targets": [
                {"cidr_address": "192.168.0.5"},
                {"cidr_address": "10.10.22.3/24", "description": "Fr"},
            ],
        },
        200,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.SET_IP_ACL,
        lambda c: c.set_ip_acl(CL, enable=False),
        f"/v1/clusters/{CL}/api_ep_ipacl",
        {"enable": "false"},
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.GET_IP_ACL,
        lambda c: c.get_ip_acl(CL),
        f"/v1/clusters/{CL}/api_ep_ipacl",
        None,
        200,
        {
            "cluster_uuid": CL,
            "enable": "true",
            "action": "ALLOW",
            "ipacl_targets": [
                {"cidr_address": "192.168.0.5", "descripion": "My Friend"},
                {"cidr_address": "10.10.22.3/24"},
            ],
        },
        lambda r: (
            (r.enable, r.action, [t.description for t in r.ipacl_targets])
            == (True, "ALLOW", ["My Friend", None])
            or pytest.fail(repr(r))
        ),
    ),
    Case(
        Operation.RENEW_CERTIFICATE,
        lambda c: c.renew_certificate(CL, term_of_validity=5),
        f"/v1/certificates/{CL}",
        {"term_of_validity": 5},
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.UPDATE_SERVICE_GATEWAY,
        lambda c: c.update_service_gateway(CL, ncr_sgw="ncr-1", obs_sgw="obs-1"),
        f"/v1/clusters/{CL}/actions/update_sgw",
        {"ncr_sgw": "ncr-1", "obs_sgw": "obs-1"},
        200,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.LIST_EVENTS,
        lambda c: c.list_events(CL),
        f"/v1/clusters/{CL}/events",
        None,
        200,
        {
            "events": [
                {
                    "id": 3683,
                    "uuid": "868f218a-9446-4500-b6b3-8c1a95e3d7c3",
                    "type": "CLUSTER_CREATE",
                    "state": "SUCCESS",
                    "contents": None,
                    "created_at": "2024-01-30T01:31:06+00:00",
                }
            ]
        },
        lambda r: (
            (r[0].type, r[0].succeeded, r[0].created_at.year) == ("CLUSTER_CREATE", True, 2024)
            or pytest.fail(repr(r))
        ),
    ),
    Case(
        Operation.GET_EVENT,
        lambda c: c.get_event(CL, "868f218a"),
        f"/v1/clusters/{CL}/events/868f218a",
        None,
        200,
        {"id": 1, "uuid": "868f218a", "state": "IN_PROGRESS", "type": "NODEGROUP_UPGRADE"},
        lambda r: r.in_progress or pytest.fail(repr(r)),
    ),
    Case(
        Operation.LIST_NODEGROUPS,
        lambda c: c.list_nodegroups(CL),
        f"/v1/clusters/{CL}/nodegroups",
        None,
        200,
        {"nodegroups": [{"uuid": NG, "name": "default-worker", "node_count": 2}]},
        lambda r: (r[0].name, r[0].node_count) == ("default-worker", 2) or pytest.fail(repr(r)),
    ),
    Case(
        Operation.GET_NODEGROUP,
        lambda c: c.get_nodegroup(CL, "default-worker"),
        f"/v1/clusters/{CL}/nodegroups/default-worker",
        None,
        200,
        {"uuid": NG, "name": "default-worker", "labels": {"ca_enable": "True"}},
        lambda r: r.labels.ca_enable is True or pytest.fail(repr(r)),
    ),
    Case(
        Operation.CREATE_NODEGROUP,
        lambda c: c.create_nodegroup(
            CL,
            NodeGroupCreateRequest(
                name="added-nodegroup",
                node_count=1,
                flavor_id="6ef27f21-c774-4c0e-84ff-7dd4a762571f",
                image_id="f462a2a5-ba24-46d6-b7a1-9a9febcd3cfc",
                labels=NodeGroupCreateLabels(
                    availability_zone="kr2-pub-b",
                    boot_volume_size=20,
                    boot_volume_type="General HDD",
                    ca_enable=False,
                ),
            ),
        ),
        f"/v1/clusters/{CL}/nodegroups",
        {
            "name": "added-nodegroup",
            "node_count": 1,
            "flavor_id": "6ef27f21-c774-4c0e-84ff-7dd4a762571f",
            "image_id": "f462a2a5-ba24-46d6-b7a1-9a9febcd3cfc",
            "labels": {
                "availability_zone": "kr2-pub-b",
                "boot_volume_size": "20",
                "boot_volume_type": "General HDD",
                "ca_enable": "False",
            },
        },
        202,
        NODEGROUP_ANSWER,
        lambda r: (
            (r.uuid, r.labels.boot_volume_size, r.max_node_count)
            == ("a3366f2f-a1f3-45ef-8390-10536e8060ff", 20, None)
            or pytest.fail(repr(r))
        ),
    ),
    Case(
        Operation.DELETE_NODEGROUP,
        lambda c: c.delete_nodegroup(CL, NG),
        f"/v1/clusters/{CL}/nodegroups/{NG}",
        None,
        204,
        None,
        lambda r: r is DeleteResult.ACCEPTED or pytest.fail(repr(r)),
    ),
    Case(
        Operation.STOP_NODES,
        lambda c: c.stop_nodes(CL, NG, ["node-a", "node-b"]),
        f"/v1/clusters/{CL}/nodegroups/{NG}/stop_node",
        {"node_list": "node-a:node-b"},
        200,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.START_NODES,
        lambda c: c.start_nodes(CL, NG, ["node-a"]),
        f"/v1/clusters/{CL}/nodegroups/{NG}/start_node",
        {"node_list": "node-a"},
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.GET_AUTOSCALER,
        lambda c: c.get_autoscaler(CL, NG),
        f"/v1/clusters/{CL}/nodegroups/{NG}/autoscale",
        None,
        200,
        {
            "ca_enable": True,
            "ca_max_node_count": 10,
            "ca_min_node_count": "2",
            "ca_scale_down_delay_after_add": 10,
            "ca_scale_down_enable": "True",
            "ca_scale_down_unneeded_time": 10,
            "ca_scale_down_util_thresh": 50,
            "clusterautoscale": "nodegroupfeature",
        },
        lambda r: (
            (r.ca_enable, r.ca_min_node_count, r.ca_scale_down_enable) == (True, 2, True)
            or pytest.fail(repr(r))
        ),
    ),
    Case(
        Operation.SET_AUTOSCALER,
        lambda c: c.set_autoscaler(
            CL,
            NG,
            AutoscalerUpdate(
                ca_enable=True,
                ca_max_node_count=10,
                ca_min_node_count=1,
                ca_scale_down_delay_after_add=30,
                ca_scale_down_enable=True,
                ca_scale_down_unneeded_time=20,
                ca_scale_down_util_thresh=40,
            ),
        ),
        f"/v1/clusters/{CL}/nodegroups/{NG}/autoscale",
        {
            "ca_enable": True,
            "ca_max_node_count": 10,
            "ca_min_node_count": 1,
            "ca_scale_down_delay_after_add": 30,
            "ca_scale_down_enable": True,
            "ca_scale_down_unneeded_time": 20,
            "ca_scale_down_util_thresh": 40,
        },
        200,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.UPGRADE_NODEGROUP,
        lambda c: c.upgrade_nodegroup(CL, "default-master", version="v1.19.13"),
        f"/v1/clusters/{CL}/nodegroups/default-master/upgrade",
        {"version": "v1.19.13"},
        200,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.UPGRADE_NODEGROUP,
        lambda c: c.upgrade_nodegroup(
            CL, NG, version="v1.28.3", num_buffer_nodes=2, num_max_unavailable_nodes=1
        ),
        f"/v1/clusters/{CL}/nodegroups/{NG}/upgrade",
        {"version": "v1.28.3", "num_buffer_nodes": 2, "num_max_unavailable_nodes": 1},
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.UPDATE_USER_SCRIPT,
        lambda c: c.update_user_script(CL, NG, "#!/bin/sh\necho hi\n"),
        f"/v1/clusters/{CL}/nodegroups/{NG}/userscript",
        # Encoded as `user_script_v2` is (docs/nks-api-notes.md, "User script").
        {"contents": base64.b64encode(b"#!/bin/sh\necho hi\n").decode()},
        200,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.CHANGE_FLAVOR,
        lambda c: c.change_flavor(
            CL, NG, flavor_id="1d0d6983", num_buffer_nodes=1, num_max_unavailable_nodes=1
        ),
        f"/v1/clusters/{CL}/nodegroups/{NG}",
        {
            "type": "flavor_id",
            "flavor_id": "1d0d6983",
            "num_buffer_nodes": 1,
            "num_max_unavailable_nodes": 1,
        },
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.GET_SUPPORTS,
        lambda c: c.get_supports(),
        "/v1/supports",
        None,
        200,
        {
            "supported_k8s": {"v1.26.3": False, "v1.9.1": False, "v1.28.3": True, "v1.27.3": True},
            "supported_event_type": {"cluster_events": {"CLUSTER_CREATE": "Create a cluster"}},
        },
        lambda r: (
            (r.versions, r.creatable_versions)
            == (["v1.9.1", "v1.26.3", "v1.27.3", "v1.28.3"], ["v1.27.3", "v1.28.3"])
            or pytest.fail(repr(r))
        ),
    ),
]


# -- the current edition (docs/nks-api-notes.md, "The current edition") ------------------

ADDON = "c5a1f1d4-7c2e-4a0b-9a43-0d7f0b1c2e3f"
SGW = "48f4ff38-d14b-4f34-a40c-705524e6a755"
SUBNET = "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90"
INSTALLED_ANSWER = {
    "uuid": ADDON,
    "project_id": "p",
    "cluster_uuid": CL,
    "cluster_name": "demo",
    "type": "kube-dns",
    "name": "coredns",
    "version": "1.8.4-nks1",
    "options": {},
    "status": "UPDATE_COMPLETE",
    "status_reason": None,
    "scope": "cluster",
    "target_uuid": CL,
    "created_at": "2026-03-01T01:02:03+00:00",
    "updated_at": "2026-03-01T01:05:03+00:00",
}
CATALOGUE_ANSWER = {
    "uuid": ADDON,
    "type": "cni",
    "name": "calico",
    "version": "v3.28.2-nks1",
    "description": "Calico",
    "deploy_target": "cluster",
    "k8s_min_version": "v1.26.0",
    "k8s_max_version": None,
    "option_schemas": [
        {
            "name": "mode",
            "data_type": "SELECT",
            "default": "vxlan",
            "updatable": False,
            "mandatory": False,
            "choices": ["vxlan", "ebpf"],
        }
    ],
}


def _is_catalogue_entry(entry: Any) -> None:
    assert isinstance(entry, CatalogueAddon)
    mode = entry.option("mode")
    assert mode is not None and (mode.data_type, mode.default, mode.updatable) == (
        "SELECT",
        "vxlan",
        False,
    )
    assert mode.choices == ["vxlan", "ebpf"] and entry.k8s_max_version is None


CASES += [
    Case(
        Operation.SET_NODE_LABELS,
        lambda c: c.set_node_labels(CL, NG, {"env": "prod", "example.com/tier": "web"}),
        f"/v1/clusters/{CL}/nodegroups/{NG}",
        {"type": "k8s_node_labels", "k8s_node_labels": {"env": "prod", "example.com/tier": "web"}},
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.SET_METRIC_AUTOSCALER,
        lambda c: c.set_metric_autoscaler(
            CL,
            NG,
            scale_out=ScaleOutPolicy(
                enable=True,
                max_node_count=5,
                rules_operator="OR",
                delay=5,
                adjustment_count=2,
                rules=[MetricRule(metric="GROUP_CPU_USAGE", threshold=80, duration=3)],
            ),
            scale_in=ScaleInPolicy(enable=False),
        ),
        f"/v1/clusters/{CL}/nodegroups/{NG}",
        {
            "type": "metric_base_autoscale",
            "mba_scale_out": {
                "enable": True,  # a JSON boolean, as the table types it
                "max_node_count": 5,
                "rules_operator": "OR",
                "delay": 5,
                "adjustment_count": 2,
                "rules": [{"metric": "GROUP_CPU_USAGE", "threshold": 80, "duration": 3}],
            },
            "mba_scale_in": {"enable": False},
        },
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.SET_FIP_AUTO_BIND,
        lambda c: c.set_fip_auto_bind(CL, NG, enable=True, subnet=SUBNET, selector="pool-a"),
        f"/v1/clusters/{CL}/nodegroups/{NG}",
        {
            "type": "fip_auto_bind",
            "fip_auto_bind_update_info": {
                "fip_auto_bind_enable": True,
                "fip_bind_subnet": SUBNET,
                "fip_selector": "pool-a",
            },
        },
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.SET_CONTROL_PLANE_LOG,
        lambda c: c.set_control_plane_log(
            CL,
            ControlPlaneLog(
                enable=True,
                type="lncs",
                sgw=SGW,
                upload_interval=10,
                lncs_appkey=SecretStr("lncs-app-key-0001"),
            ),
        ),
        f"/v1/clusters/{CL}",
        {
            "type": "control_plane_log",
            "control_plane_log": {
                "enable": True,
                "type": "lncs",
                "sgw": SGW,
                "upload_interval": 10,
                "lncs_appkey": "lncs-app-key-0001",  # the secret reaches the wire only
            },
        },
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.LIST_ADDON_TYPES,
        lambda c: c.list_addon_types(),
        "/v1/addon_types/",
        None,
        200,
        {"addon_types": [{"uuid": "t1", "name": "cni", "mandatory": True}, {"name": "odd"}]},
        lambda r: (
            ([(t.name, t.mandatory) for t in r], [e.name for e in r.unreadable])
            == ([("cni", True)], ["odd"])
            or pytest.fail(repr(r))
        ),
    ),
    Case(
        Operation.GET_ADDON_TYPE,
        lambda c: c.get_addon_type("kube-dns"),
        "/v1/addon_types/kube-dns",
        None,
        200,
        {"uuid": "t2", "name": "kube-dns", "mandatory": "true"},
        lambda r: r.mandatory is True or pytest.fail(repr(r)),
    ),
    Case(
        Operation.LIST_ADDON_CATALOGUE,
        lambda c: c.list_addon_catalogue(),
        "/v1/addons/",
        None,
        200,
        {"addons": [CATALOGUE_ANSWER]},
        lambda r: _is_catalogue_entry(r[0]),
    ),
    Case(
        Operation.GET_ADDON_CATALOGUE_ENTRY,
        lambda c: c.get_addon_catalogue_entry(ADDON),
        f"/v1/addons/{ADDON}",
        None,
        200,
        CATALOGUE_ANSWER,
        _is_catalogue_entry,
    ),
    Case(
        Operation.LIST_CLUSTER_ADDONS,
        lambda c: c.list_cluster_addons(CL),
        f"/v1/clusters/{CL}/addons/",
        None,
        200,
        {"addons": [INSTALLED_ANSWER]},
        lambda r: (
            [(a.name, a.version, a.is_stable) for a in r] == [("coredns", "1.8.4-nks1", True)]
            or pytest.fail(repr(r))
        ),
    ),
    Case(
        Operation.GET_CLUSTER_ADDON,
        lambda c: c.get_cluster_addon(CL, "coredns"),
        f"/v1/clusters/{CL}/addons/coredns",
        None,
        200,
        {**INSTALLED_ANSWER, "status": "UPDATE_FAILED", "status_reason": "conflict"},
        lambda r: (r.is_failed and r.status_reason == "conflict") or pytest.fail(repr(r)),
    ),
    Case(
        Operation.INSTALL_ADDON,
        lambda c: c.install_addon(
            CL, name="coredns", version="1.8.4-nks1", resolve_conflicts="overwrite"
        ),
        f"/v1/clusters/{CL}/addons/",
        # No `options` unless given (contested).
        {"name": "coredns", "version": "1.8.4-nks1", "resolve_conflicts": "overwrite"},
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.INSTALL_ADDON,
        lambda c: c.install_addon(
            CL,
            name="calico",
            version="v3.28.2-nks1",
            resolve_conflicts="none",
            options={"mode": "ebpf"},
        ),
        f"/v1/clusters/{CL}/addons/",
        {
            "name": "calico",
            "version": "v3.28.2-nks1",
            "resolve_conflicts": "none",
            "options": {"mode": "ebpf"},
        },
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.UPDATE_ADDON,
        lambda c: c.update_addon(CL, "coredns", version="1.8.4-nks2", resolve_conflicts="preserve"),
        f"/v1/clusters/{CL}/addons/coredns",
        {"version": "1.8.4-nks2", "resolve_conflicts": "preserve"},
        202,
        UUID_ANSWER,
        _is_action,
    ),
    Case(
        Operation.UNINSTALL_ADDON,
        lambda c: c.uninstall_addon(CL, "metrics-server"),
        f"/v1/clusters/{CL}/addons/metrics-server",
        None,
        202,
        UUID_ANSWER,  # a body, unlike a cluster delete
        lambda r: r is DeleteResult.ACCEPTED or pytest.fail(repr(r)),
    ),
]


def test_every_operation_has_a_case() -> None:
    covered = {case.operation for case in CASES}
    compute = {op for op in Operation if op.is_compute}  # test_compute.py
    assert covered == set(Operation) - {Operation.ISSUE_TOKEN} - compute


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.operation.value}-{i}" for i, c in enumerate(CASES)]
)
async def test_wire_format(case: Case, client: NKSClient, mock_api: respx.MockRouter) -> None:
    method = case.operation.route.method
    if case.answer is None:
        response = httpx.Response(case.answer_status)
    else:
        response = httpx.Response(case.answer_status, json=case.answer)
    route = mock_api.route(method=method, url=NKS_URL + case.path).mock(return_value=response)

    result = await case.call(client)

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.headers["X-Auth-Token"] == TOKEN
    assert request.headers["OpenStack-API-Version"] == "container-infra latest"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    if case.body is None:
        assert request.content == b""
    else:
        assert json.loads(request.content) == case.body
    case.check(result)


async def test_path_parameters_are_quoted(client: NKSClient, mock_api: respx.MockRouter) -> None:
    route = mock_api.get(f"{NKS_URL}/v1/clusters/a%2Fb%20c").mock(
        return_value=httpx.Response(200, json={"uuid": "x"})
    )
    await client.get_cluster("a/b c")
    assert route.called


@pytest.mark.parametrize("status", [200, 202, 204])
async def test_delete_accepts_200_202_204(
    status: int, client: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api.delete(f"{NKS_URL}/v1/clusters/{CL}").mock(return_value=httpx.Response(status))
    assert await client.delete_cluster(CL) is DeleteResult.ACCEPTED


async def test_delete_of_missing_cluster_is_already_gone(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.delete(f"{NKS_URL}/v1/clusters/{CL}").mock(
        return_value=httpx.Response(404, json={"errors": [{"status": 404, "detail": "gone"}]})
    )
    assert await client.delete_cluster(CL) is DeleteResult.ALREADY_GONE
    assert route.call_count == 1


async def test_delete_of_missing_nodegroup_is_already_gone(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api.delete(f"{NKS_URL}/v1/clusters/{CL}/nodegroups/{NG}").mock(
        return_value=httpx.Response(404)
    )
    assert await client.delete_nodegroup(CL, NG) is DeleteResult.ALREADY_GONE


async def test_action_answer_without_body_is_accepted(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api.post(f"{NKS_URL}/v1/clusters/{CL}/actions/update_sgw").mock(
        return_value=httpx.Response(202)
    )
    result = await client.update_service_gateway(CL, ncr_sgw="a", obs_sgw="b")
    assert result.uuid is None


def test_create_with_addons_and_ip_acl() -> None:
    """The newer-than-the-guide create fields, in the shapes NHN's provider sends."""
    request = cluster_create_request()
    request.addons = [
        Addon(name="calico", version="v3.28.2-nks1", options={"mode": "vxlan"}),
        Addon(name="coredns", version="1.8.4-nks1"),
    ]
    request.api_ep_ipacl = IPACLUpdate(
        enable=True, action="ALLOW", ipacl_targets=[IPACLTarget(cidr_address="10.0.0.0/8")]
    )
    wire = request.to_wire()
    assert wire["addons"] == [
        {"name": "calico", "version": "v3.28.2-nks1", "options": {"mode": "vxlan"}},
        {"name": "coredns", "version": "1.8.4-nks1"},
    ]
    assert wire["api_ep_ipacl"] == {
        "enable": "true",
        "action": "ALLOW",
        "ipacl_targets": [{"cidr_address": "10.0.0.0/8"}],
    }
    assert "addons" not in CLUSTER_CREATE_WIRE  # absent unless set


def test_service_gateway_update_needs_both() -> None:
    with pytest.raises(ValidationError):
        ServiceGatewayUpdate.model_validate({"ncr_sgw": "n"})


async def test_list_returns_a_listing(client: NKSClient, mock_api: respx.MockRouter) -> None:
    mock_api.get(f"{NKS_URL}/v1/clusters/{CL}/nodegroups").mock(
        return_value=httpx.Response(
            200, json={"nodegroups": [{"uuid": NG, "name": "default-worker"}, {"name": "broken"}]}
        )
    )
    groups = await client.list_nodegroups(CL)
    assert isinstance(groups, Listing) and isinstance(groups, list)
    assert [g.uuid for g in groups] == [NG]
    (entry,) = groups.unreadable
    assert (entry.uuid, entry.name) == (None, "broken") and "uuid" in entry.problem


async def test_list_clusters_follows_next_links(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    pages = {
        None: {
            "clusters": [{"uuid": "c1"}, {"uuid": "c2"}],
            # NKS's own host in the link: the client must stay on its configured endpoint.
            "next": "https://kr1-internal.example/v1/clusters?limit=2&marker=c2",
        },
        "c2": {
            "clusters": [{"uuid": "c3"}, {"uuid": "c4"}],
            "next": "https://kr1-internal.example/v1/clusters?limit=2&marker=c4",
        },
        "c4": {"clusters": [{"uuid": "c5"}]},
    }
    seen: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        seen.append(params)
        return httpx.Response(200, json=pages[params.get("marker")])

    mock_api.get(url__startswith=f"{NKS_URL}/v1/clusters").mock(side_effect=answer)

    clusters = await client.list_clusters(page_size=2)

    assert [c.uuid for c in clusters] == ["c1", "c2", "c3", "c4", "c5"]
    assert seen == [{"limit": "2"}, {"limit": "2", "marker": "c2"}, {"limit": "2", "marker": "c4"}]


async def test_list_clusters_stops_on_a_repeating_next_link(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(url__startswith=f"{NKS_URL}/v1/clusters").mock(
        return_value=httpx.Response(
            200, json={"clusters": [{"uuid": "c1"}], "next": f"{NKS_URL}/v1/clusters?marker=c1"}
        )
    )
    clusters = await client.list_clusters()
    assert [c.uuid for c in clusters] == ["c1"]
    assert route.call_count == 2  # the first page, then the repeated marker once


async def test_find_clusters_by_name(client: NKSClient, mock_api: respx.MockRouter) -> None:
    mock_api.get(f"{NKS_URL}/v1/clusters").mock(
        return_value=httpx.Response(
            200,
            json={
                "clusters": [
                    {"uuid": "c1", "name": "prod"},
                    {"uuid": "c2", "name": "dev"},
                    {"uuid": "c3", "name": "prod"},
                ]
            },
        )
    )
    assert [c.uuid for c in await client.find_clusters("prod")] == ["c1", "c3"]


async def test_authenticate_only_talks_to_identity(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    await client.authenticate()
    assert mock_api["token"].call_count == 1
    assert len(mock_api.calls) == 1
