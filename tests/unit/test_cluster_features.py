"""The current edition's cluster settings in the pure decisions: control-plane logs
(payloads, reconcile/control_plane_log.py, validation), etcd encryption (payload, drift,
admission) and the health fields (observed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nks_operator.nks.models import Cluster, ClusterCreateRequest, ControlPlaneLogState
from nks_operator.reconcile import control_plane_log, observed, payloads, validation
from nks_operator.reconcile.admission import review_cluster
from tests.unit.specs import CLUSTER_SPEC, _merge, cluster_spec

GATEWAY = "4c3cc7c2-8a83-4f5d-9a37-2a4a2f2b7f10"
KEY_REF = {"name": "lncs", "key": "appKey"}
LNCS = {
    "enabled": True,
    "destination": "lncs",
    "serviceGatewayID": GATEWAY,
    "lncs": {"appKeySecretRef": KEY_REF},
}
OBS_URL = "https://kr1-api-object-storage.nhncloudservice.com/v1/AUTH_t/logs/nks"
OBS = {
    "enabled": True,
    "destination": "obs",
    "serviceGatewayID": GATEWAY,
    "uploadIntervalMinutes": 5,
    "obs": {"apiURL": OBS_URL, "storeAs": "gzip"},
}
SKM = "6a1b9e2d-3f4c-4d5e-8a7b-9c0d1e2f3a4b"
CLUSTER_ID = "0b6c8a30-5e4b-4bb4-a3c1-1b1d1bd7d1a0"


# -- control-plane logs: the wire settings ---------------------------------------------------


def test_create_sends_the_settings_as_json_text_with_the_key_from_the_secret() -> None:
    spec = cluster_spec(controlPlaneLog=LNCS, etcdEncryption={"keyID": SKM})
    assert payloads.cluster_secret_refs(spec)[-1].model_dump() == {"name": "lncs", "key": "appKey"}
    body = payloads.create_cluster_body(spec, "demo", {("lncs", "appKey"): "s3cr3t"})
    labels = body["labels"]
    assert json.loads(labels["control_plane_log"]) == {
        "enable": True,
        "type": "lncs",
        "sgw": GATEWAY,
        "lncs_appkey": "s3cr3t",
    }
    assert json.loads(labels["skm"]) == {"key_id": SKM}
    # The client's request model takes it and writes the same wire JSON (the key included).
    assert ClusterCreateRequest.model_validate(body).to_wire() == body
    assert "s3cr3t" not in repr(ClusterCreateRequest.model_validate(body))


def test_nothing_is_sent_at_create_for_logs_off_or_unmanaged() -> None:
    for log in (None, {"enabled": False}):
        labels = payloads.create_cluster_body(cluster_spec(controlPlaneLog=log), "demo", {})[
            "labels"
        ]
        assert "control_plane_log" not in labels and "skm" not in labels
    assert payloads.cluster_secret_refs(cluster_spec(controlPlaneLog=OBS)) == []


def test_object_storage_and_off_settings() -> None:
    assert payloads.control_plane_log_settings(
        cluster_spec(controlPlaneLog=OBS).control_plane_log, None
    ) == {  # type: ignore[arg-type]
        "enable": True,
        "type": "obs",
        "sgw": GATEWAY,
        "upload_interval": 5,
        "obs_api_url": OBS_URL,
        "obs_store_as": "gzip",
    }
    off = cluster_spec(controlPlaneLog={"enabled": False}).control_plane_log
    assert payloads.control_plane_log_settings(off, None) == {"enable": False}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        (
            {"enabled": True},
            [
                "spec.controlPlaneLog.destination is required when enabled is true",
                "spec.controlPlaneLog.serviceGatewayID is required when enabled is true",
            ],
        ),
        (
            {**LNCS, "lncs": None},
            ["spec.controlPlaneLog.lncs is required with destination lncs"],
        ),
        (
            {**LNCS, "obs": {"apiURL": OBS_URL}},
            ["spec.controlPlaneLog.obs is set, but the destination is lncs"],
        ),
        ({"enabled": False, "destination": "obs"}, []),  # kept for later, nothing sent
        (LNCS, []),
        (OBS, []),
    ],
)
def test_log_settings_are_refused_before_any_call(log: dict[str, Any], expected: list[str]) -> None:
    spec = cluster_spec(controlPlaneLog=log)
    assert validation.control_plane_log_problems(spec.control_plane_log) == expected
    # The webhook says the same at apply time.
    assert review_cluster(_merge(CLUSTER_SPEC, {"controlPlaneLog": log}), None, "demo") == expected


def test_the_model_refuses_an_inline_key_and_odd_values() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        cluster_spec(controlPlaneLog={**LNCS, "lncs": {"appKey": "inline"}})
    with pytest.raises(ValidationError):
        cluster_spec(controlPlaneLog={**OBS, "uploadIntervalMinutes": 61})
    with pytest.raises(ValidationError):
        cluster_spec(controlPlaneLog={**OBS, "obs": {"apiURL": "http://plain"}})


# -- control-plane logs: in sync or not --------------------------------------------------------


def shown(**fields: Any) -> ControlPlaneLogState:
    return ControlPlaneLogState.model_validate(fields)


DESIRED = cluster_spec(controlPlaneLog=LNCS).control_plane_log
assert DESIRED is not None
SHOWN = {"enable": True, "type": "lncs", "sgw": GATEWAY, "upload_interval": 10}


def sync(state: ControlPlaneLogState | None, recorded: str | None, key: str = "k1") -> bool:
    return control_plane_log.in_sync(DESIRED, state, recorded=recorded, wanted="h1", app_key=key)


def test_without_the_label_the_record_decides() -> None:
    assert sync(None, "h1")
    assert not sync(None, None)  # nothing recorded (adopted): sent once
    assert not sync(None, "h0")  # the spec or the key in the Secret changed


def test_with_the_label_a_change_made_elsewhere_is_seen() -> None:
    assert sync(shown(**SHOWN), "h1")
    assert not sync(shown(**{**SHOWN, "enable": False}), "h1")
    assert not sync(shown(**{**SHOWN, "sgw": "other"}), "h1")
    # Unknown values are never a difference.
    assert sync(shown(**{**SHOWN, "sgw": None}), "h1")
    assert sync(shown(enable=None), "h1")


def test_the_label_showing_the_same_key_counts_as_applied() -> None:
    assert sync(shown(**SHOWN, lncs_appkey="k1"), None)
    assert not sync(shown(**SHOWN, lncs_appkey="***"), None)  # masked: the record decides
    assert not sync(shown(**SHOWN), None)


def test_the_change_carries_the_key_as_a_secret() -> None:
    settings = payloads.control_plane_log_settings(DESIRED, "s3cr3t")  # type: ignore[arg-type]
    plan = control_plane_log.plan_control_plane_log(
        DESIRED, None, recorded="h0", wanted="h1", settings=settings, app_key="s3cr3t"
    )
    action = plan.action
    assert action is not None and action.operation == "CLUSTER_UPDATE_CONTROL_PLANE_LOG"
    assert action.target is None and action.confirmation == "task"
    assert action.summary == "ship control-plane logs to Log & Crash Search"
    assert "s3cr3t" not in repr(action) and "s3cr3t" not in action.summary
    assert action.args["settings"].to_wire()["lncs_appkey"] == "s3cr3t"
    same = control_plane_log.plan_control_plane_log(
        DESIRED, None, recorded="h1", wanted="h1", settings=settings, app_key="s3cr3t"
    )
    assert same.action is None
    unmanaged = control_plane_log.plan_control_plane_log(
        None, None, recorded=None, wanted=None, settings=None, app_key=None
    )
    assert unmanaged.action is None


def test_the_hash_covers_the_key_and_the_resource() -> None:
    settings = payloads.control_plane_log_settings(DESIRED, "one")  # type: ignore[arg-type]
    other = payloads.control_plane_log_settings(DESIRED, "two")  # type: ignore[arg-type]
    parts = control_plane_log.hash_parts("uid-1", settings)
    assert parts != control_plane_log.hash_parts("uid-1", other)
    assert parts != control_plane_log.hash_parts("uid-2", settings)
    assert parts == control_plane_log.hash_parts("uid-1", dict(reversed(settings.items())))


# -- etcd encryption ---------------------------------------------------------------------------


def cluster_with(labels: dict[str, Any], **fields: Any) -> Cluster:
    return Cluster.model_validate({"uuid": "c1", "labels": labels, **fields})


def test_another_etcd_key_in_nks_is_drift() -> None:
    spec = cluster_spec(etcdEncryption={"keyID": SKM})
    assert (
        observed.etcd_encryption_drift(spec, cluster_with({"skm": json.dumps({"key_id": SKM})}))
        == []
    )
    (drift,) = observed.etcd_encryption_drift(spec, cluster_with({"skm": {"key_id": "other"}}))
    assert drift.field == "spec.etcdEncryption.keyID"
    assert drift.message.startswith("spec.etcdEncryption.keyID is immutable: NKS has 'other'")
    # Not shown (older clusters), or not in the spec: nothing to compare.
    assert observed.etcd_encryption_drift(spec, cluster_with({})) == []
    assert (
        observed.etcd_encryption_drift(cluster_spec(), cluster_with({"skm": {"key_id": "x"}})) == []
    )


def test_the_webhook_refuses_an_etcd_key_change_once_the_cluster_exists() -> None:
    old = _merge(CLUSTER_SPEC, {"etcdEncryption": {"keyID": SKM}})
    new = _merge(CLUSTER_SPEC, {"etcdEncryption": {"keyID": "other"}})
    created = {"clusterID": CLUSTER_ID, "kubernetesVersion": "v1.29.3"}
    assert review_cluster(new, old, "demo", old_status=created) == [
        f"spec.etcdEncryption.keyID is immutable: it was '{SKM}', the change asks for 'other'"
    ]
    (added,) = review_cluster(old, CLUSTER_SPEC, "demo", old_status=created)
    assert added.startswith("spec.etcdEncryption is immutable: it was unset")
    assert review_cluster(new, old, "demo", old_status={}) == []  # not in NKS yet
    drifted = {**created, "drift": ["spec.etcdEncryption.keyID"]}
    assert review_cluster(new, old, "demo", old_status=drifted) == []  # putting it back


# -- health ------------------------------------------------------------------------------------

FLAT = {
    "timestamp": "2026-03-01T10:00:00",
    "api": "OK",
    "cluster.api_status": "NORMAL",
    "cluster.node_status": "NOT_READY_NODE_EXIST",
    "nodegroup.node_status.default-worker": "NORMAL",
    "nodegroup.node_status.pool": "ALL_NODES_NOT_READY",
    "nodegroup-stats.default-worker": "2:0",
    "nodegroup-stats.pool": "0:3",
}


def nested(flat: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in flat.items():
        head, _, rest = key.partition(".")
        if head == "nodegroup":
            middle, _, group = rest.partition(".")
            result.setdefault(head, {}).setdefault(middle, {})[group] = value
        elif rest:
            result.setdefault(head, {})[rest] = value
        else:
            result[head] = value
    return result


@pytest.mark.parametrize("form", ["flat", "nested"])
def test_health_per_group_in_either_form(form: str) -> None:
    reason = FLAT if form == "flat" else nested(FLAT)
    cluster = cluster_with(
        {"platform_version": "1.202602.0", "upgradable_kube_versions": '["v1.30.3"]'},
        health_status="FRESH",
        health_status_reason=reason,
    )
    fields = observed.cluster_health_fields(cluster)
    assert fields["platform_version"] == "1.202602.0"
    assert fields["upgradable_versions"] == ["v1.30.3"]
    health = fields["health"].model_dump(by_alias=True, exclude_none=True)
    assert health == {
        "freshness": "FRESH",
        "refreshedAt": "2026-03-01T10:00:00Z",  # no offset sent: UTC
        "api": "OK",
        "apiStatus": "NORMAL",
        "nodeStatus": "NOT_READY_NODE_EXIST",
        "nodeGroups": [
            {"name": "default-worker", "nodeStatus": "NORMAL", "readyNodes": 2, "notReadyNodes": 0},
            {
                "name": "pool",
                "nodeStatus": "ALL_NODES_NOT_READY",
                "readyNodes": 0,
                "notReadyNodes": 3,
            },
        ],
    }


def test_health_nks_does_not_show_is_left_out() -> None:
    assert observed.cluster_health_fields(cluster_with({})) == {
        "health": None,
        "upgradable_versions": None,
        "platform_version": None,
    }
    # The examples' HEALTHY: kept in healthStatus, no freshness.
    old = observed.cluster_health(cluster_with({}, health_status="HEALTHY"))
    assert old is None
    odd = observed.cluster_health(
        cluster_with({}, health_status="HEALTHY", health_status_reason={"node-1.Ready": "True"})
    )
    assert odd is not None and odd.freshness is None and odd.node_groups is None
