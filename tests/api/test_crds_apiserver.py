"""The generated CRDs on a real kube-apiserver (1.20): accepted, enforced, defaulted, explained.

The CRDs are applied straight from the models (`crd_stream`), so a failure here is about the
generator, not about a stale crds/ (test_generated_files.py guards that).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from nks_operator.api import (
    CLUSTER,
    GROUP,
    NODEGROUP,
    RESOURCES,
    VERSION,
    NKSClusterStatus,
    NKSNodeGroupStatus,
    Resource,
)
from nks_operator.api.crd import (
    apply_defaults,
    crd_stream,
    custom_resource_definition,
    openapi_schema,
)
from tests.api.helpers import EXAMPLES, example_object
from tests.fixtures.kube import Kubectl

pytestmark = pytest.mark.kube

EXAMPLE_FILES = (
    "credentials-secret.yaml",
    "nkscluster-minimal.yaml",
    "nkscluster-full.yaml",
    "nksnodegroup.yaml",
    "nksnodegroup-metric-autoscaler.yaml",
)


@pytest.fixture(scope="module")
def crds(kubectl: Kubectl) -> list[str]:
    """The CRDs applied with kubectl, as users install them, and served."""
    kubectl("apply", "-f", "-", input=crd_stream())
    names = [f"crd/{resource.crd_name}" for resource in RESOURCES]
    kubectl("wait", "--for=condition=Established", *names, "--timeout=60s")
    deadline = time.monotonic() + 30
    while kubectl("get", "nksc,nksng", "-A", check=False).returncode != 0:
        assert time.monotonic() < deadline, "CRDs established but not served within 30s"
        time.sleep(0.3)
    return names


def get_json(kubectl: Kubectl, namespace: str, *what: str) -> dict[str, Any]:
    return json.loads(kubectl("get", "-n", namespace, *what, "-o", "json").stdout)


def apply(
    kubectl: Kubectl, namespace: str, body: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    # --validate=false: kubectl checks some rules itself from the published OpenAPI; these
    # tests are about the apiserver, the last line of defence (Argo CD, other clients).
    return kubectl(
        "apply", "-n", namespace, "-f", "-", "--validate=false", input=json.dumps(body), check=False
    )


def test_examples_are_accepted_and_defaulted_like_the_models(
    crds: list[str], kubectl: Kubectl, namespace: str
) -> None:
    for file_name in EXAMPLE_FILES:
        kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / file_name))
    cases = [
        (CLUSTER, "nkscluster-minimal.yaml"),
        (CLUSTER, "nkscluster-full.yaml"),
        (NODEGROUP, "nksnodegroup.yaml"),
        (NODEGROUP, "nksnodegroup-metric-autoscaler.yaml"),
    ]
    for resource, file_name in cases:
        model = resource.spec_model
        sent = example_object(file_name, resource.kind)
        stored = get_json(kubectl, namespace, resource.plural, sent["metadata"]["name"])["spec"]
        # The server's defaulting is the one `apply_defaults` mirrors ...
        schema = openapi_schema(resource)["properties"]["spec"]
        assert stored == apply_defaults(schema, sent["spec"]), file_name
        # ... and the operator reads the same model from what is stored as from what was sent.
        assert model.model_validate(stored) == model.model_validate(sent["spec"]), file_name
    minimal = get_json(kubectl, namespace, "nksc", "demo")["spec"]
    # No default for publicIP: unset, it follows the network (private here).
    assert minimal["apiEndpoint"] == {}
    assert minimal["defaultWorker"]["nodeCount"] == 1
    assert "autoscaler" not in minimal["defaultWorker"]


def test_null_reads_as_absent(crds: list[str], kubectl: Kubectl, namespace: str) -> None:
    body = example_object("nkscluster-minimal.yaml", CLUSTER.kind)
    body["spec"].update(clusterName=None, clusterID=None, apiEndpoint=None)
    result = apply(kubectl, namespace, body)
    assert result.returncode == 0, result.stderr
    stored = get_json(kubectl, namespace, "nksc", "demo")["spec"]
    assert "clusterName" not in stored and "clusterID" not in stored
    assert stored["apiEndpoint"] == {}


def cluster_with(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = copy.deepcopy(example_object("nkscluster-minimal.yaml", CLUSTER.kind))
    mutate(body["spec"])
    return body


def nodegroup_with(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = copy.deepcopy(example_object("nksnodegroup.yaml", NODEGROUP.kind))
    mutate(body["spec"])
    return body


INVALID: dict[str, tuple[dict[str, Any], list[str]]] = {
    "cluster name pattern": (
        cluster_with(lambda s: s.update(clusterName="1-Bad_name")),
        [
            'spec.clusterName: Invalid value: "1-Bad_name"',
            "should match '^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$'",
        ],
    ),
    "cluster name too long": (
        cluster_with(lambda s: s.update(clusterName="a" * 21)),
        ["spec.clusterName", "should be at most 20 chars long"],
    ),
    "nodeCount 0": (
        cluster_with(lambda s: s["defaultWorker"].update(nodeCount=0)),
        ["spec.defaultWorker.nodeCount", "should be greater than or equal to 1"],
    ),
    "region enum": (
        cluster_with(lambda s: s.update(region="jp1")),
        [
            'spec.region: Unsupported value: "jp1": supported values: "kr1", "kr2", "kr3", '
            '"KR1", "KR2", "KR3"'
        ],
    ),
    # The guide types these as UUID: refused by the server, before any NKS call.
    "VPC network not a UUID": (
        cluster_with(lambda s: s["network"].update(vpcNetworkID="not-a-uuid")),
        ['spec.network.vpcNetworkID: Invalid value: "not-a-uuid"', "at least 36 chars long"],
    ),
    "subnet UUID with a typo": (
        # The guide's stop_node example has a 13-digit last group.
        cluster_with(
            lambda s: s["network"].update(subnetID="bdaa560c-7a30-4249-9438-2df27fa1e9d38")
        ),
        ["spec.network.subnetID", "should be at most 36 chars long"],
    ),
    "flavor not a UUID": (
        cluster_with(lambda s: s["defaultWorker"].update(flavorID="m2.c4m8")),
        ["spec.defaultWorker.flavorID", "at least 36 chars long"],
    ),
    "image not a UUID": (
        # The UUID's shape, not hexadecimal.
        cluster_with(
            lambda s: s["defaultWorker"].update(imageID="ubuntu22-04cn-tain-erxx-imageimageim")
        ),
        ["spec.defaultWorker.imageID", "should match '^[0-9A-Fa-f]{8}-"],
    ),
    "service gateway not a UUID": (
        cluster_with(lambda s: s.update(serviceGateways={"ncr": "sgw-ncr-1"})),
        ["spec.serviceGateways.ncr", "at least 36 chars long"],
    ),
    "security group not a UUID": (
        cluster_with(
            lambda s: s["defaultWorker"].update(
                extraSecurityGroups=[
                    {
                        "targetSubnetID": "4fdf5b80-3d35-43f5-a5c1-010a3b6c8e90",
                        "securityGroupIDs": ["default"],
                    }
                ]
            )
        ),
        ["spec.defaultWorker.extraSecurityGroups", "securityGroupIDs", "at least 36 chars"],
    ),
    "missing network": (
        cluster_with(lambda s: s.pop("network")),
        ["spec.network: Required value"],
    ),
    "wrong type": (
        cluster_with(lambda s: s.update(strictSecurityGroupRules="yes")),
        ['spec.strictSecurityGroupRules: Invalid value: "string"', "must be of type boolean"],
    ),
    "node group nodeCount -1": (
        nodegroup_with(lambda s: s.update(nodeCount=-1)),
        ["spec.nodeCount", "should be greater than or equal to 0"],
    ),
    "stopped node not a UUID": (
        nodegroup_with(lambda s: s.update(stoppedNodes=["demo-pool-node-0"])),
        ["spec.stoppedNodes", "at least 36 chars long"],
    ),
    "node group deletionPolicy enum": (
        nodegroup_with(lambda s: s.update(deletionPolicy="Orphan")),
        ['spec.deletionPolicy: Unsupported value: "Orphan"', '"Delete", "Retain"'],
    ),
    "node group name pattern": (
        nodegroup_with(lambda s: s.update(nodeGroupName="Pool_1")),
        ["spec.nodeGroupName", "should match"],
    ),
    # Size bounds on maps (issue 17): their keys are the models' to check (test_bounds.py).
    "33 Argo CD labels": (
        cluster_with(lambda s: s.update(argocd={"labels": {f"k{i}": "v" for i in range(33)}})),
        ["spec.argocd.labels", "should have at most 32 properties"],
    ),
    "Argo CD label value not a label value": (
        cluster_with(lambda s: s.update(argocd={"labels": {"env": "v" * 64}})),
        ["spec.argocd.labels.env", "should be at most 63 chars long"],
    ),
    "17 add-on options": (
        cluster_with(
            lambda s: s.update(
                addons=[
                    {"name": "calico", "version": "v1", "options": {f"o{i}": "" for i in range(17)}}
                ]
            )
        ),
        ["spec.addons.options", "should have at most 16 properties"],
    ),
    "add-on option value of 257 characters": (
        cluster_with(
            lambda s: s.update(
                addons=[{"name": "calico", "version": "v1", "options": {"mode": "v" * 257}}]
            )
        ),
        ["spec.addons.options.mode", "should be at most 256 chars long"],
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_objects_are_rejected(
    case: str, crds: list[str], kubectl: Kubectl, namespace: str
) -> None:
    body, messages = INVALID[case]
    result = apply(kubectl, namespace, body)
    assert result.returncode != 0, f"{case}: accepted"
    for message in messages:
        assert message in result.stderr, f"{case}: {message!r} not in {result.stderr!r}"
    listed = kubectl("get", "-n", namespace, "nks", "-o", "name").stdout
    assert listed.strip() == "", f"{case}: something was stored: {listed}"


def test_explain_reads_the_descriptions(crds: list[str], kubectl: Kubectl) -> None:
    network = kubectl("explain", "nksclusters.spec.network").stdout
    schema = openapi_schema(CLUSTER)["properties"]["spec"]["properties"]["network"]
    flat = " ".join(network.split())
    assert schema["description"] in flat
    for name, sub in schema["properties"].items():
        assert name in network
        assert sub["description"] in flat, f"description of network.{name} not explained"
    assert "vpcNetworkID\t<string> -required-" in network

    root = " ".join(kubectl("explain", "nksnodegroup").stdout.split())
    assert NODEGROUP.description in root
    scale_down = " ".join(
        kubectl(
            "explain", "nksng.spec.autoscaler.scaleDown.utilizationThresholdPercent"
        ).stdout.split()
    )
    assert "Resource utilization below which a node counts as unneeded (percent)." in scale_down


def status_of(resource: Resource) -> dict[str, Any]:
    """A status as the operator writes it: a full model dump."""
    common: dict[str, Any] = {
        "observed_generation": 1,
        "phase": "Ready",
        "nks_status": "CREATE_COMPLETE",
        "health_status": "HEALTHY",
        "kubernetes_version": "v1.29.3",
        "node_count": 3,
        "node_addresses": ["192.168.0.11", "192.168.0.12", "192.168.0.13"],
        "last_operation": {
            "type": "CLUSTER_CREATE",
            "state": "Succeeded",
            "task_id": "t-1",
            "message": "created",
        },
        "last_task_id": 7,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Ready",
                "message": "NKS reports CREATE_COMPLETE",
                "last_transition_time": "2026-01-01T00:00:00Z",
                "observed_generation": 1,
            },
            {
                "type": "Synced",
                "status": "False",
                "reason": "OperationRefused",
                "message": "NKS refused the change",
                "last_transition_time": "2026-01-01T00:00:00Z",
                "observed_generation": 1,
            },
        ],
    }
    if resource is CLUSTER:
        status = NKSClusterStatus.model_validate(
            {
                **common,
                "cluster_id": "11111111-2222-3333-4444-555555555555",
                "api_address": "https://203.0.113.10:6443",
                "kubeconfig_secret_name": "demo-kubeconfig",
            }
        )
    else:
        status = NKSNodeGroupStatus.model_validate(
            {**common, "node_group_id": "66666666-7777-8888-9999-000000000000"}
        )
    return status.model_dump(by_alias=True, exclude_none=True, mode="json")


def test_status_round_trip_and_printer_columns(
    crds: list[str], kubectl: Kubectl, kube_api: client.ApiClient, namespace: str
) -> None:
    custom = client.CustomObjectsApi(kube_api)
    for file_name in EXAMPLE_FILES:
        kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / file_name))
    for resource, name in ((CLUSTER, "demo"), (NODEGROUP, "demo-pool")):
        status = status_of(resource)
        patched = custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            namespace,
            resource.plural,
            name,
            {"status": status},
            _content_type="application/merge-patch+json",
        )
        assert patched["status"] == status, "the status schema pruned or changed something"
        assert resource.status_model.model_validate(patched["status"]) == (
            resource.status_model.model_validate(status)
        )

    table = kubectl("get", "-n", namespace, "nksc", "demo").stdout.splitlines()
    assert table[0].split() == ["NAME", "PHASE", "VERSION", "NODES", "READY", "SYNCED", "AGE"]
    assert table[1].split()[:6] == ["demo", "Ready", "v1.29.3", "3", "True", "False"]
    wide = kubectl("get", "-n", namespace, "nksc", "demo", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[6:9] == ["REASON", "CLUSTERID", "ENDPOINT"]
    assert wide[1].split()[6:9] == [
        "OperationRefused",
        "11111111-2222-3333-4444-555555555555",
        "https://203.0.113.10:6443",
    ]

    groups = kubectl("get", "-n", namespace, "nksng", "demo-pool").stdout.splitlines()
    assert groups[0].split() == [
        "NAME",
        "CLUSTER",
        "PHASE",
        "VERSION",
        "NODES",
        "READY",
        "SYNCED",
        "AGE",
    ]
    assert groups[1].split()[:7] == ["demo-pool", "demo", "Ready", "v1.29.3", "3", "True", "False"]

    # The category lists both kinds.
    everything = kubectl("get", "-n", namespace, "nks", "-o", "name").stdout.split()
    assert f"nkscluster.{GROUP}/demo" in everything
    assert f"nksnodegroup.{GROUP}/demo-pool" in everything


def test_status_schema_is_enforced(
    crds: list[str], kubectl: Kubectl, kube_api: client.ApiClient, namespace: str
) -> None:
    kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / "nkscluster-minimal.yaml"))
    custom = client.CustomObjectsApi(kube_api)
    with pytest.raises(client.ApiException) as rejected:
        custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            namespace,
            CLUSTER.plural,
            "demo",
            {"status": {"phase": "Exploded"}},
            _content_type="application/merge-patch+json",
        )
    assert rejected.value.status == 422
    assert (
        'status.phase: Unsupported value: "Exploded"' in json.loads(rejected.value.body)["message"]
    )


def test_zero_values_are_accepted(
    crds: list[str], kubectl: Kubectl, kube_api: client.ApiClient, namespace: str
) -> None:
    """ "", 0 and false are values, not null - for the apiserver as for the models.

    Users write `userScript: ""`; a condition's message is never empty when the operator
    writes it (status_dict drops "", and the model makes the reason the message), but an
    empty one is still a value of the required field. A
    kube-apiserver whose vendored go-openapi/validate compares reflect.Values with DeepEqual
    (any 1.20 built with Go >= 1.16; kubernetes/kubernetes#99804) rejects "" as null: that
    is a broken test apiserver, to be fixed where the binaries are built.
    """
    body = example_object("nksnodegroup.yaml", NODEGROUP.kind)
    body["spec"].update(userScript="", rollout={"bufferNodes": 0}, autoscaler={"enabled": False})
    result = apply(kubectl, namespace, body)
    assert result.returncode == 0, f"zero values rejected (see docstring): {result.stderr}"
    stored = get_json(kubectl, namespace, "nksng", "demo-pool")["spec"]
    assert (stored["userScript"], stored["rollout"]["bufferNodes"]) == ("", 0)

    status = status_of(NODEGROUP)
    status["conditions"][0]["message"] = ""
    patched = client.CustomObjectsApi(kube_api).patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        NODEGROUP.plural,
        "demo-pool",
        {"status": status},
        _content_type="application/merge-patch+json",
    )
    assert patched["status"]["conditions"][0]["message"] == ""


# -- conditions: metav1.Condition's rules, enforced by the apiserver ---------------------


def _condition(**changes: Any) -> dict[str, Any]:
    condition = {
        "type": "Ready",
        "status": "False",
        "reason": "Provisioning",
        "message": "NKS reports CREATE_IN_PROGRESS",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "observedGeneration": 1,
    }
    condition.update(changes)
    return {key: value for key, value in condition.items() if value is not None}


def _patch_conditions(
    kube_api: client.ApiClient, namespace: str, resource: Resource, name: str, listed: list[Any]
) -> dict[str, Any]:
    return client.CustomObjectsApi(kube_api).patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        resource.plural,
        name,
        {"status": {"conditions": listed}},
        _content_type="application/merge-patch+json",
    )


# 1.20 names the list (`status.conditions.type`), later releases the item (`...[0].type`).
_ITEM = r"status\.conditions(\[0\])?\."
REFUSED_CONDITIONS: dict[str, tuple[list[dict[str, Any]], str]] = {
    **{
        f"no {field}": ([_condition(**{field: None})], _ITEM + f"{field}: Required value")
        for field in ("type", "status", "reason", "message", "lastTransitionTime")
    },
    "reason with a space": (
        [_condition(reason="Not Ready")],
        _ITEM + "reason in body should match",
    ),
    "reason starting with a digit": (
        [_condition(reason="1stTry")],
        _ITEM + "reason in body should match",
    ),
    "time that is not RFC 3339": (
        [_condition(lastTransitionTime="yesterday")],
        _ITEM + "lastTransitionTime in body must be of type date-time",
    ),
    "status outside the enum": (
        [_condition(status="Maybe")],
        _ITEM + 'status: Unsupported value: "Maybe"',
    ),
}


def _example(resource: Resource) -> tuple[str, str]:
    """(example file, object name) of a kind."""
    if resource is CLUSTER:
        return "nkscluster-minimal.yaml", "demo"
    return "nksnodegroup.yaml", "demo-pool"


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
@pytest.mark.parametrize("case", list(REFUSED_CONDITIONS))
def test_conditions_outside_metav1_rules_are_refused(
    case: str,
    resource: Resource,
    crds: list[str],
    kubectl: Kubectl,
    kube_api: client.ApiClient,
    namespace: str,
) -> None:
    example, name = _example(resource)
    kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / example))
    listed, expected = REFUSED_CONDITIONS[case]
    with pytest.raises(client.ApiException) as refused:
        _patch_conditions(kube_api, namespace, resource, name, listed)
    assert refused.value.status == 422, refused.value.body
    message = json.loads(refused.value.body)["message"]
    assert re.search(expected, message), message
    stored = get_json(kubectl, namespace, resource.plural, name)
    assert "conditions" not in stored.get("status", {}), "a refused status was stored"


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
def test_valid_conditions_are_accepted_as_written(
    resource: Resource,
    crds: list[str],
    kubectl: Kubectl,
    kube_api: client.ApiClient,
    namespace: str,
) -> None:
    """What conditions.apply writes: one of each type, reasons that are NKS task types
    included, a message that falls back to the reason."""
    from nks_operator.reconcile import conditions as updates

    example, name = _example(resource)
    kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / example))
    written = updates.apply(
        [],
        [
            updates.ConditionUpdate("Ready", "True", "ClusterReady"),
            updates.ConditionUpdate("Synced", "False", "NKSUnavailable", "NKS call failed: 503"),
            updates.ConditionUpdate("Progressing", "True", "NODEGROUP_UPGRADE", "upgrading"),
        ],
        generation=1,
        now="2026-01-01T00:00:00Z",
    )
    listed = [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in written]
    assert all(c["message"] for c in listed)
    patched = _patch_conditions(kube_api, namespace, resource, name, listed)
    assert patched["status"]["conditions"] == listed
    assert resource.status_model.model_validate(patched["status"]).conditions == written


# Two conditions of one type. The list-map makes the apiserver refuse them - on create and
# update, and through server-side apply. A merge patch of /status is checked against the
# list type only from Kubernetes 1.26 (kubernetes/kubernetes#106401, fixed by #111866), so
# our 1.20 apiserver lets that one through; the operator never writes two of a type
# (conditions.apply keys them by type).
_TWO_READY = [_condition(), _condition(status="True", reason="ClusterReady")]


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
def test_two_ready_conditions_are_refused_by_server_side_apply(
    resource: Resource,
    crds: list[str],
    kubectl: Kubectl,
    kube_api: client.ApiClient,
    namespace: str,
) -> None:
    example, name = _example(resource)
    kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / example))
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": resource.kind,
        "metadata": {"name": name},
        "status": {"conditions": _TWO_READY},
    }
    with pytest.raises(client.ApiException) as refused:
        client.CustomObjectsApi(kube_api).patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            namespace,
            resource.plural,
            name,
            body,
            _content_type="application/apply-patch+yaml",
            field_manager="test",
            force=True,
        )
    assert 'duplicate entries for key [type=\\"Ready\\"]' in refused.value.body
    stored = get_json(kubectl, namespace, resource.plural, name)
    assert "conditions" not in stored.get("status", {})


PROBE_GROUP = "schema-probe.nks.test"


@pytest.fixture(scope="module")
def probe_crds(kubectl: Kubectl) -> Iterator[dict[str, str]]:
    """The generated CRDs under another group, without the status subresource: there the
    apiserver validates status on create like any other field, with every rule the
    schema holds (the uniqueness of a list-map's keys included). Kind -> plural."""
    documents = []
    for resource in RESOURCES:
        crd = custom_resource_definition(resource)
        crd["metadata"]["name"] = f"{resource.plural}.{PROBE_GROUP}"
        crd["spec"]["group"] = PROBE_GROUP
        # Neither short names nor the `nks` category: `kubectl get nks` stays the real kinds'.
        crd["spec"]["names"] = {
            key: crd["spec"]["names"][key] for key in ("kind", "listKind", "plural", "singular")
        }
        for version in crd["spec"]["versions"]:
            del version["subresources"]
        documents.append(json.dumps(crd))
    kubectl("apply", "-f", "-", input="\n".join(documents))
    names = [f"crd/{resource.plural}.{PROBE_GROUP}" for resource in RESOURCES]
    kubectl("wait", "--for=condition=Established", *names, "--timeout=60s")
    deadline = time.monotonic() + 30
    plurals = ",".join(f"{resource.plural}.{PROBE_GROUP}" for resource in RESOURCES)
    while kubectl("get", plurals, "-A", check=False).returncode != 0:
        assert time.monotonic() < deadline, "probe CRDs established but not served within 30s"
        time.sleep(0.3)
    yield {resource.kind: resource.plural for resource in RESOURCES}
    kubectl("delete", *names, "--wait=false")


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
@pytest.mark.parametrize("two_ready", [True, False], ids=["two Ready", "Ready and Synced"])
def test_the_schema_refuses_two_conditions_of_one_type(
    resource: Resource,
    two_ready: bool,
    probe_crds: dict[str, str],
    kube_api: client.ApiClient,
    namespace: str,
) -> None:
    example, _ = _example(resource)
    body = example_object(example, resource.kind)
    body["apiVersion"] = f"{PROBE_GROUP}/{VERSION}"
    listed = _TWO_READY if two_ready else [_condition(), _condition(type="Synced")]
    body["status"] = {"conditions": listed}
    custom = client.CustomObjectsApi(kube_api)
    create = functools.partial(
        custom.create_namespaced_custom_object,
        PROBE_GROUP,
        VERSION,
        namespace,
        probe_crds[resource.kind],
        body,
    )
    if not two_ready:
        assert create()["status"]["conditions"] == listed
        return
    with pytest.raises(client.ApiException) as refused:
        create()
    assert refused.value.status == 422, refused.value.body
    message = json.loads(refused.value.body)["message"]
    assert 'status.conditions[1]: Duplicate value: map[string]interface {}{"type":"Ready"}' in (
        message
    ), message


def test_uuids_upper_case_regions_and_empty_node_groups_are_accepted(
    crds: list[str], kubectl: Kubectl, namespace: str
) -> None:
    cluster = cluster_with(
        lambda s: s.update(
            region="KR2",
            network={
                **s["network"],
                "vpcNetworkID": s["network"]["vpcNetworkID"].upper(),  # hex in either case
            },
        )
    )
    assert (result := apply(kubectl, namespace, cluster)).returncode == 0, result.stderr
    stored = get_json(kubectl, namespace, "nksc", "demo")["spec"]
    assert CLUSTER.spec_model.model_validate(stored).region == "kr2"  # the model's form
    group = nodegroup_with(lambda s: s.update(nodeCount=0))
    assert (result := apply(kubectl, namespace, group)).returncode == 0, result.stderr
    assert get_json(kubectl, namespace, "nksng", "demo-pool")["spec"]["nodeCount"] == 0
