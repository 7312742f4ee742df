"""Spec -> the exact wire JSON of "Create a Cluster" / "Create a Node Group"."""

from __future__ import annotations

from nks_operator.nks.models import ClusterCreateRequest, NodeGroupCreateRequest
from nks_operator.reconcile import payloads
from tests.unit.specs import cluster_spec, nodegroup_spec


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
    assert labels["master_lb_floating_ip_enabled"] == "True"
    assert all(isinstance(v, str) for v in labels.values())


def test_full_cluster_body() -> None:
    spec = cluster_spec(
        network={
            "externalNetworkID": "751b8227-7b45-440a-9349-dbf829d0aba5",
            "externalSubnetIDs": ["a1", "b2"],
            "podsNetworkCIDR": "10.100.0.0/16",
            "podsNetworkSubnet": 24,
            "serviceClusterIPRange": "10.254.0.0/16",
            "cni": "calico",
        },
        serviceGateways={"ncr": "n1", "obs": "o1"},
        strictSecurityGroupRules=True,
        defaultWorker={
            "autoscaler": {
                "enabled": True,
                "minNodes": 1,
                "maxNodes": 5,
                "scaleDown": {"unneededTimeMinutes": 20},
            },
            "userScript": "#!/bin/sh\necho hi",
            "additionalNetworks": [{"networkID": "n-a", "subnetID": "s-a"}],
            "extraSecurityGroups": [{"targetSubnetID": "s-a", "securityGroupIDs": ["g1", "g2"]}],
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
    assert labels["external_subnet_id_list"] == "a1:b2"
    assert labels["pods_network_subnet"] == 24  # the one numeric label
    assert labels["ca_enable"] == "True"
    assert labels["ca_scale_down_unneeded_time"] == "20"
    assert labels["strict_sg_rules"] == "True"
    assert labels["additional_network_id_list"] == "n-a"
    assert labels["extra_security_groups"] == [
        {"target_subnet": "s-a", "security_group_ids": "g1,g2"}
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
    assert wire["labels"]["external_subnet_id_list"] == "a1:b2"


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
