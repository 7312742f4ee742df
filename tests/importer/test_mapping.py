"""The NKS -> spec mapping, field by field (importer/mapping.py)."""

from __future__ import annotations

import base64
import datetime
import gzip
from typing import Any

import pytest

from nks_operator.api import NKSClusterSpec, NKSNodeGroupSpec
from nks_operator.importer import fitting, mapping
from nks_operator.importer.mapping import Mapped, Options
from nks_operator.importer.nodes import Nodes, Servers, node_states
from nks_operator.nks.models import NodeGroup
from nks_operator.nks.userscript import encode_user_script
from nks_operator.reconcile.day2 import user_script_matches_spec
from tests.importer.answers import (
    CLUSTER_ID,
    FLAVOR,
    IMAGE,
    NETWORK,
    SUBNET,
    VERSION,
    acl_json,
    cluster_json,
    control_plane_json,
    nodegroup_json,
    record,
    server_id,
    server_json,
    servers,
)

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
OPTIONS = Options("kr2", "nks-credentials")
GROUP_ID = "5b7cbe2b-6f0e-4f58-9f3e-8a4f8c3b9d10"
OTHER = "7f2e9f6c-2d6f-4b8e-9d0a-3c1b2a4d5e6f"


def cluster(rec: Any = None, name: str = "shop", options: Options = OPTIONS) -> Mapped:
    mapped = mapping.cluster_spec(rec or record(), name=name, options=options, now=NOW)
    if not mapped.errors:
        NKSClusterSpec.model_validate(mapped.spec)  # always a valid spec
    return mapped


def worker(**group: Any) -> Mapped:
    """defaultWorker of a cluster whose default-worker GET is `nodegroup_json(**group)`."""
    mapped = cluster(record(groups=[nodegroup_json(**group), control_plane_json()]))
    assert not mapped.errors, mapped.errors
    return Mapped(mapped.spec["defaultWorker"], mapped.notes)


def nodegroup(
    group: NodeGroup,
    name: str = "shop-batch",
    version: str = VERSION,
    nodes: Nodes | None = None,
) -> Mapped:
    """The group's spec; by default every node of the group is a running server."""
    if nodes is None:
        nodes = node_states(group, servers(*map(server_json, group.node_addresses or [])))
    mapped = mapping.nodegroup_spec(
        group,
        name=name,
        cluster_name="shop",
        cluster_version=version,
        options=OPTIONS,
        nodes=nodes,
        cluster=record().cluster,
    )
    if not mapped.errors:
        NKSNodeGroupSpec.model_validate(mapped.spec)
    return mapped


def group_answer(**fields: Any) -> NodeGroup:
    return record(groups=[nodegroup_json(**fields)]).nodegroups[fields.get("name", "batch")]


# -- NKSCluster -------------------------------------------------------------------------


def test_a_guide_shaped_cluster_maps_to_the_whole_spec() -> None:
    mapped = cluster()
    assert mapped.errors == [] and mapped.notes == []
    assert mapped.spec == {
        "clusterID": CLUSTER_ID,
        "deletionPolicy": "Retain",
        "region": "kr2",
        "credentialsRef": {"name": "nks-credentials"},
        "kubernetesVersion": VERSION,
        "keypair": "team-keypair",
        "network": {
            "vpcNetworkID": NETWORK,
            "subnetID": SUBNET,
            "podsNetworkCIDR": "10.100.0.0/16",
            "podsNetworkSubnet": 24,
            "serviceClusterIPRange": "10.254.0.0/16",
            "cni": "calico",
        },
        "apiEndpoint": {"publicIP": True, "ipAccessControl": {"enabled": False}},
        "strictSecurityGroupRules": False,
        "certificate": {"autoRenew": False, "validityYears": 5},
        "defaultWorker": {
            "flavorID": FLAVOR,
            "imageID": IMAGE,
            "availabilityZone": "kr2-pub-b",
            "nodeCount": 2,
            "bootVolume": {"type": "General HDD", "sizeGB": 50},
        },
    }


def test_cluster_name_is_kept_in_the_spec_only_where_the_metadata_name_differs() -> None:
    assert "clusterName" not in cluster(name="shop").spec
    assert cluster(name="shop-2b778d83").spec["clusterName"] == "shop"


