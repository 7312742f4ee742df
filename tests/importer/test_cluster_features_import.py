"""`nks-operator import` and the current edition's cluster settings: installed add-ons and
the etcd key are mapped so the operator sends nothing; control-plane logs are noted."""

from __future__ import annotations

import datetime
import json
from typing import Any

from nks_operator.api import NKSClusterSpec
from nks_operator.importer import build, mapping, verify
from nks_operator.importer.mapping import Options
from tests.importer.answers import (
    SUPPORTED,
    cluster_json,
    control_plane_json,
    inventory,
    nodegroup_json,
    record,
)

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
OPTIONS = Options("kr2", "nks-credentials")
SKM = "6a1b9e2d-3f4c-4d5e-8a7b-9c0d1e2f3a4b"


def addon(
    name: str, version: str, type_: str, status: str = "UPDATE_COMPLETE", **extra: Any
) -> Any:
    return {
        "uuid": f"a-{name}",
        "name": name,
        "version": version,
        "type": type_,
        "status": status,
        "options": {},
        **extra,
    }


INSTALLED = [
    addon("calico", "v3.28.2-nks1", "cni", options={"mode": "vxlan"}),
    addon("coredns", "1.8.4-nks1", "kube-dns"),
    addon("metrics-server", "v0.4.4-nks1", "metrics-server", options={"replicas": "1"}),
]


def mapped(**records: Any) -> mapping.Mapped:
    result = mapping.cluster_spec(record(**records), name="shop", options=OPTIONS, now=NOW)
    assert not result.errors, result.errors
    NKSClusterSpec.model_validate(result.spec)
    return result


def imported(rec: Any) -> build.Imported:
    result = build.build(inventory(rec), namespace="team", options=OPTIONS, now=NOW)
    [cluster] = [item for item in result.resources if item.kind == "NKSCluster"]
    return cluster


def test_installed_add_ons_are_mapped_with_versions_and_options() -> None:
    result = mapped(addons=INSTALLED)
    assert result.spec["addons"] == [
        {"name": "calico", "version": "v3.28.2-nks1", "options": {"mode": "vxlan"}},
        {"name": "coredns", "version": "1.8.4-nks1"},
        {"name": "metrics-server", "version": "v0.4.4-nks1", "options": {"replicas": "1"}},
    ]
    assert result.notes == []


def test_an_unread_add_on_list_leaves_add_ons_unmanaged() -> None:
    result = mapped(addons=None, addons_error="HTTP 403: the NKS registry is not enabled")
    assert "addons" not in result.spec
    assert result.notes == [
        "addons left unset (not managed: the operator leaves them as NKS has them): NKS did "
        "not answer the add-on list (HTTP 403: the NKS registry is not enabled)"
    ]


def test_what_the_spec_cannot_hold_is_said() -> None:
    odd = [
        addon("calico", "v3.28.2-nks1", "cni", "UPDATE_IN_PROGRESS"),
        {**addon("mystery", "", "x"), "version": None},
    ]
    result = mapped(addons=odd)
    assert result.spec["addons"] == [{"name": "calico", "version": "v3.28.2-nks1"}]
    assert any("add-on a-mystery left out" in note for note in result.notes)
    assert any("calico is UPDATE_IN_PROGRESS" in note for note in result.notes)


def test_the_etcd_key_is_mapped_and_log_shipping_is_noted() -> None:
    log = {"enable": True, "type": "lncs", "sgw": "g", "lncs_appkey": "lncs-secret-key"}
    labels = {"skm": json.dumps({"key_id": SKM}), "control_plane_log": json.dumps(log)}
    result = mapped(cluster=cluster_json(labels))
    assert result.spec["etcdEncryption"] == {"keyID": SKM}
    assert "controlPlaneLog" not in result.spec
    assert any(note.startswith("controlPlaneLog left unset") for note in result.notes)
    assert not any("lncs-secret-key" in note for note in result.notes)


def test_an_imported_cluster_sends_nothing() -> None:
    cluster = imported(record(cluster_json({"skm": json.dumps({"key_id": SKM})}), addons=INSTALLED))
    assert not cluster.paused and cluster.messages == []
    assert cluster.manifest["spec"]["etcdEncryption"] == {"keyID": SKM}


def test_verify_reports_an_add_on_the_operator_would_change() -> None:
    rec = record(addons=INSTALLED)
    spec = NKSClusterSpec.model_validate(mapped(addons=INSTALLED).spec)
    assert verify.cluster_findings(spec, "shop", rec, SUPPORTED).writes == []
    newer = spec.model_copy(
        update={
            "addons": [
                *spec.addons[:2],
                spec.addons[2].model_copy(update={"version": "v0.4.4-nks2"}),
            ]
        }
    )
    assert verify.cluster_findings(newer, "shop", rec, SUPPORTED).writes == [
        "update add-on metrics-server from v0.4.4-nks1 to v0.4.4-nks2"
    ]
    extra = spec.model_copy(
        update={"addons": [*spec.addons, spec.addons[0].model_copy(update={"name": "other"})]}
    )
    assert verify.cluster_findings(extra, "shop", rec, SUPPORTED).writes == [
        "install add-on other v3.28.2-nks1"
    ]


def test_a_failed_add_on_is_held_not_written() -> None:
    failed = [
        *INSTALLED[:2],
        addon("metrics-server", "v0.4.4-nks1", "metrics-server", "UPDATE_FAILED"),
    ]
    rec = record(addons=failed)
    spec = NKSClusterSpec.model_validate(mapped(addons=failed).spec)
    findings = verify.cluster_findings(spec, "shop", rec, SUPPORTED)
    assert findings.writes == []
    assert any("NKS reports UPDATE_FAILED" in message for message in findings.blocked)


def test_another_etcd_key_is_a_problem() -> None:
    rec = record(cluster_json({"skm": json.dumps({"key_id": SKM})}))
    spec = NKSClusterSpec.model_validate(
        {
            **mapped(cluster=cluster_json({"skm": json.dumps({"key_id": SKM})})).spec,
            "etcdEncryption": {"keyID": "x"},
        }
    )
    findings = verify.cluster_findings(spec, "shop", rec, SUPPORTED)
    assert any(p.startswith("spec.etcdEncryption.keyID is immutable") for p in findings.problems)


def test_groups_are_unaffected() -> None:
    rec = record(groups=[nodegroup_json(), control_plane_json()], addons=INSTALLED)
    assert not imported(rec).paused
