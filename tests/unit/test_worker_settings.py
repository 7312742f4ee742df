"""The current edition's node group settings: node labels, the metric-based autoscaler,
floating IP auto-bind and the cluster autoscaler's pod replicas - the spec's rules, the
create labels, the day-2 plan and the record of what was sent (`status.sentSettings`)."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import pytest
from pydantic import ValidationError

from nks_operator.api.problems import format_validation_error
from nks_operator.api.status import ResourceStatus, SentSetting
from nks_operator.nks import Credentials, NKSClient
from nks_operator.nks.models import (
    Cluster,
    ClusterCreateRequest,
    MetricAutoscalerUpdate,
    NodeGroup,
    NodeGroupCreateRequest,
    ScaleInPolicy,
    ScaleOutPolicy,
)
from nks_operator.reconcile import day2, payloads, validation, worker_settings
from nks_operator.reconcile.nodes import NodeState
from tests.unit.specs import cluster_spec, nodegroup_spec

SUPPORTED = {"v1.29.3": True, "v1.30.3": True}
FLAVOR = "6ef27f21-c774-4c0e-84ff-7dd4a762571f"
CLUSTER_SUBNET = "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90"
OTHER_SUBNET = "35e220b6-92f9-4c0f-99db-5246daa5a8ae"
NET = "2e23b058-44ab-4587-971d-f2c72c54ed39"
CPU_80 = {"metric": "GROUP_CPU_USAGE", "threshold": 80, "durationMinutes": 5}
CPU_20 = {"metric": "GROUP_CPU_USAGE", "threshold": 20, "durationMinutes": 10}
SCALE_OUT = {"enabled": True, "maxNodes": 5, "rules": [CPU_80]}
SCALE_IN = {"enabled": True, "minNodes": 1, "rulesOperator": "AND", "rules": [CPU_20]}
OFF = {"enable": False}
# The policies as NKS's labels show them (Live: JSON text; off: its defaults).
OUT_SHOWN = {
    "enable": True,
    "max_node_count": 5,
    "rules_operator": "OR",
    "delay": 10,
    "adjustment_count": 1,
    "rules": [{"metric": "GROUP_CPU_USAGE", "threshold": 80, "duration": 5}],
}
OFF_SHOWN = {
    "enable": False,
    "max_node_count": 10,
    "rules_operator": "OR",
    "delay": 10,
    "adjustment_count": 1,
    "rules": [],
}


def group(**labels: Any) -> NodeGroup:
    """A node group answer with labels as NKS sends them (objects as JSON text)."""
    base: dict[str, Any] = {
        "kube_tag": "v1.29.3",
        "ca_enable": "False",
        "mba_scale_out": json.dumps(OFF_SHOWN),
        "mba_scale_in": json.dumps({**OFF_SHOWN, "max_node_count": None, "min_node_count": 1}),
    }
    base.update(labels)
    shown = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in base.items()}
    return NodeGroup.model_validate(
        {
            "uuid": "g",
            "name": "pool",
            "status": "UPDATE_COMPLETE",
            "flavor_id": FLAVOR,
            "node_count": 1,
            "labels": {k: v for k, v in shown.items() if v is not None},
        }
    )


def plan(spec: Any, g: NodeGroup, **kwargs: Any) -> day2.Plan:
    return day2.plan_worker(
        "pool", spec, g, version_cap=None, target_version=None, supported=SUPPORTED, **kwargs
    )


def record(spec: Any, key: str, state: str) -> dict[str, SentSetting]:
    value = worker_settings.wanted_values(spec)[key]
    return {key: SentSetting(digest=worker_settings.digest(value), state=state)}  # type: ignore[arg-type]


# -- the spec ------------------------------------------------------------------------------


def problems_of(**changes: Any) -> list[str]:
    try:
        spec = nodegroup_spec(**changes)
    except ValidationError as error:
        return format_validation_error(error)
    return validation.nodegroup_problems(
        spec, "pool", None, for_create=True, cluster_subnet=CLUSTER_SUBNET
    )


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("kubernetes.io/role", "reserved by NKS (kubernetes.io"),
        ("node.kubernetes.io/x", "reserved by NKS (kubernetes.io"),
        ("k8s.io/x", "reserved by NKS (k8s.io"),
        ("magnum.openstack.org/role", "reserved by NKS (magnum.openstack.org"),
        ("-bad", "beginning and ending with a letter or digit"),
        ("Example.com/x", "DNS subdomain"),
    ],
)
def test_node_label_keys_nks_refuses(key: str, rule: str) -> None:
    (problem,) = problems_of(nodeLabels={key: "v"})
    assert problem.startswith(f"spec.nodeLabels.{key}.[key]: {key!r} is not a valid node label key")
    assert rule in problem


def test_node_labels_accepted_and_bounded() -> None:
    assert (
        problems_of(nodeLabels={"example.com/tier": "web", "kubernetes.iox/a": "", "a": "b"}) == []
    )
    assert problems_of(nodeLabels={}) == []
    too_many = {f"k{i}": "v" for i in range(21)}
    assert "at most 20" in " ".join(problems_of(nodeLabels=too_many))
    assert "should match pattern" in " ".join(problems_of(nodeLabels={"a": "-bad"}))


def test_metric_autoscaler_rules() -> None:
    assert problems_of(metricAutoscaler={"scaleOut": SCALE_OUT, "scaleIn": SCALE_IN}) == []
    assert "at least one rule" in " ".join(
        problems_of(metricAutoscaler={"scaleOut": {"enabled": True}})
    )
    over = {**CPU_80, "threshold": 101}
    assert "percentage" in " ".join(
        problems_of(metricAutoscaler={"scaleOut": {**SCALE_OUT, "rules": [over]}})
    )
    bytes_rule = {"metric": "GROUP_DISK_READ_BYTES", "threshold": 10**8, "durationMinutes": 2}
    assert problems_of(metricAutoscaler={"scaleOut": {**SCALE_OUT, "rules": [bytes_rule]}}) == []
    for field, value in (("delayMinutes", 61), ("adjustmentCount", 0), ("rulesOperator", "or")):
        assert problems_of(metricAutoscaler={"scaleOut": {**SCALE_OUT, field: value}})
    assert problems_of(metricAutoscaler={"scaleOut": {**SCALE_OUT, "rules": [CPU_80] * 7}})
    short = {**CPU_80, "durationMinutes": 1}
    assert problems_of(metricAutoscaler={"scaleOut": {**SCALE_OUT, "rules": [short]}})
    crossed = {"scaleOut": SCALE_OUT, "scaleIn": {**SCALE_IN, "minNodes": 6}}
    assert "exceeds scaleOut.maxNodes" in " ".join(problems_of(metricAutoscaler=crossed))


def test_one_autoscaler_per_group() -> None:
    both = problems_of(
        nodeCount=2,
        autoscaler={"enabled": True, "maxNodes": 4},
        metricAutoscaler={"scaleIn": SCALE_IN},
    )
    assert both == [
        "spec.autoscaler and spec.metricAutoscaler cannot both be enabled: NKS runs one "
        "autoscaler per node group (turn one of them off)"
    ]
    # A policy kept in the spec but off, beside the cluster autoscaler: fine.
    off = {"scaleOut": {**SCALE_OUT, "enabled": False}}
    assert problems_of(nodeCount=2, autoscaler={"enabled": True}, metricAutoscaler=off) == []
    spec = cluster_spec(
        defaultWorker={"autoscaler": {"enabled": True}, "metricAutoscaler": {"scaleOut": SCALE_OUT}}
    )
    assert "spec.defaultWorker.autoscaler and spec.defaultWorker.metricAutoscaler" in " ".join(
        validation.cluster_problems(spec, "demo", None, for_create=True)
    )


def test_floating_ip_subnet() -> None:
    assert "subnetID is required" in " ".join(problems_of(floatingIPAutoBind={"enabled": True}))
    assert problems_of(floatingIPAutoBind={"enabled": False}) == []
    assert problems_of(floatingIPAutoBind={"enabled": True, "subnetID": CLUSTER_SUBNET}) == []
    (problem,) = problems_of(floatingIPAutoBind={"enabled": True, "subnetID": OTHER_SUBNET})
    assert problem.startswith(f"spec.floatingIPAutoBind.subnetID {OTHER_SUBNET} must be")
    extra = [{"networkID": NET, "subnetID": OTHER_SUBNET}]
    fine = {"enabled": True, "subnetID": OTHER_SUBNET}
    assert problems_of(additionalNetworks=extra, floatingIPAutoBind=fine) == []
    # The default worker: checked against spec.network.subnetID.
    spec = cluster_spec(defaultWorker={"floatingIPAutoBind": fine})
    assert "spec.defaultWorker.floatingIPAutoBind.subnetID" in " ".join(
        validation.cluster_problems(spec, "demo", None, for_create=True)
    )


def test_pod_replicas_bounds() -> None:
    assert problems_of(autoscaler={"enabled": True, "podReplicas": 3}) == []
    assert problems_of(autoscaler={"enabled": True, "podReplicas": 0})
    assert problems_of(autoscaler={"enabled": True, "podReplicas": 11})


# -- the create ----------------------------------------------------------------------------


def full_spec() -> Any:
    return nodegroup_spec(
        nodeLabels={"example.com/tier": "web", "team": ""},
        metricAutoscaler={"scaleOut": SCALE_OUT},
        floatingIPAutoBind={"enabled": True, "subnetID": CLUSTER_SUBNET, "selector": "pool-a"},
    )


def test_create_labels_carry_the_settings() -> None:
    body = payloads.create_nodegroup_body(full_spec(), "pool", {})
    labels = body["labels"]
    assert json.loads(labels["k8s_node_labels"]) == {"example.com/tier": "web", "team": ""}
    assert json.loads(labels["mba_scale_out"]) == {
        "enable": True,
        "max_node_count": 5,
        "rules_operator": "OR",
        "delay": 10,
        "adjustment_count": 1,
        "rules": [{"metric": "GROUP_CPU_USAGE", "threshold": 80, "duration": 5}],
    }
    assert json.loads(labels["mba_scale_in"]) == OFF
    assert (labels["fip_auto_bind_enable"], labels["fip_bind_subnet"], labels["fip_selector"]) == (
        "True",
        CLUSTER_SUBNET,
        "pool-a",
    )
    assert all(isinstance(v, str) for v in labels.values())
    # The NKS request model takes them as they are (the same JSON on the wire).
    wire = NodeGroupCreateRequest.model_validate(body).to_wire()["labels"]
    for key in ("k8s_node_labels", "mba_scale_out", "mba_scale_in"):
        assert json.loads(wire[key]) == json.loads(labels[key])
    assert wire["fip_auto_bind_enable"] == "True"


def test_nothing_sent_for_settings_the_spec_leaves_out() -> None:
    labels = payloads.create_nodegroup_body(nodegroup_spec(), "pool", {})["labels"]
    assert not {k for k in labels if k.startswith(("k8s_", "mba_", "fip_", "ca_pod"))}
    labels = payloads.create_cluster_body(cluster_spec(), "demo", {})["labels"]
    assert not {k for k in labels if k.startswith(("k8s_", "mba_", "fip_", "ca_pod"))}


def test_cluster_create_carries_the_default_workers_settings() -> None:
    spec = cluster_spec(
        defaultWorker={
            "nodeLabels": {"a": "b"},
            "autoscaler": {"enabled": True, "podReplicas": 2},
            "floatingIPAutoBind": {"enabled": False},
        }
    )
    body = payloads.create_cluster_body(spec, "demo", {})
    labels = body["labels"]
    assert labels["k8s_node_labels"] == '{"a":"b"}'
    assert labels["ca_pod_replicas"] == "2"
    assert labels["fip_auto_bind_enable"] == "False" and "fip_bind_subnet" not in labels
    assert "mba_scale_out" not in labels
    wire = ClusterCreateRequest.model_validate(body).to_wire()["labels"]
    assert (wire["ca_pod_replicas"], wire["k8s_node_labels"]) == ("2", '{"a":"b"}')


def test_pod_replicas_only_with_the_autoscaler_on() -> None:
    off = payloads.autoscaler_labels(nodegroup_spec(autoscaler={"podReplicas": 2}).autoscaler)
    assert off == {"ca_enable": "False"}
    assert day2.autoscaler_body(nodegroup_spec(autoscaler={"podReplicas": 2}).autoscaler) == {
        "ca_enable": False
    }
    on = nodegroup_spec(autoscaler={"enabled": True, "podReplicas": 2}).autoscaler
    assert payloads.autoscaler_labels(on)["ca_pod_replicas"] == "2"
    assert day2.autoscaler_body(on)["ca_pod_replicas"] == 2


# -- the plan ------------------------------------------------------------------------------


def test_node_labels_change_sends_the_complete_set() -> None:
    spec = nodegroup_spec(nodeLabels={"a": "1", "b": "2"})
    assert plan(spec, group(k8s_node_labels={"a": "1", "b": "2"})).state == "in_sync"
    action = plan(spec, group(k8s_node_labels={"a": "1"})).action
    assert action is not None and action.request is NKSClient.set_node_labels
    assert action.operation == "NODEGROUP_UPDATE_K8S_NODE_LABELS"
    assert action.args == {"nodegroup": "pool", "labels": {"a": "1", "b": "2"}}
    assert action.confirmation == "task" and action.target == "pool"
    # {} removes them all; absent leaves NKS's labels alone.
    action = plan(nodegroup_spec(nodeLabels={}), group(k8s_node_labels={"a": "1"})).action
    assert action is not None and action.args["labels"] == {}
    assert plan(nodegroup_spec(), group(k8s_node_labels={"a": "1"})).state == "in_sync"


def test_settings_new_nodes_take_go_before_operations_that_make_nodes() -> None:
    spec = nodegroup_spec(
        nodeCount=3,
        flavorID=FLAVOR.replace("6", "7"),
        nodeLabels={"a": "1"},
        floatingIPAutoBind={"enabled": True, "subnetID": CLUSTER_SUBNET},
    )
    g = group(k8s_node_labels={}, fip_auto_bind_enable="False")
    first = day2.plan_worker(
        "pool", spec, g, version_cap="v1.30.3", target_version="v1.30.3", supported=SUPPORTED
    )
    assert first.action is not None
    assert first.action.operation == "NODEGROUP_UPDATE_K8S_NODE_LABELS"
    labelled = group(k8s_node_labels={"a": "1"}, fip_auto_bind_enable="False")
    second = plan(spec, labelled).action
    assert second is not None and second.operation == "NODEGROUP_UPDATE_FIP_AUTO_BIND"
    assert second.args == {
        "nodegroup": "pool",
        "enable": True,
        "subnet": CLUSTER_SUBNET,
        "selector": None,
    }
    done = group(
        k8s_node_labels={"a": "1"}, fip_auto_bind_enable="True", fip_bind_subnet=CLUSTER_SUBNET
    )
    third = plan(spec, done).action
    assert third is not None and third.operation == "NODEGROUP_UPDATE_FLAVOR"


def test_a_setting_nks_does_not_show_is_sent_once_per_value() -> None:
    spec = nodegroup_spec(nodeLabels={"a": "1"}, floatingIPAutoBind={"enabled": False})
    hidden = group()  # no k8s_node_labels, no fip_* labels
    action = plan(spec, hidden).action
    assert action is not None and action.operation == "NODEGROUP_UPDATE_K8S_NODE_LABELS"
    # Sent (pending or failed): the machinery that follows it decides; not trusted yet.
    sent = record(spec, worker_settings.NODE_LABELS, "Sent")
    assert plan(spec, hidden, sent_settings=sent).wants("NODEGROUP_UPDATE_K8S_NODE_LABELS", "pool")
    # Completed, still not shown: trusted, never sent again for this value ...
    records = {
        **record(spec, worker_settings.NODE_LABELS, "Unconfirmed"),
        **record(spec, worker_settings.FLOATING_IP, "Unconfirmed"),
    }
    assert plan(spec, hidden, sent_settings=records).state == "in_sync"
    # ... but another value is.
    changed = nodegroup_spec(nodeLabels={"a": "2"}, floatingIPAutoBind={"enabled": False})
    action = plan(changed, hidden, sent_settings=records).action
    assert action is not None and action.args["labels"] == {"a": "2"}


def test_a_value_nks_completed_but_does_not_show_is_reported_not_resent() -> None:
    spec = nodegroup_spec(nodeLabels={"a": "1"})
    other = group(k8s_node_labels={"a": "0"})
    unconfirmed = record(spec, worker_settings.NODE_LABELS, "Unconfirmed")
    blocked = plan(spec, other, sent_settings=unconfirmed)
    assert blocked.action is None
    assert [b.reason for b in blocked.blocked] == ["SettingNotApplied"]
    assert "not sent again until the spec changes" in blocked.blocked[0].message
    # Once NKS showed it, a different value later is drift: corrected.
    confirmed = record(spec, worker_settings.NODE_LABELS, "Confirmed")
    action = plan(spec, other, sent_settings=confirmed).action
    assert action is not None and action.args["labels"] == {"a": "1"}


def test_metric_autoscaler_on_off_and_changed() -> None:
    spec = nodegroup_spec(metricAutoscaler={"scaleOut": SCALE_OUT})
    action = plan(spec, group()).action
    assert action is not None and action.operation == "NODEGROUP_SET_METRIC_BASE_AUTOSCALER"
    assert action.args["scale_out"]["enable"] is True and action.args["scale_in"] == OFF
    assert action.summary == "set the metric autoscaler of pool"
    assert plan(spec, group(mba_scale_out=OUT_SHOWN)).state == "in_sync"
    # The rules operator compared in any case; the rules in any order.
    lower = {**OUT_SHOWN, "rules_operator": "or"}
    assert plan(spec, group(mba_scale_out=lower)).state == "in_sync"
    changed = nodegroup_spec(metricAutoscaler={"scaleOut": {**SCALE_OUT, "delayMinutes": 20}})
    action = plan(changed, group(mba_scale_out=OUT_SHOWN)).action
    assert action is not None and action.args["scale_out"]["delay"] == 20
    # Absent means off: a policy NKS shows on (set in the console) is turned off ...
    action = plan(nodegroup_spec(), group(mba_scale_out=OUT_SHOWN)).action
    assert action is not None and action.args == {
        "nodegroup": "pool",
        "scale_out": OFF,
        "scale_in": OFF,
    }
    assert action.summary == "disable the metric autoscaler of pool"
    # ... never on a guess: NKS that shows no policy is left alone.
    bare = group(mba_scale_out=None, mba_scale_in=None)
    assert plan(nodegroup_spec(), bare).state == "in_sync"
    # Wanted on and not shown: sent once, then trusted.
    assert plan(spec, bare).action is not None
    trusted = record(spec, worker_settings.METRIC_AUTOSCALER, "Unconfirmed")
    assert plan(spec, bare, sent_settings=trusted).state == "in_sync"
    # The body is what the NKS model sends.
    update = MetricAutoscalerUpdate(
        mba_scale_out=ScaleOutPolicy.model_validate(OUT_SHOWN),
        mba_scale_in=ScaleInPolicy.model_validate(OFF),
    )
    assert update.to_wire()["type"] == "metric_base_autoscale"


def test_no_resize_and_no_stop_while_the_metric_autoscaler_is_on() -> None:
    spec = nodegroup_spec(nodeCount=4, metricAutoscaler={"scaleOut": SCALE_OUT})
    on = group(mba_scale_out=OUT_SHOWN)
    assert plan(spec, on).state == "in_sync"  # nodeCount 4, NKS has 1: never resized
    # NKS shows it on, the spec wants it off but has not turned it off yet: no resize either.
    scale_in_on = {**OFF_SHOWN, "enable": True, "min_node_count": 1, "rules": OUT_SHOWN["rules"]}
    off_spec = nodegroup_spec(
        nodeCount=4, metricAutoscaler={"scaleIn": {**SCALE_IN, "enabled": False}}
    )
    action = plan(off_spec, group(mba_scale_in=scale_in_on)).action
    assert action is not None and action.operation == "NODEGROUP_SET_METRIC_BASE_AUTOSCALER"
    nodes = [NodeState(f"n{i}", f"node-{i}", f"10.0.0.{i}", False) for i in range(3)]
    stopping = plan(
        nodegroup_spec(nodeCount=1, metricAutoscaler={"scaleOut": SCALE_OUT}),
        on,
        desired_stopped=["n1"],
        nodes=nodes,
    )
    assert stopping.action is None
    assert [b.reason for b in stopping.blocked] == ["StopNodesBlocked"]


def test_one_autoscaler_at_a_time_the_one_going_off_first() -> None:
    ca_on = group(ca_enable="True", ca_min_node_count="1", ca_max_node_count="10")
    to_metric = nodegroup_spec(metricAutoscaler={"scaleOut": SCALE_OUT})
    first = plan(to_metric, ca_on).action
    assert first is not None and first.operation == "NODEGROUP_SET_CLUSTER_AUTOSCALER"
    assert first.args["config"] == {"ca_enable": False}
    metric_on = group(mba_scale_out=OUT_SHOWN)
    to_cluster = nodegroup_spec(autoscaler={"enabled": True})
    first = plan(to_cluster, metric_on).action
    assert first is not None and first.operation == "NODEGROUP_SET_METRIC_BASE_AUTOSCALER"
    assert first.args["scale_out"] == OFF


def test_the_metric_autoscaler_waits_for_stopped_nodes() -> None:
    spec = nodegroup_spec(nodeCount=3, metricAutoscaler={"scaleOut": SCALE_OUT})
    nodes = [NodeState(f"n{i}", f"node-{i}", f"10.0.0.{i}", i == 2) for i in range(3)]
    found = plan(spec, group(), desired_stopped=["n2"], nodes=nodes)
    assert found.action is None
    assert [b.reason for b in found.blocked] == ["AutoscalerBlocked"]
    assert "n2" in found.blocked[0].message


def test_floating_ip_compared_as_nks_shows_it() -> None:
    fip = {"enabled": True, "subnetID": CLUSTER_SUBNET, "selector": "pool-a"}
    spec = nodegroup_spec(floatingIPAutoBind=fip)
    shown = {
        "fip_auto_bind_enable": "True",
        "fip_bind_subnet": CLUSTER_SUBNET,
        "fip_selector": "pool-a",
    }
    assert plan(spec, group(**shown)).state == "in_sync"
    for change in (
        {"fip_auto_bind_enable": "False"},
        {"fip_selector": None},
        {"fip_bind_subnet": OTHER_SUBNET},
    ):
        action = plan(spec, group(**{**shown, **change})).action
        assert action is not None and action.operation == "NODEGROUP_UPDATE_FIP_AUTO_BIND"
    off = nodegroup_spec(floatingIPAutoBind={"enabled": False})
    assert plan(off, group(fip_auto_bind_enable="False", fip_bind_subnet=OTHER_SUBNET)).state == (
        "in_sync"
    )


def test_pod_replicas_drift_goes_with_the_autoscaler_call() -> None:
    spec = nodegroup_spec(autoscaler={"enabled": True, "podReplicas": 2})
    labels = {
        "ca_enable": "True",
        "ca_min_node_count": "1",
        "ca_max_node_count": "10",
        "ca_scale_down_enable": "True",
        "ca_scale_down_unneeded_time": "10",
        "ca_scale_down_util_thresh": "50",
        "ca_scale_down_delay_after_add": "10",
    }
    assert plan(spec, group(**labels, ca_pod_replicas="2")).state == "in_sync"
    assert plan(spec, group(**labels)).state == "in_sync"  # not shown: unknown
    action = plan(spec, group(**labels, ca_pod_replicas="1")).action
    assert action is not None and action.args["config"]["ca_pod_replicas"] == 2


def test_the_default_worker_plans_the_same() -> None:
    spec = cluster_spec(defaultWorker={"nodeLabels": {"a": "1"}})
    worker = group(k8s_node_labels={})
    worker = worker.model_copy(update={"name": "default-worker"})
    cluster = Cluster.model_validate(
        {"uuid": "c", "status": "CREATE_COMPLETE", "labels": {"kube_tag": "v1.29.3"}}
    )
    found = day2.plan_cluster(spec, cluster, {"default-worker": worker}, SUPPORTED)
    assert found.action is not None and found.action.target == "default-worker"
    assert found.action.args == {"nodegroup": "default-worker", "labels": {"a": "1"}}
    unconfirmed = record(spec.default_worker, worker_settings.NODE_LABELS, "Unconfirmed")
    found = day2.plan_cluster(
        spec, cluster, {"default-worker": worker}, SUPPORTED, sent_settings=unconfirmed
    )
    assert [b.reason for b in found.blocked] == ["SettingNotApplied"]


def test_every_setting_action_fits_its_client_method() -> None:
    spec = nodegroup_spec(
        nodeLabels={"a": "1"},
        floatingIPAutoBind={"enabled": True, "subnetID": CLUSTER_SUBNET},
        metricAutoscaler={"scaleOut": SCALE_OUT},
    )
    actions = [
        day2._setting_action("pool", key, value)
        for key, value in worker_settings.wanted_values(spec).items()
    ]
    assert {a.operation for a in actions} == set(worker_settings.OPERATIONS.values())
    for action in actions:
        inspect.signature(action.request).bind(object(), "cluster-id", **action.args)
    # The metric autoscaler's wrapper builds what set_metric_autoscaler takes.
    (metric,) = [a for a in actions if a.operation == "NODEGROUP_SET_METRIC_BASE_AUTOSCALER"]

    class Client:
        async def set_metric_autoscaler(self, cluster: str, nodegroup: str, **kw: Any) -> None:
            self.sent = (cluster, nodegroup, kw)

    client = Client()
    asyncio.run(metric.send(client, "c1"))  # type: ignore[arg-type]
    cluster, nodegroup, kw = client.sent
    assert (cluster, nodegroup) == ("c1", "pool")
    assert isinstance(kw["scale_out"], ScaleOutPolicy) and kw["scale_out"].max_node_count == 5
    assert isinstance(kw["scale_in"], ScaleInPolicy) and kw["scale_in"].enable is False


# -- the record ----------------------------------------------------------------------------


def test_records_from_create_to_confirmed() -> None:
    spec = full_spec()
    created = worker_settings.at_create(spec)
    assert set(created) == {"nodeLabels", "metricAutoscaler", "floatingIPAutoBind"}
    assert {r.state for r in created.values()} == {"Unconfirmed"}
    assert worker_settings.at_create(nodegroup_spec()) == {}  # nothing sent, nothing recorded
    status = ResourceStatus(sent_settings=created)
    worker_settings.record_sent(status, "NODEGROUP_UPDATE_K8S_NODE_LABELS", spec)
    assert status.sent_settings is not None
    assert status.sent_settings["nodeLabels"].state == "Sent"
    worker_settings.record_sent(status, "CLUSTER_RESIZE", spec)  # not a setting: nothing
    worker_settings.record_done(status, "NODEGROUP_UPDATE_K8S_NODE_LABELS")
    assert status.sent_settings["nodeLabels"].state == "Unconfirmed"
    # NKS shows the labels (not the others): Confirmed.
    worker_settings.record_shown(
        status, spec, group(k8s_node_labels={"example.com/tier": "web", "team": ""})
    )
    assert {k: r.state for k, r in status.sent_settings.items()} == {
        "nodeLabels": "Confirmed",
        "metricAutoscaler": "Unconfirmed",
        "floatingIPAutoBind": "Unconfirmed",
    }
    # A completion of something never recorded as sent changes nothing.
    worker_settings.record_done(status, "NODEGROUP_UPDATE_FIP_AUTO_BIND")
    assert status.sent_settings["floatingIPAutoBind"].state == "Unconfirmed"


# -- the bodies, through the client, against the simulator -----------------------------------


async def _created_cluster(simulator: Any, spec: Any) -> tuple[NKSClient, str]:
    credentials = Credentials(tenant_id="t-settings", username="ops@example.com", password="x")
    client = NKSClient(credentials, "kr2", nks_url=simulator.url, identity_url=simulator.url)
    body = payloads.create_cluster_body(spec, "demo", {})
    cluster_id = await client.create_cluster(ClusterCreateRequest.model_validate(body))
    for _ in range(200):
        if (await client.get_cluster(cluster_id)).status == "CREATE_COMPLETE":
            return client, cluster_id
        await asyncio.sleep(0.02)
    raise AssertionError("the simulator did not create the cluster")


async def _send_planned(client: NKSClient, cluster_id: str, spec: Any) -> day2.Action:
    groups = {g.name or g.uuid: g for g in await client.list_nodegroups(cluster_id)}
    worker = await client.get_nodegroup(cluster_id, "default-worker")
    groups["default-worker"] = worker
    found = day2.plan_cluster(spec, await client.get_cluster(cluster_id), groups, SUPPORTED)
    assert found.action is not None, found
    await found.action.send(client, cluster_id)
    return found.action


async def test_the_setting_calls_are_what_nks_takes(simulator: Any) -> None:
    """The create labels and each change, sent by the client, as the simulator (the current
    edition's rules) takes them; each lands as sent."""
    created = cluster_spec(defaultWorker={"nodeLabels": {"a": "1"}})
    client, cluster_id = await _created_cluster(simulator, created)
    async with client:
        changes = [
            {"nodeLabels": {"a": "2", "example.com/b": ""}},
            {"floatingIPAutoBind": {"enabled": True, "subnetID": CLUSTER_SUBNET}},
            {"metricAutoscaler": {"scaleOut": SCALE_OUT, "scaleIn": SCALE_IN}},
        ]
        worker: dict[str, Any] = {}
        for change in changes:
            worker |= change
            spec = cluster_spec(defaultWorker=worker)
            await _send_planned(client, cluster_id, spec)
            for _ in range(200):
                group = await client.get_nodegroup(cluster_id, "default-worker")
                if group.status == "UPDATE_COMPLETE":
                    break
                await asyncio.sleep(0.02)
            for key, value in worker_settings.wanted_values(spec.default_worker).items():
                assert worker_settings.shown(key, value, group) is True, (key, group.labels)


async def test_pod_replicas_change_goes_with_the_autoscaler_call(simulator: Any) -> None:
    scaler = {"enabled": True, "minNodes": 1, "maxNodes": 4, "podReplicas": 1}
    created = cluster_spec(defaultWorker={"autoscaler": scaler})
    client, cluster_id = await _created_cluster(simulator, created)
    async with client:
        spec = cluster_spec(defaultWorker={"autoscaler": {**scaler, "podReplicas": 2}})
        action = await _send_planned(client, cluster_id, spec)
        assert action.args["config"]["ca_pod_replicas"] == 2