def test_deletion_policy_and_credentials_come_from_the_options() -> None:
    spec = cluster(options=Options("kr1", None, "Delete")).spec
    assert spec["deletionPolicy"] == "Delete"
    assert spec["region"] == "kr1"
    assert "credentialsRef" not in spec


def test_the_region_is_emitted_in_lower_case() -> None:
    # NHN writes regions upper case ("KR2"); the spec accepts either and holds lower case.
    assert cluster(options=Options("KR2", None)).spec["region"] == "kr2"


def test_a_cluster_id_that_is_not_a_uuid_is_an_error_never_left_out() -> None:
    # Left out, clusterID would make the operator create a new cluster.
    mapped = cluster(record(cluster_json(uuid="shop-1")))
    assert any("'shop-1'" in error and "not a UUID" in error for error in mapped.errors)


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"fixed_network": "vpc-main"}, "spec.network.vpcNetworkID"),
        ({"fixed_subnet": "subnet-1"}, "spec.network.subnetID"),
        ({"flavor_id": "m2.c4m8"}, "spec.defaultWorker.flavorID"),
    ],
)
def test_a_required_id_that_is_not_a_uuid_is_an_error_naming_it(
    fields: dict[str, str], where: str
) -> None:
    group = nodegroup_json(**{k: v for k, v in fields.items() if k == "flavor_id"})
    mapped = cluster(record(cluster_json(**fields), [group, control_plane_json()]))
    assert len(mapped.errors) == 1
    assert mapped.errors[0].startswith(f"{where}: ") and "must be a UUID" in mapped.errors[0]


def test_optional_ids_that_are_not_uuids_are_left_out_and_said() -> None:
    labels = {
        "external_network_id": "public-net",
        "external_subnet_id_list": f"{SUBNET}:public-subnet",
        "ncr_sgw": "sgw-ncr",
    }
    mapped = cluster(record(cluster_json(labels)))
    assert mapped.errors == []
    network = mapped.spec["network"]
    # The whole list goes: a part of it would differ from NKS's list.
    assert "externalNetworkID" not in network and "externalSubnetIDs" not in network
    assert "serviceGateways" not in mapped.spec or "ncr" not in mapped.spec["serviceGateways"]
    said = " ".join(mapped.notes)
    assert "externalNetworkID" in said and "'public-subnet'" in said and "ncr" in said


def test_kubernetes_version_is_the_control_planes() -> None:
    assert cluster(record(cluster_json({"kube_tag": "v1.28.3"}))).spec["kubernetesVersion"] == (
        "v1.28.3"
    )
    # Without kube_tag: coe_version, as the operator reads it.
    rec = record(cluster_json({"kube_tag": None}, coe_version="v1.27.3"))
    assert cluster(rec).spec["kubernetesVersion"] == "v1.27.3"
    rec = record(cluster_json({"kube_tag": None}, coe_version=None))
    assert any("Kubernetes version" in e for e in cluster(rec).errors)


def test_keypair_is_required() -> None:
    assert cluster().spec["keypair"] == "team-keypair"
    assert any("keypair" in e for e in cluster(record(cluster_json(keypair=None))).errors)


def test_external_network_and_subnets() -> None:
    external = "751b8227-7b45-440a-9349-dbf829d0aba5"
    subnets = "59ddc195-76b1-431d-9693-f09880747dc6:6a3b1c2d-0e4f-4a5b-8c7d-9e0f1a2b3c4d"
    labels = {"external_network_id": external, "external_subnet_id_list": subnets}
    network = cluster(record(cluster_json(labels))).spec["network"]
    assert network["externalNetworkID"] == external
    assert network["externalSubnetIDs"] == subnets.split(":")


def test_pod_and_service_networks_absent_when_nks_reports_none() -> None:
    labels = {
        "pods_network_cidr": None,
        "pods_network_subnet": None,
        "service_cluster_ip_range": "",
    }
    network = cluster(record(cluster_json(labels))).spec["network"]
    assert network == {"vpcNetworkID": NETWORK, "subnetID": SUBNET, "cni": "calico"}


