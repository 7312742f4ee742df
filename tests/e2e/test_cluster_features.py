"""The current edition's cluster features end to end, on the real kube-apiserver and the
simulator: add-on lifecycle, control-plane log shipping, etcd encryption, health fields."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.helpers import (
    Sim,
    apply,
    cluster_manifest,
    condition,
    credentials_secret,
    events,
    get,
    new_tenant,
    nks_call,
    wait_condition,
    wait_events,
    write_log,
)
from tests.e2e.test_day2 import patch, wait_idle, wait_polls
from tests.fixtures.operator import OperatorProcess, wait_for

pytestmark = pytest.mark.kube

CALICO = {"name": "calico", "version": "v3.28.2-nks1", "options": {"mode": "vxlan"}}
COREDNS = {"name": "coredns", "version": "1.8.4-nks1"}
METRICS = {"name": "metrics-server", "version": "v0.4.4-nks1"}
SNAPSHOT = {"name": "snapshot-controller", "version": "v4.1.1-nks1"}
ADDON_WRITES = ("install_addon", "update_addon", "uninstall_addon")
LNCS_GATEWAY = "4c3cc7c2-8a83-4f5d-9a37-2a4a2f2b7f10"
SKM_KEY = "6a1b9e2d-3f4c-4d5e-8a7b-9c0d1e2f3a4b"


@pytest.fixture
def sim(clean_simulator_thread: Any) -> Sim:
    return Sim(clean_simulator_thread.url, new_tenant())


def nks_addons(sim: Sim) -> dict[str, dict[str, Any]]:
    [cluster] = sim.clusters()
    return {a["name"]: a for a in cluster["addons"]}


def addon_writes(sim: Sim) -> dict[str, int]:
    writes = sim.writes()
    return {op: writes[op] for op in ADDON_WRITES}


def status_addons(obj: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in ((obj or {}).get("status") or {}).get("addons") or []}


def reconcile_now(kubectl: Any, ns: str, name: str, value: str) -> None:
    """The reconcile-requested annotation: NKS is read again now."""
    kubectl(
        "annotate",
        "nksc",
        name,
        "-n",
        ns,
        f"nks.nhncloud.com/reconcile-requested-at={value}",
        "--overwrite",
    )


def app_key_secret(kubectl: Any, ns: str, value: str) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "lncs"},
        "stringData": {"appKey": value},
    }
    apply(kubectl, ns, secret)


def leaks(operator: OperatorProcess, api: Any, ns: str, name: str, secret: str) -> list[str]:
    """Where `secret` shows: the resource (status included), its Events, the operator log."""
    found = []
    if secret in json.dumps(get(api, "nksclusters", ns, name)):
        found.append("resource")
    if any(secret in e["message"] for e in events(api, ns, name)):
        found.append("events")
    if secret in operator.logs():
        found.append("operator log")
    return found


# -- add-ons --------------------------------------------------------------------------------


def test_addon_lifecycle(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    """Create with an optional add-on, install another, update a version, remove an
    optional one (uninstalled) and a mandatory one (kept, with a message)."""
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo", addons=[CALICO, COREDNS, METRICS]))
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Synced", "True", "Synced")
    installed = nks_addons(sim)
    assert installed["metrics-server"]["version"] == "v0.4.4-nks1"
    assert installed["calico"]["options"] == {"mode": "vxlan"}
    rows = status_addons(obj)
    assert set(rows) == {"calico", "coredns", "metrics-server"}
    assert rows["metrics-server"]["status"] == "UPDATE_COMPLETE" and rows["calico"]["managed"]
    assert addon_writes(sim) == {op: 0 for op in ADDON_WRITES}  # all went with the create

    # Install another one later.
    patch(kubectl, ns, "nksc", "demo", {"spec": {"addons": [CALICO, COREDNS, METRICS, SNAPSHOT]}})
    wait_for(
        lambda: nks_addons(sim).get("snapshot-controller", {}).get("status") == "UPDATE_COMPLETE",
        60,
        what="snapshot-controller installed",
    )
    obj = wait_idle(kube_api, ns, "nksclusters", "demo")
    assert obj["status"]["lastOperation"]["type"] == "CLUSTER_INSTALL_ADDON"
    assert obj["status"]["lastOperation"]["target"] == "addon/snapshot-controller"
    wait_for(
        lambda: (
            status_addons(get(kube_api, "nksclusters", ns, "demo"))
            .get("snapshot-controller", {})
            .get("status")
            == "UPDATE_COMPLETE"
        ),
        30,
        what="status.addons shows it",
    )

    # Update a version (with an updatable option).
    newer = {**METRICS, "version": "v0.4.4-nks2", "options": {"replicas": "2"}}
    patch(kubectl, ns, "nksc", "demo", {"spec": {"addons": [CALICO, COREDNS, newer, SNAPSHOT]}})
    wait_for(
        lambda: nks_addons(sim)["metrics-server"]["version"] == "v0.4.4-nks2",
        60,
        what="metrics-server updated",
    )
    wait_idle(kube_api, ns, "nksclusters", "demo")
    assert nks_addons(sim)["metrics-server"]["options"] == {"replicas": "2"}

    # Remove an optional one: uninstalled.
    patch(kubectl, ns, "nksc", "demo", {"spec": {"addons": [CALICO, COREDNS, newer]}})
    wait_for(lambda: "snapshot-controller" not in nks_addons(sim), 60, what="uninstalled")
    wait_idle(kube_api, ns, "nksclusters", "demo")

    # Remove a mandatory one: it stays, unmanaged, with a Warning; nothing is sent.
    patch(kubectl, ns, "nksc", "demo", {"spec": {"addons": [CALICO, newer]}})
    [warning] = wait_events(kube_api, ns, "demo", "AddonNotRemoved")
    assert warning["type"] == "Warning" and "coredns" in warning["message"]
    wait_polls(sim, 3)
    assert "coredns" in nks_addons(sim)
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Synced", "True", "Synced")
    assert status_addons(obj)["coredns"]["managed"] is False
    assert addon_writes(sim) == {"install_addon": 1, "update_addon": 1, "uninstall_addon": 1}
    assert sim.writes()["create_cluster"] == 1
    # The catalogue is the account's, read once (cached like the supported versions).
    calls = sim.calls()
    assert (calls["list_addon_catalogue"], calls["list_addon_types"]) == (1, 1)


def test_addon_refusals_failures_and_drift(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo", addons=[CALICO, METRICS]))
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    cluster_id = obj["status"]["clusterID"]
    wait_condition(kube_api, "nksclusters", ns, "demo", "Synced", "True", "Synced")

    def refused(addon: dict[str, Any], words: str) -> None:
        patch(kubectl, ns, "nksc", "demo", {"spec": {"addons": [CALICO, addon]}})

        def probe() -> dict[str, Any] | None:
            ready = condition(get(kube_api, "nksclusters", ns, "demo"), "Ready") or {}
            return (
                ready
                if ready.get("reason") == "InvalidSpec" and words in ready["message"]
                else None
            )

        wait_for(probe, 30, what=f"InvalidSpec: {words}")

    # Refused before any call: an unknown version, an unknown add-on, a bad option value.
    refused({**METRICS, "version": "v9.9.9-nks1"}, "offers no version 'v9.9.9-nks1'")
    refused({"name": "no-such-addon", "version": "1.0"}, "offers no add-on named 'no-such-addon'")
    refused({**METRICS, "options": {"replicas": "two"}}, "'two' is not an integer")
    assert addon_writes(sim) == {op: 0 for op in ADDON_WRITES}

    # An option NKS does not let change: reported, nothing sent, the rest goes on.
    ebpf = {**CALICO, "options": {"mode": "ebpf"}}
    patch(kubectl, ns, "nksc", "demo", {"spec": {"addons": [ebpf, METRICS]}})
    found = wait_condition(kube_api, "nksclusters", ns, "demo", "Synced", "False", "AddonBlocked")
    assert "option mode cannot change" in condition(found, "Synced")["message"]
    assert condition(found, "Ready")["status"] == "True"
    assert addon_writes(sim) == {op: 0 for op in ADDON_WRITES}

    # An update NKS fails: shown with NKS's reason, and not sent again for this spec.
    sim.http.post(
        "/_sim/fail-next",
        json={"tenant": sim.tenant, "operation": "update_addon", "reason": "helm upgrade failed"},
    ).raise_for_status()
    newer = {**METRICS, "version": "v0.4.4-nks2"}
    patch(kubectl, ns, "nksc", "demo", {"spec": {"addons": [CALICO, newer]}})
    found = wait_condition(
        kube_api, "nksclusters", ns, "demo", "Synced", "False", "AddonFailed", timeout=60
    )
    assert "helm upgrade failed" in condition(found, "Synced")["message"]
    row = status_addons(found)["metrics-server"]
    assert row["status"] == "UPDATE_FAILED" and row["message"] == "helm upgrade failed"
    assert row["failedGeneration"] == found["metadata"]["generation"]
    last = found["status"]["lastOperation"]
    assert (last["type"], last["state"]) == ("CLUSTER_UPDATE_ADDON", "Failed"), last
    wait_for(
        lambda: (
            {"AddonFailed", "OperationFailed"}
            <= {e["reason"] for e in events(kube_api, ns, "demo") if e["type"] == "Warning"}
        ),
        30,
        what="Warnings AddonFailed and OperationFailed",
    )
    wait_polls(sim, 5)
    assert addon_writes(sim)["update_addon"] == 1, write_log(sim)

    # The spec changes: applied again, and it works this time.
    retry = {**newer, "resolveConflicts": "preserve"}
    patch(kubectl, ns, "nksc", "demo", {"spec": {"addons": [CALICO, retry]}})
    wait_for(
        lambda: (
            nks_addons(sim)["metrics-server"]["version"] == "v0.4.4-nks2"
            and nks_addons(sim)["metrics-server"]["status"] == "UPDATE_COMPLETE"
        ),
        60,
        what="metrics-server updated after the spec changed",
    )
    wait_condition(kube_api, "nksclusters", ns, "demo", "Synced", "True", "Synced")
    assert addon_writes(sim)["update_addon"] == 2

    # Drift: the version changed behind the operator's back is put back.
    nks_call(
        sim,
        lambda nks: nks.update_addon(
            cluster_id, "metrics-server", version="v0.4.4-nks1", resolve_conflicts="overwrite"
        ),
    )
    wait_for(lambda: nks_addons(sim)["metrics-server"]["version"] == "v0.4.4-nks1", 30)
    reconcile_now(kubectl, ns, "demo", "drift")
    wait_for(
        lambda: (
            nks_addons(sim)["metrics-server"]["version"] == "v0.4.4-nks2"
            and addon_writes(sim)["update_addon"] == 4
        ),
        60,
        what="drift corrected",
    )
    wait_idle(kube_api, ns, "nksclusters", "demo")


def test_options_nks_does_not_take_are_refused_once(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    """Whether NKS takes options on install and update is contested (the simulator's
    `addon_options` knob): options are sent only when the spec gives them, a refusal is
    reported and not sent again until the spec changes, and without options it goes."""
    ns = e2e_namespace
    sim.patch_config(addon_options="refused")
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo"))
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    patch(
        kubectl,
        ns,
        "nksc",
        "demo",
        {"spec": {"addons": [{**METRICS, "options": {"replicas": "2"}}]}},
    )
    found = wait_condition(
        kube_api, "nksclusters", ns, "demo", "Synced", "False", "OperationRefused"
    )
    assert "Unknown attribute" in condition(found, "Synced")["message"]
    wait_polls(sim, 5)
    assert addon_writes(sim)["install_addon"] == 1
    patch(kubectl, ns, "nksc", "demo", {"spec": {"addons": [METRICS]}})
    wait_for(
        lambda: nks_addons(sim).get("metrics-server", {}).get("status") == "UPDATE_COMPLETE",
        60,
        what="installed without options",
    )
    wait_condition(kube_api, "nksclusters", ns, "demo", "Synced", "True", "Synced")
    assert addon_writes(sim)["install_addon"] == 2


# -- control-plane logs ---------------------------------------------------------------------


@pytest.mark.parametrize("labels", ["shown", "hidden"])
def test_control_plane_log(
    operator: OperatorProcess,
    e2e_namespace: str,
    kubectl: Any,
    kube_api: Any,
    sim: Sim,
    labels: str,
    hygiene: Any,
) -> None:
    """At create, changed, the app key re-sent when its Secret changes - whether NKS's
    answers show the setting or not (unknown: the `setting_labels` knob) - and never shown."""
    ns = e2e_namespace
    sim.patch_config(setting_labels=labels)
    first_key, second_key = f"lncs-key-one-{sim.tenant}", f"lncs-key-two-{sim.tenant}"
    for key in (first_key, second_key):  # the session's scan looks for them too
        hygiene.add_password(key)
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    app_key_secret(kubectl, ns, first_key)
    log = {
        "enabled": True,
        "destination": "lncs",
        "serviceGatewayID": LNCS_GATEWAY,
        "lncs": {"appKeySecretRef": {"name": "lncs", "key": "appKey"}},
    }
    apply(kubectl, ns, cluster_manifest("demo", controlPlaneLog=log))
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    cluster_id = obj["status"]["clusterID"]
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Synced", "True", "Synced")
    [stored] = [c["settings"]["control_plane_log"] for c in sim.clusters()]
    assert stored == {
        "enable": True,
        "type": "lncs",
        "sgw": LNCS_GATEWAY,
        "upload_interval": 10,
        "lncs_appkey": "***",
    }
    record = obj["status"]["controlPlaneLog"]
    assert record["enabled"] is True and record["destination"] == "lncs"
    assert record["settingsHash"] and first_key not in record["settingsHash"]
    wait_polls(sim, 3)
    assert sim.writes()["set_control_plane_log"] == 0  # it went with the create

    def shipped_key() -> str | None:
        async def read(nks: Any) -> str | None:
            shown = (await nks.get_cluster(cluster_id)).labels.control_plane_log
            return None if shown is None else shown.lncs_appkey.get_secret_value()

        return nks_call(sim, read)

    # A change of the spec.
    patch(kubectl, ns, "nksc", "demo", {"spec": {"controlPlaneLog": {"uploadIntervalMinutes": 5}}})
    wait_for(
        lambda: sim.clusters()[0]["settings"]["control_plane_log"]["upload_interval"] == 5,
        60,
        what="upload interval changed",
    )
    obj = wait_idle(kube_api, ns, "nksclusters", "demo")
    assert obj["status"]["lastOperation"]["type"] == "CLUSTER_UPDATE_CONTROL_PLANE_LOG"
    assert sim.writes()["set_control_plane_log"] == 1

    # A new app key in the Secret is sent again.
    app_key_secret(kubectl, ns, second_key)
    wait_for(lambda: sim.writes()["set_control_plane_log"] == 2, 60, what="new key sent")
    wait_idle(kube_api, ns, "nksclusters", "demo")
    if labels == "shown":
        assert shipped_key() == second_key
        # Drift: turned off behind the operator's back, turned on again.
        nks_call(sim, lambda nks: nks.set_control_plane_log(cluster_id, _disabled()))
        reconcile_now(kubectl, ns, "demo", "log-drift")
        wait_for(
            lambda: (
                sim.clusters()[0]["settings"]["control_plane_log"].get("enable") is True
                and sim.writes()["set_control_plane_log"] == 4
            ),
            60,
            what="log shipping restored",
        )
        wait_idle(kube_api, ns, "nksclusters", "demo")
    wait_polls(sim, 3)
    sent = sim.writes()["set_control_plane_log"]
    assert sent == (4 if labels == "shown" else 2), write_log(sim)

    # Refused before any call: enabled without the destination's settings, a missing key.
    patch(kubectl, ns, "nksc", "demo", {"spec": {"controlPlaneLog": {"destination": "obs"}}})
    found = wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "False", "InvalidSpec")
    assert "spec.controlPlaneLog.obs is required" in condition(found, "Ready")["message"]
    patch(
        kubectl,
        ns,
        "nksc",
        "demo",
        {
            "spec": {
                "controlPlaneLog": {
                    "destination": "lncs",
                    "lncs": {"appKeySecretRef": {"name": "lncs", "key": "missing"}},
                }
            }
        },
    )
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "False", "SecretKeyMissing")
    assert sim.writes()["set_control_plane_log"] == sent

    # Turned off.
    patch(kubectl, ns, "nksc", "demo", {"spec": {"controlPlaneLog": {"enabled": False}}})
    wait_for(
        lambda: sim.clusters()[0]["settings"]["control_plane_log"] == {"enable": False},
        60,
        what="log shipping stopped",
    )
    wait_idle(kube_api, ns, "nksclusters", "demo")
    wait_for(
        lambda: (
            (get(kube_api, "nksclusters", ns, "demo") or {})["status"]["controlPlaneLog"]["enabled"]
            is False
        ),
        30,
        what="status shows log shipping off",
    )
    for key in (first_key, second_key):
        assert leaks(operator, kube_api, ns, "demo", key) == []


def _disabled() -> Any:
    from nks_operator.nks.models import ControlPlaneLog

    return ControlPlaneLog(enable=False)


# -- etcd encryption and health -------------------------------------------------------------


def test_etcd_encryption_and_health(
    operator: OperatorProcess, e2e_namespace: str, kubectl: Any, kube_api: Any, sim: Sim
) -> None:
    ns = e2e_namespace
    credentials_secret(kubectl, ns, sim.url, sim.tenant)
    apply(kubectl, ns, cluster_manifest("demo", etcdEncryption={"keyID": SKM_KEY}))
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True", timeout=90)
    obj = wait_condition(kube_api, "nksclusters", ns, "demo", "Synced", "True", "Synced")
    assert sim.clusters()[0]["settings"]["skm"] == {"key_id": SKM_KEY}

    status = obj["status"]
    assert status["healthStatus"] == "FRESH"
    health = status["health"]
    assert health["freshness"] == "FRESH" and health["api"] == "OK"
    assert health["apiStatus"] == "NORMAL" and health["nodeStatus"] == "NORMAL"
    assert health["refreshedAt"].endswith("Z")
    assert health["nodeGroups"] == [
        {"name": "default-worker", "nodeStatus": "NORMAL", "readyNodes": 1, "notReadyNodes": 0}
    ]
    assert status["platformVersion"] == "1.202602.0"
    assert status["upgradableVersions"] == ["v1.30.3"]  # one minor step up from v1.29.3

    # The key is immutable: the operator reports the change and sends nothing.
    writes = sum(sim.writes().values())
    patch(kubectl, ns, "nksc", "demo", {"spec": {"etcdEncryption": {"keyID": "other-key"}}})
    found = wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "False", "InvalidSpec")
    assert "spec.etcdEncryption.keyID is immutable" in condition(found, "Ready")["message"]
    assert found["status"]["drift"] == ["spec.etcdEncryption.keyID"]
    wait_polls(sim, 3)
    assert sum(sim.writes().values()) == writes
    # Putting it back is the fix.
    patch(kubectl, ns, "nksc", "demo", {"spec": {"etcdEncryption": {"keyID": SKM_KEY}}})
    wait_condition(kube_api, "nksclusters", ns, "demo", "Ready", "True")
