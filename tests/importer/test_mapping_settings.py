"""The current edition's node group settings in `nks-operator import`: node labels, the
metric-based autoscaler, floating IP auto-bind and the autoscaler's pod replicas map from
NKS's labels into the spec, so an imported group sends nothing."""

from __future__ import annotations

import json
from typing import Any

from nks_operator.api import NKSNodeGroupSpec
from nks_operator.reconcile import day2
from tests.importer.answers import SUBNET, SUPPORTED, VERSION
from tests.importer.test_mapping import group_answer, nodegroup, worker

OUT = {
    "enable": True,
    "max_node_count": 6,
    "rules_operator": "or",  # the current edition's example writes it in lower case
    "delay": 5,
    "adjustment_count": 2,
    "rules": [
        {"metric": "GROUP_CPU_USAGE", "threshold": 70, "duration": 3},
        {"metric": "GROUP_NETWORK_RECV_BYTES", "threshold": 5000000, "duration": 4},
    ],
}
IN = {
    "enable": True,
    "min_node_count": 2,
    "rules_operator": "AND",
    "delay": 15,
    "adjustment_count": 1,
    "rules": [{"metric": "GROUP_MEMORY_USAGE", "threshold": 20, "duration": 10}],
}
OFF = {"enable": False, "max_node_count": 10, "rules_operator": "OR", "delay": 10, "rules": []}
SETTINGS = {
    "k8s_node_labels": json.dumps({"example.com/tier": "web", "team": "shop"}),
    "mba_scale_out": json.dumps(OUT),
    "mba_scale_in": json.dumps(IN),
    "fip_auto_bind_enable": "True",
    "fip_bind_subnet": SUBNET,
    "fip_selector": "shop-ips",
}


def plan_of(spec: dict[str, Any], labels: dict[str, Any]) -> day2.Plan:
    """The operator's plan for the imported node group against the answer it came from."""
    group = group_answer(name="batch", labels=labels)
    return day2.plan_worker(
        "batch",
        NKSNodeGroupSpec.model_validate(spec),
        group,
        version_cap=VERSION,
        target_version=VERSION,
        supported=SUPPORTED,
    )


def test_the_settings_map_into_the_spec_and_nothing_is_sent() -> None:
    mapped = nodegroup(group_answer(name="batch", labels=SETTINGS))
    assert mapped.errors == [] and mapped.holds == []
    spec = mapped.spec
    assert spec["nodeLabels"] == {"example.com/tier": "web", "team": "shop"}
    assert spec["metricAutoscaler"] == {
        "scaleOut": {
            "enabled": True,
            "maxNodes": 6,
            "rulesOperator": "OR",
            "delayMinutes": 5,
            "adjustmentCount": 2,
            "rules": [
                {"metric": "GROUP_CPU_USAGE", "threshold": 70, "durationMinutes": 3},
                {"metric": "GROUP_NETWORK_RECV_BYTES", "threshold": 5000000, "durationMinutes": 4},
            ],
        },
        "scaleIn": {
            "enabled": True,
            "minNodes": 2,
            "rulesOperator": "AND",
            "delayMinutes": 15,
            "adjustmentCount": 1,
            "rules": [{"metric": "GROUP_MEMORY_USAGE", "threshold": 20, "durationMinutes": 10}],
        },
    }
    assert spec["floatingIPAutoBind"] == {
        "enabled": True,
        "subnetID": SUBNET,
        "selector": "shop-ips",
    }
    assert plan_of(spec, SETTINGS).state == "in_sync"


def test_the_default_worker_maps_the_same() -> None:
    mapped = worker(labels=SETTINGS)
    assert mapped.spec["nodeLabels"]["team"] == "shop"
    assert mapped.spec["metricAutoscaler"]["scaleOut"]["maxNodes"] == 6
    assert mapped.spec["floatingIPAutoBind"]["subnetID"] == SUBNET


def test_settings_nks_does_not_show_are_left_alone() -> None:
    mapped = nodegroup(group_answer(name="batch"))
    assert not {"nodeLabels", "metricAutoscaler", "floatingIPAutoBind"} & set(mapped.spec)
    assert plan_of(mapped.spec, {}).state == "in_sync"


def test_policies_that_are_off_are_absent_which_is_off() -> None:
    labels = {"mba_scale_out": json.dumps(OFF), "mba_scale_in": json.dumps({**OFF})}
    mapped = nodegroup(group_answer(name="batch", labels=labels))
    assert "metricAutoscaler" not in mapped.spec
    assert plan_of(mapped.spec, labels).state == "in_sync"
    # One direction on: only that one is in the spec.
    labels["mba_scale_in"] = json.dumps(IN)
    mapped = nodegroup(group_answer(name="batch", labels=labels))
    assert set(mapped.spec["metricAutoscaler"]) == {"scaleIn"}
    assert plan_of(mapped.spec, labels).state == "in_sync"


def test_a_policy_the_spec_cannot_hold_holds_the_group() -> None:
    odd = {**OUT, "rules": [{"metric": "GROUP_GPU_USAGE", "threshold": 1, "duration": 3}]}
    mapped = nodegroup(group_answer(name="batch", labels={"mba_scale_out": json.dumps(odd)}))
    assert mapped.errors == []
    assert any("NKS's metric autoscaler has values the spec cannot hold" in h for h in mapped.holds)
    assert any("metricAutoscaler" in note for note in mapped.notes)


def test_a_floating_ip_disabled_and_its_odd_subnet() -> None:
    mapped = nodegroup(group_answer(name="batch", labels={"fip_auto_bind_enable": "False"}))
    assert mapped.spec["floatingIPAutoBind"] == {"enabled": False}
    assert plan_of(mapped.spec, {"fip_auto_bind_enable": "False"}).state == "in_sync"
    labels = {"fip_auto_bind_enable": "True", "fip_bind_subnet": "default-subnet"}
    mapped = nodegroup(group_answer(name="batch", labels=labels))
    assert "floatingIPAutoBind" not in mapped.spec
    assert any("floatingIPAutoBind left unset" in note for note in mapped.notes)


def test_node_labels_the_spec_cannot_hold_are_left_alone() -> None:
    labels = {"k8s_node_labels": json.dumps({f"k{i}": "v" for i in range(21)})}
    mapped = nodegroup(group_answer(name="batch", labels=labels))
    assert "nodeLabels" not in mapped.spec
    assert any("nodeLabels left unset" in note for note in mapped.notes)
    # {} as NKS shows it: nothing to manage, nothing sent.
    empty = {"k8s_node_labels": "{}"}
    assert plan_of(nodegroup(group_answer(name="batch", labels=empty)).spec, empty).state == (
        "in_sync"
    )


def test_pod_replicas_go_with_the_autoscaler() -> None:
    on = {"ca_enable": "True", "ca_pod_replicas": "2"}
    assert worker(node_count=2, labels=on).spec["autoscaler"]["podReplicas"] == 2
    assert "autoscaler" not in worker(labels={"ca_pod_replicas": "2"}).spec
    mapped = worker(node_count=2, labels={"ca_enable": "True", "ca_pod_replicas": "50"})
    assert "podReplicas" not in mapped.spec["autoscaler"]
    assert any("podReplicas" in note for note in mapped.notes)