@pytest.mark.parametrize("cni", ["calico", "calico-ebpf", "Calico"])
def test_cni_the_spec_can_name(cni: str) -> None:
    mapped = cluster(record(cluster_json({"cni_driver": cni})))
    assert mapped.spec["network"]["cni"] == cni.lower()
    assert mapped.notes == []


def test_flannel_is_left_unset_and_said() -> None:
    mapped = cluster(record(cluster_json({"cni_driver": "flannel"})))
    assert "cni" not in mapped.spec["network"]
    assert any("'flannel'" in note for note in mapped.notes)


@pytest.mark.parametrize(("label", "expected"), [("true", True), ("False", False), (None, None)])
def test_public_ip(label: str | None, expected: bool | None) -> None:
    spec = cluster(record(cluster_json({"master_lb_floating_ip_enabled": label}))).spec
    assert spec["apiEndpoint"].get("publicIP") == expected


def test_ip_access_control_enabled_with_targets() -> None:
    acl = acl_json(
        True,
        "DENY",
        [
            {"cidr_address": "192.168.0.5", "description": "My Friend"},
            {"cidr_address": "10.10.22.0/24"},
            {"cidr_address": "10.20.0.0/16", "descripion": "the guide's typo"},
        ],
    )
    spec = cluster(record(acl=acl)).spec
    assert spec["apiEndpoint"]["ipAccessControl"] == {
        "enabled": True,
        "action": "DENY",
        "targets": [
            {"cidr": "192.168.0.5", "description": "My Friend"},
            {"cidr": "10.10.22.0/24"},
            {"cidr": "10.20.0.0/16", "description": "the guide's typo"},
        ],
    }


def test_ip_access_control_disabled_is_managed_as_disabled() -> None:
    assert cluster().spec["apiEndpoint"]["ipAccessControl"] == {"enabled": False}


def test_ip_access_control_unreadable_is_left_unmanaged_and_said() -> None:
    mapped = cluster(record(acl_error="api_ep_ipacl: HTTP 400: not ready"))
    assert "ipAccessControl" not in mapped.spec["apiEndpoint"]
    assert any("HTTP 400: not ready" in note for note in mapped.notes)


@pytest.mark.parametrize(
    "acl",
    [
        {"cluster_uuid": CLUSTER_ID, "enable": "perhaps"},
        {"cluster_uuid": CLUSTER_ID, "enable": "true", "action": "ALLOW", "ipacl_targets": "x"},
    ],
)
def test_an_ip_access_control_answered_unreadably_is_left_unmanaged_and_said(
    acl: dict[str, Any],
) -> None:
    # Never `enabled: false` for an unknown: the operator would then turn a live ACL off.
    mapped = cluster(record(acl=acl))
    assert "ipAccessControl" not in mapped.spec["apiEndpoint"]
    assert any("ipAccessControl" in note and "could not read" in note for note in mapped.notes)


def test_ip_access_control_the_spec_cannot_hold_is_left_unmanaged_and_said() -> None:
    acl = acl_json(True, "ALLOW", [{"cidr_address": "2001:db8::/32"}])
    mapped = cluster(record(acl=acl))
    assert "ipAccessControl" not in mapped.spec["apiEndpoint"]
    assert any("ipAccessControl" in note and "targets[0]" in note for note in mapped.notes)


def test_service_gateways() -> None:
    ncr, obs = "48f4ff38-d14b-4f34-a40c-705524e6a755", "23c550cb-6a5b-4eaa-903a-711c13316d91"
    spec = cluster(record(cluster_json({"ncr_sgw": ncr, "obs_sgw": obs}))).spec
    assert spec["serviceGateways"] == {"ncr": ncr, "obs": obs}
    spec = cluster(record(cluster_json({"obs_sgw": obs}))).spec
    assert spec["serviceGateways"] == {"obs": obs}
    assert "serviceGateways" not in cluster().spec


@pytest.mark.parametrize(("label", "expected"), [("True", True), ("false", False), (None, None)])
def test_strict_security_group_rules(label: str | None, expected: bool | None) -> None:
    spec = cluster(record(cluster_json({"strict_sg_rules": label}))).spec
    assert spec.get("strictSecurityGroupRules") == expected


