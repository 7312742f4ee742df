"""Spec -> the exact wire JSON of "Create a Cluster" / "Create a Node Group"."""

from __future__ import annotations

import base64

from nks_operator.nks.models import ClusterCreateRequest, NodeGroupCreateRequest
from nks_operator.nks.userscript import user_script_matches
from nks_operator.reconcile import payloads
from tests.unit.specs import cluster_spec, nodegroup_spec

EXT_1 = "59ddc195-76b1-431d-9693-f09880747dc6"
EXT_2 = "7a1e0a9d-5d0c-4d6e-9b1a-0f1e2d3c4b5a"
NCR = "48f4ff38-d14b-4f34-a40c-705524e6a755"
OBS = "23c550cb-6a5b-4eaa-903a-711c13316d91"
NET_A = "2e23b058-44ab-4587-971d-f2c72c54ed39"
SUBNET_A = "35e220b6-92f9-4c0f-99db-5246daa5a8ae"
SG_1 = "8669cca4-7904-4dc6-b1be-db49661cedb6"
SG_2 = "fa69d78d-bd04-4ab0-9ce6-c92a84b899c2"


def test_minimal_cluster_body_matches_the_guide() -> None:
    body = payloads.create_cluster_body(cluster_spec(), "demo", {})
    assert body["cluster_template_id"] == "iaas_console"
    assert body["node_count"] == 2  # a number, although the guide lists String
    assert body["fixed_network"] == "eb212079-b6ec-430c-ba57-14280a457bcb"
    labels = body["labels"]
    assert labels["kube_tag"] == "v1.29.3"
    assert labels["node_image"] == "f462a2a5-ba24-46d6-b7a1-9a9febcd3cfc"
    assert labels["boot_volume_size"] == "50"
    assert labels["cert_manager_api"] == "True"
    assert labels["ca_enable"] == "False"
    # No internet gateway network: the endpoint is private unless the spec says otherwise.
    assert labels["master_lb_floating_ip_enabled"] == "False"
    assert all(isinstance(v, str) for v in labels.values())


def test_full_cluster_body() -> None:
    spec = cluster_spec(
        network={
            "externalNetworkID": "751b8227-7b45-440a-9349-dbf829d0aba5",
            "externalSubnetIDs": [EXT_1, EXT_2],
            "podsNetworkCIDR": "10.100.0.0/16",
            "podsNetworkSubnet": 24,
            "serviceClusterIPRange": "10.254.0.0/16",
            "cni": "calico",
        },
        serviceGateways={"ncr": NCR, "obs": OBS},
        strictSecurityGroupRules=True,
        defaultWorker={
            "autoscaler": {
                "enabled": True,
                "minNodes": 1,
                "maxNodes": 5,
                "scaleDown": {"unneededTimeMinutes": 20},
            },
            "userScript": "#!/bin/sh\necho hi",
            "additionalNetworks": [{"networkID": NET_A, "subnetID": SUBNET_A}],
            "extraSecurityGroups": [{"targetSubnetID": SUBNET_A, "securityGroupIDs": [SG_1, SG_2]}],
            "extraVolumes": [
                {
                    "type": "General SSD",
                    "sizeGB": 100,
                    "mountPath": "/data",
                    "keyID": "k1",
                    "appKeySecretRef": {"name": "keys", "key": "appkey"},
                },
            ],
        },
    )
    body = payloads.create_cluster_body(spec, "demo", {("keys", "appkey"): "s3cr3t"})
    labels = body["labels"]
    assert labels["external_subnet_id_list"] == f"{EXT_1}:{EXT_2}"
    assert labels["pods_network_subnet"] == 24  # the one numeric label
    assert (labels["ncr_sgw"], labels["obs_sgw"]) == (NCR, OBS)
    # The user script travels base64-encoded (docs/nks-api-notes.md, "User script").
    assert base64.b64decode(labels["user_script_v2"]).decode() == "#!/bin/sh\necho hi"
    assert user_script_matches("#!/bin/sh\necho hi", labels["user_script_v2"]) is True
    assert labels["ca_enable"] == "True"
    assert labels["ca_scale_down_unneeded_time"] == "20"
    assert labels["strict_sg_rules"] == "True"
    assert labels["additional_network_id_list"] == NET_A
    assert labels["additional_subnet_id_list"] == SUBNET_A
    assert labels["extra_security_groups"] == [
        {"target_subnet": SUBNET_A, "security_group_ids": f"{SG_1},{SG_2}"}
    ]
    assert labels["extra_volumes"][0] == {
        "volume_type": "General SSD",
        "volume_size": 100,
        "volume_mount_path": "/data",
        "volume_key_id": "k1",
        "volume_appkey": "s3cr3t",
    }
    # The client's request model accepts it and writes the same wire JSON back.
    wire = ClusterCreateRequest.model_validate(body).to_wire()
    assert wire["labels"]["extra_volumes"][0]["volume_appkey"] == "s3cr3t"
    assert wire["labels"]["external_subnet_id_list"] == f"{EXT_1}:{EXT_2}"
    assert "addons" not in body and "api_ep_ipacl" not in body  # only when the spec sets them


def test_addons_and_ip_acl_go_with_the_create() -> None:
    spec = cluster_spec(
        addons=[
            {"name": "calico", "version": "v3.28.2-nks1", "options": {"mode": "vxlan"}},
            {"name": "coredns", "version": "1.8.4-nks1"},
        ],
        apiEndpoint={
            "ipAccessControl": {
                "enabled": True,
                "action": "ALLOW",
                "targets": [{"cidr": "10.0.0.0/24", "description": "office"}, {"cidr": "1.2.3.4"}],
            }
        },
    )
    body = payloads.create_cluster_body(spec, "demo", {})
    # The shapes NHN's provider sends (docs/nks-api-notes.md, "Create").
    assert body["addons"] == [
        {"name": "calico", "version": "v3.28.2-nks1", "options": {"mode": "vxlan"}},
        {"name": "coredns", "version": "1.8.4-nks1"},
    ]
    assert body["api_ep_ipacl"] == {
        "enable": "true",
        "action": "ALLOW",
        "ipacl_targets": [
            {"cidr_address": "10.0.0.0/24", "description": "office"},
            {"cidr_address": "1.2.3.4"},
        ],
    }
    assert ClusterCreateRequest.model_validate(body).to_wire() == body


def test_a_disabled_ip_acl_is_not_sent_with_the_create() -> None:
    spec = cluster_spec(apiEndpoint={"ipAccessControl": {"enabled": False}})
    assert "api_ep_ipacl" not in payloads.create_cluster_body(spec, "demo", {})
    assert payloads.ip_acl_body(spec.api_endpoint.ip_access_control) == {"enable": "false"}  # type: ignore[arg-type]


def test_nodegroup_body() -> None:
    body = payloads.create_nodegroup_body(nodegroup_spec(), "workers", {})
    assert body == {
        "name": "workers",
        "node_count": 1,
        "flavor_id": "6ef27f21-c774-4c0e-84ff-7dd4a762571f",
        "image_id": "f462a2a5-ba24-46d6-b7a1-9a9febcd3cfc",
        "labels": {
            "availability_zone": "kr2-pub-b",
            "boot_volume_type": "General SSD",
            "boot_volume_size": "30",
            "ca_enable": "False",
        },
    }
    NodeGroupCreateRequest.model_validate(body)


def test_nodegroup_body_with_no_nodes() -> None:
    body = payloads.create_nodegroup_body(nodegroup_spec(nodeCount=0), "spare", {})
    assert body["node_count"] == 0
    assert NodeGroupCreateRequest.model_validate(body).to_wire()["node_count"] == 0
