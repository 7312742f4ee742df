"""The current edition's models on their own: health, the task vocabulary, node label
syntax, add-on answers and request checks (docs/nks-api-notes.md, "The current edition")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from nks_operator.nks import Cluster, Operation, tasks
from nks_operator.nks.models import (
    CatalogueAddon,
    FloatingIPAutoBind,
    Freshness,
    HealthReason,
    InstalledAddon,
    MetricAutoscalerUpdate,
    NodeCounts,
    NodeLabelsUpdate,
    ScaleOutPolicy,
    freshness,
    node_label_problems,
)

FLAT = {
    "timestamp": "2026-03-01T01:02:03",
    "api": "OK",
    "cluster.api_status": "NORMAL",
    "cluster.node_status": "NOT_READY_NODE_EXIST",
    "nodegroup.node_status.default-worker": "NORMAL",
    "nodegroup.node_status.pool-a": "ALL_NODES_NOT_READY",
    "nodegroup-stats.default-worker": "2:0",
    "nodegroup-stats.pool-a": "0:3",
}
NESTED = {
    "timestamp": "2026-03-01T01:02:03",
    "api": "OK",
    "cluster": {"api_status": "NORMAL", "node_status": "NOT_READY_NODE_EXIST"},
    "nodegroup": {"node_status": {"default-worker": "NORMAL", "pool-a": "ALL_NODES_NOT_READY"}},
    "nodegroup-stats": {"default-worker": "2:0", "pool-a": "0:3"},
}


@pytest.mark.parametrize("raw", [FLAT, NESTED], ids=["flat", "nested"])
def test_health_reason_in_either_form(raw: dict[str, object]) -> None:
    reason = HealthReason.parse(raw)
    assert reason == HealthReason(
        timestamp=datetime(2026, 3, 1, 1, 2, 3, tzinfo=UTC),
        api="OK",
        api_status="NORMAL",
        node_status="NOT_READY_NODE_EXIST",
        group_node_status={"default-worker": "NORMAL", "pool-a": "ALL_NODES_NOT_READY"},
        group_nodes={"default-worker": NodeCounts(2, 0), "pool-a": NodeCounts(0, 3)},
    )


def test_health_reason_odd_items_are_unknown_and_the_old_form_is_kept() -> None:
    reason = HealthReason.parse(
        {
            "timestamp": "yesterday",
            "api": 1,
            "nodegroup-stats.pool": "2-0",
            "test-k8s-default-w-node-0.Ready": "True",  # the examples' older form
        }
    )
    assert reason is not None
    assert (reason.timestamp, reason.api, reason.group_nodes) == (None, None, {})
    assert set(reason.unreadable) == {"timestamp", "api", "nodegroup-stats.pool"}
    assert reason.other == {"test-k8s-default-w-node-0.Ready": "True"}
    for nothing in (None, {}, "FRESH", []):
        assert HealthReason.parse(nothing) is None


def test_health_status_values() -> None:
    assert [freshness(v) for v in ("FRESH", "stale", " ROTTEN ")] == list(Freshness)
    for opaque in ("HEALTHY", "", None, "UNKNOWN"):
        assert freshness(opaque) is None
    cluster = Cluster.model_validate(
        {"uuid": "c", "health_status": "HEALTHY", "health_status_reason": {"api": "ok"}}
    )
    assert cluster.health is None and cluster.health_status == "HEALTHY"
    assert cluster.health_reason is not None and cluster.health_reason.api == "ok"


# -- task vocabulary -------------------------------------------------------------------


def test_every_write_is_confirmed_by_one_kind_of_task() -> None:
    for operation in Operation:
        kind = tasks.kind_of(operation)
        if operation.is_write and not operation.is_compute and operation != Operation.ISSUE_TOKEN:
            assert kind is not None, operation
        else:
            assert kind is None, operation
    names = [name for kind in tasks.TASK_KINDS for name in kind.names]
    assert len(names) == len(set(names))  # a name belongs to one kind


def test_names_of_both_editions() -> None:
    stop = tasks.kind_of(Operation.STOP_NODES)
    assert stop is not None
    assert (stop.name("copy"), stop.name("current")) == (
        "NODEGROUP_NODE_ACTION_NODE_STOP",
        "NODEGROUP_NODE_ACTION_STOP_NODE",
    )
    acl = tasks.kind_of(Operation.SET_IP_ACL)
    assert acl is not None and acl.name("copy") == "CLUSTER_API_EP_IPACL_UPDATE"  # falls back
    assert tasks.task_names(Operation.RESIZE_CLUSTER) == {
        "CLUSTER_RESIZE",
        "NODEGROUP_SCALE_OUT",
        "NODEGROUP_SCALE_IN",
    }
    assert tasks.confirmed_operations("NODEGROUP_SCALE_IN") == {Operation.RESIZE_CLUSTER}
    assert tasks.confirmed_operations("AUTO_HEALING") == frozenset()
    assert tasks.same_task("NODEGROUP_NODE_ACTION_START_NODE", "NODEGROUP_NODE_ACTION_NODE_START")
    assert not tasks.same_task(
        "NODEGROUP_NODE_ACTION_START_NODE", "NODEGROUP_NODE_ACTION_STOP_NODE"
    )
    assert tasks.aliases("SOMETHING_NEW") == {"SOMETHING_NEW"}
    assert tasks.task_names(Operation.GET_CLUSTER) == frozenset()


# -- node labels -----------------------------------------------------------------------


def test_node_label_syntax() -> None:
    assert node_label_problems({"env": "prod", "example.com/tier": "", "a.b_c-d": "x.y"}) == []
    bad = {
        "kubernetes.io/role": "x",
        "node.k8s.io/x": "y",
        "magnum.openstack.org/x": "y",
        "Bad_Prefix/x": "y",
        "-dash": "x",
        "n" * 64: "x",
        "ok": "v" * 64,
        "ok2": "-v",
    }
    problems = node_label_problems(bad)
    assert len(problems) == len(bad)
    assert len(node_label_problems({f"k{i}": "" for i in range(21)})) == 1
    assert "value" in node_label_problems({"ok": "v" * 64})[0]  # names the key, not the value
    with pytest.raises(ValidationError, match="reserved"):
        NodeLabelsUpdate(k8s_node_labels={"k8s.io/x": "y"})
    assert NodeLabelsUpdate(k8s_node_labels={}).to_wire() == {
        "type": "k8s_node_labels",
        "k8s_node_labels": {},
    }


# -- requests ----------------------------------------------------------------------------


def test_metric_autoscaler_and_floating_ip_requests() -> None:
    with pytest.raises(ValidationError, match="duration"):
        MetricAutoscalerUpdate.model_validate(
            {
                "mba_scale_out": {
                    "enable": True,
                    "rules": [{"metric": "GROUP_CPU_USAGE", "threshold": 1, "duration": 61}],
                }
            }
        )
    with pytest.raises(ValidationError, match="metric"):
        ScaleOutPolicy.model_validate(
            {"enable": True, "rules": [{"metric": "CPU", "threshold": 1, "duration": 2}]}
        )
    with pytest.raises(ValidationError, match="rules_operator"):
        ScaleOutPolicy.model_validate({"enable": False, "rules_operator": "or"})
    with pytest.raises(ValidationError, match="fip_bind_subnet"):
        FloatingIPAutoBind(fip_auto_bind_enable=True)
    assert FloatingIPAutoBind(fip_auto_bind_enable=False).to_wire() == {
        "fip_auto_bind_enable": False
    }


# -- add-on answers --------------------------------------------------------------------


def test_installed_addon_answers_are_read_tolerantly() -> None:
    addon = InstalledAddon.model_validate(
        {
            "uuid": "a",
            "options": {"replicas": 2, "debug": True},
            "status": "INSTALL_PENDING",  # not a documented status: in progress
            "created_at": "2026-03-01T01:02:03",
            "updated_at": "not a time",
        }
    )
    assert addon.options == {"replicas": "2", "debug": "true"}
    assert addon.is_in_progress and not addon.is_failed
    assert addon.updated_at is None and set(addon.unreadable) == {"updated_at"}
    with pytest.raises(ValidationError):
        InstalledAddon.model_validate({"name": "coredns"})  # no uuid: unusable


def test_catalogue_entries_are_read_tolerantly() -> None:
    entry = CatalogueAddon.model_validate({"uuid": "e", "option_schemas": None})
    assert entry.option_schemas == [] and entry.option("mode") is None
    odd = CatalogueAddon.model_validate({"uuid": "e", "option_schemas": [{"data_type": "X"}]})
    assert odd.option_schemas is None and "option_schemas" in odd.unreadable  # unknown
    numeric = CatalogueAddon.model_validate(
        {
            "uuid": "e",
            "option_schemas": [
                {"name": "replicas", "data_type": "INTEGER", "default": 1, "choices": None}
            ],
        }
    )
    option = numeric.option("replicas")
    assert option is not None and (option.default, option.choices) == ("1", [])