def test_certificate_auto_renewal_is_off_and_keeps_the_validity() -> None:
    spec = cluster(record(cluster_json({"term_of_validity": "3"}))).spec
    assert spec["certificate"] == {"autoRenew": False, "validityYears": 3}
    spec = cluster(record(cluster_json({"term_of_validity": None}))).spec
    assert spec["certificate"] == {"autoRenew": False}


def test_a_certificate_close_to_expiry_is_called_out() -> None:
    soon = (NOW + datetime.timedelta(days=10)).isoformat()
    mapped = cluster(record(cluster_json({"certificate_expiry": soon})))
    assert mapped.spec["certificate"]["autoRenew"] is False
    assert any("renew-certificate" in note for note in mapped.notes)
    assert not any("certificate" in note for note in cluster().notes)


def test_values_nks_answered_unreadably_are_said_and_hold_the_cluster() -> None:
    rec = record(
        cluster_json({"strict_sg_rules": "sometimes"}),
        [nodegroup_json(labels={"ca_enable": "maybe"}), control_plane_json()],
    )
    mapped = cluster(rec)
    assert mapped.errors == []
    assert "strictSecurityGroupRules" not in mapped.spec
    assert "autoscaler" not in mapped.spec["defaultWorker"]
    held = " ".join(mapped.holds)
    assert "cluster answer" in held and "labels.strict_sg_rules" in held
    assert "default-worker answer" in held and "labels.ca_enable" in held
    assert cluster().holds == []


def test_default_worker_without_its_node_group_comes_from_the_cluster() -> None:
    mapped = cluster(record(groups=[control_plane_json()]))
    assert mapped.errors == []
    assert mapped.spec["defaultWorker"]["flavorID"] == FLAVOR
    assert mapped.spec["defaultWorker"]["nodeCount"] == 2
    assert any("no default-worker" in note for note in mapped.notes)


# -- the worker fields (default worker and node groups) ---------------------------------


def test_flavor_image_zone_and_boot_volume() -> None:
    mapped = worker(labels={"boot_volume_type": "General SSD", "boot_volume_size": "80"})
    assert mapped.spec["flavorID"] == FLAVOR
    assert mapped.spec["imageID"] == IMAGE
    assert mapped.spec["availabilityZone"] == "kr2-pub-b"
    assert mapped.spec["bootVolume"] == {"type": "General SSD", "sizeGB": 80}


def test_image_falls_back_to_the_node_image_label() -> None:
    other = "96aff4ab-d221-4688-8364-2fcf02d50547"
    assert worker(image_id=None, labels={"node_image": other}).spec["imageID"] == other


def test_a_zone_the_group_does_not_report_is_the_clusters() -> None:
    # The guide's node group example has "availability_zone": "".
    mapped = worker(labels={"availability_zone": ""})
    assert mapped.spec["availabilityZone"] == "kr2-pub-b"
    assert any("availability_zone" in note for note in mapped.notes)


def test_a_zone_nobody_reports_is_an_error() -> None:
    rec = record(
        cluster_json({"availability_zone": None}),
        [nodegroup_json(labels={"availability_zone": None})],
    )
    assert any("availability_zone" in e for e in cluster(rec).errors)


def test_node_count() -> None:
    assert worker(node_count=5).spec["nodeCount"] == 5


def test_stopped_default_worker_nodes_are_said() -> None:
    rec = record(groups=[nodegroup_json(node_addresses=["192.168.0.40", "192.168.0.19"])])
    group = rec.nodegroups["default-worker"]
    known = node_states(
        group, servers(server_json("192.168.0.40", "SHUTOFF"), server_json("192.168.0.19"))
    )
    mapped = mapping.cluster_spec(rec, name="shop", options=OPTIONS, now=NOW, default_nodes=known)
    assert mapped.holds == [] and "stoppedNodes" not in mapped.spec["defaultWorker"]
    assert any(
        server_id("192.168.0.40") in note and "neither stops nor starts" in note
        for note in mapped.notes
    )


def test_a_node_count_the_spec_cannot_hold_is_said() -> None:
    mapped = worker(node_count=0)
    assert "nodeCount" not in mapped.spec
    assert any("nodeCount" in note for note in mapped.notes)


def test_autoscaler_on() -> None:
    labels = {
        "ca_enable": "True",
        "ca_min_node_count": "2",
        "ca_max_node_count": "6",
        "ca_scale_down_enable": "False",
        "ca_scale_down_unneeded_time": "15",
        "ca_scale_down_util_thresh": "40",
        "ca_scale_down_delay_after_add": "20",
    }
    assert worker(node_count=3, labels=labels).spec["autoscaler"] == {
        "enabled": True,
        "minNodes": 2,
        "maxNodes": 6,
        "scaleDown": {
            "enabled": False,
            "unneededTimeMinutes": 15,
            "utilizationThresholdPercent": 40,
            "delayAfterAddMinutes": 20,
        },
    }


@pytest.mark.parametrize("flag", ["False", "false", "", None])
def test_autoscaler_off_is_absent(flag: str | None) -> None:
    assert "autoscaler" not in worker(labels={"ca_enable": flag}).spec


def test_autoscaler_values_the_spec_cannot_hold_are_said() -> None:
    # The spec allows 1..1440 minutes.
    labels = {"ca_enable": "True", "ca_scale_down_delay_after_add": "2000"}
    mapped = worker(labels=labels)
    assert "delayAfterAddMinutes" not in mapped.spec["autoscaler"]["scaleDown"]
    assert any("delayAfterAddMinutes" in note for note in mapped.notes)


def test_the_guides_example_delay_is_imported() -> None:
    # The API guide's create example sends 3 minutes (the user guide says 10..1440).
    labels = {"ca_enable": "True", "ca_scale_down_delay_after_add": "3"}
    mapped = worker(labels=labels)
    assert mapped.spec["autoscaler"]["scaleDown"]["delayAfterAddMinutes"] == 3


def test_node_count_is_kept_within_the_autoscalers_bounds() -> None:
    labels = {"ca_enable": "True", "ca_min_node_count": "3", "ca_max_node_count": "5"}
    mapped = worker(node_count=1, labels=labels)
    assert mapped.spec["nodeCount"] == 3
    assert any("outside the autoscaler" in note for note in mapped.notes)


SCRIPT = "#!/bin/bash\n\techo 'hi'  \nexit 0"


def _wrapped(text: str) -> str:
    return "\n".join(text[i : i + 76] for i in range(0, len(text), 76)) + "\n"


@pytest.mark.parametrize(
    "label",
    [
        encode_user_script(SCRIPT),  # the wire form (docs/nks-api-notes.md, "User script")
        _wrapped(encode_user_script(SCRIPT * 5)),  # base64 wrapped in lines
        SCRIPT,  # an answer holding the plain script
    ],
)
def test_user_script_is_the_decoded_script(label: str) -> None:
    mapped = worker(labels={"user_script_v2": label})
    script = mapped.spec["userScript"]
    assert script.startswith(SCRIPT) and mapped.notes == []
    # The operator, comparing through the codec, finds NKS running the spec's script.
    group = record(groups=[nodegroup_json(labels={"user_script_v2": label})]).nodegroups[
        "default-worker"
    ]
    assert user_script_matches_spec(script, group) is True


@pytest.mark.parametrize(
    "payload",
    [gzip.compress(SCRIPT.encode()), b"\x00\x01\x02binary"],
    ids=["gzip", "control-characters"],
)
def test_a_user_script_that_is_not_text_is_left_unset_and_said(payload: bytes) -> None:
    mapped = worker(labels={"user_script_v2": base64.b64encode(payload).decode()})
    assert "userScript" not in mapped.spec
    assert any("user_script_v2" in note and "not text" in note for note in mapped.notes)


def test_no_user_script_is_absent() -> None:
    assert "userScript" not in worker(labels={"user_script_v2": ""}).spec


def test_the_old_user_script_label_is_said() -> None:
    mapped = worker(labels={"user_script_v2": None, "user_script": "echo old"})
    assert "userScript" not in mapped.spec
    assert any("old user_script" in note for note in mapped.notes)


def test_additional_networks() -> None:
    labels = {
        "additional_network_id_list": f"{NETWORK}:{OTHER}",
        "additional_subnet_id_list": f"{SUBNET}:{GROUP_ID}",
    }
    assert worker(labels=labels).spec["additionalNetworks"] == [
        {"networkID": NETWORK, "subnetID": SUBNET},
        {"networkID": OTHER, "subnetID": GROUP_ID},
    ]


def test_additional_networks_that_do_not_pair_up_are_said() -> None:
    labels = {"additional_network_id_list": f"{NETWORK}:{OTHER}", "additional_subnet_id_list": ""}
    mapped = worker(labels=labels)
    assert "additionalNetworks" not in mapped.spec
    assert any("do not pair up" in note for note in mapped.notes)


def test_extra_security_groups() -> None:
    labels = {
        "extra_security_groups": [
            {"target_subnet": SUBNET, "security_group_ids": f"{OTHER},{GROUP_ID}"},
        ]
    }
    assert worker(labels=labels).spec["extraSecurityGroups"] == [
        {"targetSubnetID": SUBNET, "securityGroupIDs": [OTHER, GROUP_ID]}
    ]


def test_extra_volumes() -> None:
    labels = {
        "extra_volumes": [
            {"volume_type": "General HDD", "volume_size": 100},
            {"volume_type": "General SSD", "volume_size": "20", "volume_mount_path": "/data"},
        ]
    }
    assert worker(labels=labels).spec["extraVolumes"] == [
        {"type": "General HDD", "sizeGB": 100},
        {"type": "General SSD", "sizeGB": 20, "mountPath": "/data"},
    ]


def test_encryption_keys_are_not_imported_and_said() -> None:
    labels = {
        "boot_volume_key_id": "key-1",
        "extra_volumes": [{"volume_type": "General HDD", "volume_size": 10, "volume_key_id": "k"}],
    }
    mapped = worker(labels=labels)
    assert "keyID" not in mapped.spec["bootVolume"]
    assert "keyID" not in mapped.spec["extraVolumes"][0]
    assert sum("encrypted" in note for note in mapped.notes) == 2


def test_an_extra_volume_the_spec_cannot_hold_is_left_out_and_said() -> None:
    labels = {"extra_volumes": [{"volume_type": "General HDD", "volume_size": 4096}]}
    mapped = worker(labels=labels)
    assert "extraVolumes" not in mapped.spec or mapped.spec["extraVolumes"] == []
    assert any("extraVolumes[0]" in note for note in mapped.notes)


def test_fit_reports_a_required_field_it_cannot_drop() -> None:
    spec = {"region": "kr2"}
    fitted = fitting.fit(NKSClusterSpec, spec)
    assert fitted.errors and "Field required" in fitted.errors[0]


# -- NKSNodeGroup -----------------------------------------------------------------------


def test_a_node_group_maps_to_the_whole_spec() -> None:
    group = group_answer(name="batch", uuid=GROUP_ID, node_count=3)
    mapped = nodegroup(group)
    assert mapped.errors == [] and mapped.notes == []
    assert mapped.spec == {
        "clusterRef": {"name": "shop"},
        "nodeGroupName": "batch",
        "nodeGroupID": GROUP_ID,
        "deletionPolicy": "Retain",
        "flavorID": FLAVOR,
        "imageID": IMAGE,
        "availabilityZone": "kr2-pub-b",
        "nodeCount": 3,
        "bootVolume": {"type": "General HDD", "sizeGB": 50},
    }


def test_node_group_name_is_kept_only_where_the_metadata_name_differs() -> None:
    group = group_answer(name="batch", uuid=GROUP_ID)
    assert "nodeGroupName" not in nodegroup(group, name="batch").spec


def test_a_node_group_behind_the_cluster_pins_its_version() -> None:
    group = group_answer(name="batch", uuid=GROUP_ID, labels={"kube_tag": "v1.28.3"})
    assert nodegroup(group).spec["kubernetesVersion"] == "v1.28.3"
    assert "kubernetesVersion" not in nodegroup(group, version="v1.28.3").spec


def test_node_group_worker_fields_are_its_own() -> None:
    labels = {
        "ca_enable": "True",
        "ca_min_node_count": "1",
        "ca_max_node_count": "4",
        "user_script_v2": "echo batch\n",
        "boot_volume_type": "General SSD",
    }
    group = group_answer(name="batch", uuid=GROUP_ID, node_count=2, labels=labels)
    spec = nodegroup(group).spec
    assert spec["autoscaler"]["maxNodes"] == 4
    assert spec["userScript"] == "echo batch\n"
    assert spec["bootVolume"]["type"] == "General SSD"


def test_a_node_group_may_have_no_nodes() -> None:
    group = group_answer(name="batch", uuid=GROUP_ID, node_count=0, node_addresses=[])
    # No node: nothing to know about power states, even without the compute API.
    mapped = nodegroup(group, nodes=node_states(group, Servers(None, "compute API call failed")))
    assert mapped.spec["nodeCount"] == 0
    assert mapped.notes == [] and mapped.holds == [] and "stoppedNodes" not in mapped.spec


def test_a_node_group_id_that_is_not_a_uuid_is_an_error() -> None:
    group = group_answer(name="batch", uuid="batch-1")
    assert any("'batch-1'" in e and "not a UUID" in e for e in nodegroup(group).errors)


ADDRESSES = ["192.168.0.40", "192.168.0.19", "192.168.0.7"]


def test_stopped_nodes_are_the_shutoff_servers_of_the_group() -> None:
    group = group_answer(name="batch", uuid=GROUP_ID, node_count=3, node_addresses=ADDRESSES)
    found = servers(
        server_json(ADDRESSES[0]),
        server_json(ADDRESSES[1], "SHUTOFF"),
        server_json(ADDRESSES[2]),
        server_json("10.0.0.9", "SHUTOFF"),  # another cluster's
    )
    mapped = nodegroup(group, nodes=node_states(group, found))
    assert mapped.spec["stoppedNodes"] == [server_id(ADDRESSES[1])]
    assert mapped.holds == []
    running = servers(*map(server_json, ADDRESSES))
    assert "stoppedNodes" not in nodegroup(group, nodes=node_states(group, running)).spec


def _unknown(found: Servers) -> Mapped:
    group = group_answer(name="batch", uuid=GROUP_ID, node_count=3, node_addresses=ADDRESSES)
    mapped = nodegroup(group, nodes=node_states(group, found))
    assert "stoppedNodes" not in mapped.spec
    return mapped


def test_power_states_the_compute_api_does_not_tell_hold_the_group() -> None:
    mapped = _unknown(Servers(None, "compute API call failed: HTTP 403"))
    assert any("HTTP 403" in hold and "stoppedNodes" in hold for hold in mapped.holds)
    # A node no server has, and an address two servers have (two VPCs): unknown too.
    mapped = _unknown(servers(*map(server_json, ADDRESSES[:2])))
    assert any(f"no server has address(es) {ADDRESSES[2]}" in hold for hold in mapped.holds)
    twin = server_json(ADDRESSES[0], id="0c9f3c1e-3f4a-4c55-9a0b-8f1e2d3c4b5a")
    mapped = _unknown(servers(*map(server_json, ADDRESSES), twin))
    assert any(f"several servers have {ADDRESSES[0]}" in hold for hold in mapped.holds)


def test_node_addresses_answered_unreadably_hold_the_group() -> None:
    group = group_answer(name="batch", uuid=GROUP_ID, node_addresses="192.168.0.40")
    mapped = nodegroup(group, nodes=node_states(group, servers(server_json("192.168.0.40"))))
    assert "stoppedNodes" not in mapped.spec
    held = " ".join(mapped.holds)
    assert "node group answer" in held and "node_addresses" in held
    assert "power states could not be read" in held


def test_a_stopped_node_whose_id_is_not_a_uuid_is_left_out_and_said() -> None:
    group = group_answer(name="batch", uuid=GROUP_ID, node_count=2, node_addresses=ADDRESSES[:2])
    odd = server_json(ADDRESSES[1], "SHUTOFF", id="instance-7")
    mapped = nodegroup(group, nodes=node_states(group, servers(server_json(ADDRESSES[0]), odd)))
    assert "stoppedNodes" not in mapped.spec or mapped.spec["stoppedNodes"] == []
    assert any("stoppedNodes[0]" in note and "UUID" in note for note in mapped.notes)


def test_a_node_group_without_a_flavor_cannot_be_imported() -> None:
    group = group_answer(name="batch", uuid=GROUP_ID, flavor_id=None)
    assert any("flavor_id" in e for e in nodegroup(group).errors)
