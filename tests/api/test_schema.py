"""The generated CRDs: structural by Kubernetes' rules, documented, and faithful to the models.

The apiserver tests (test_crds_apiserver.py) check the same CRDs against a real server;
these run in milliseconds and point at the exact field when a model change breaks a rule.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from nks_operator.api import CLUSTER, GROUP, NODEGROUP, RESOURCES, VERSION, Resource
from nks_operator.api.crd import (
    apply_defaults,
    custom_resource_definition,
    describe,
    openapi_schema,
)
from tests.api.helpers import example_object, schema_nodes, without_empty_lists

ALLOWED_KEYS = {
    "description",
    "type",
    "format",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "default",
    "items",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "properties",
    "additionalProperties",
    "required",
}
TYPES = {"object", "array", "string", "integer", "number", "boolean"}
EXAMPLES = {
    CLUSTER.kind: ("nkscluster-minimal.yaml", "nkscluster-full.yaml"),
    NODEGROUP.kind: ("nksnodegroup.yaml", "nksnodegroup-metric-autoscaler.yaml"),
}


def ids(resource: Resource) -> str:
    return resource.kind


@pytest.fixture(params=RESOURCES, ids=ids)
def resource(request: pytest.FixtureRequest) -> Resource:
    return request.param


def all_nodes(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    return schema_nodes(openapi_schema(resource), resource.kind)


def test_only_structural_keywords(resource: Resource) -> None:
    for path, node in all_nodes(resource):
        unexpected = set(node) - ALLOWED_KEYS
        assert not unexpected, f"{path}: {sorted(unexpected)}"
        assert node.get("additionalProperties") is not False, path


def test_every_node_has_a_type(resource: Resource) -> None:
    for path, node in all_nodes(resource):
        assert node.get("type") in TYPES, f"{path}: type {node.get('type')!r}"


def test_every_property_is_described(resource: Resource) -> None:
    root = openapi_schema(resource)
    assert root["description"] == resource.description
    for path, node in schema_nodes(root, resource.kind):
        for name, sub in node.get("properties", {}).items():
            if node is root and name == "metadata":
                # The apiserver allows only `type` there and documents ObjectMeta itself.
                assert sub == {"type": "object"}
                continue
            description = sub.get("description", "")
            assert description.strip(), f"{path}.{name} has no description"
            for paragraph in description.split("\n\n"):
                assert paragraph == " ".join(paragraph.split()), f"{path}.{name}: {paragraph!r}"


def test_every_array_has_a_list_type(resource: Resource) -> None:
    """So that server-side apply and Argo CD merge each list as meant; atomic unless the
    items have an identity (a set of scalars, a map keyed by fields)."""
    for path, node in all_nodes(resource):
        if node["type"] == "array":
            assert node.get("x-kubernetes-list-type") in ("atomic", "set", "map"), path
        else:
            assert "x-kubernetes-list-type" not in node, path


def test_conditions_are_a_metav1_condition_list_map(resource: Resource) -> None:
    """The shape of metav1.Condition (k8s.io/apimachinery/pkg/apis/meta/v1/types.go)."""
    conditions = openapi_schema(resource)["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert set(item["required"]) == {"type", "status", "reason", "message", "lastTransitionTime"}
    fields = item["properties"]
    assert fields["type"]["maxLength"] == 316
    assert fields["type"]["pattern"] == (
        r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
        r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
    )
    assert fields["status"]["enum"] == ["True", "False", "Unknown"]
    assert fields["reason"]["pattern"] == r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
    assert (fields["reason"]["minLength"], fields["reason"]["maxLength"]) == (1, 1024)
    assert fields["message"]["maxLength"] == 32768
    assert fields["lastTransitionTime"] == {
        "description": fields["lastTransitionTime"]["description"],
        "type": "string",
        "format": "date-time",
    }
    assert fields["observedGeneration"]["minimum"] == 0


def test_required_fields_are_properties(resource: Resource) -> None:
    for path, node in all_nodes(resource):
        missing = set(node.get("required", ())) - set(node.get("properties", {}))
        assert not missing, f"{path}: required but not a property: {missing}"


def test_root_layout(resource: Resource) -> None:
    root = openapi_schema(resource)
    assert list(root["properties"]) == ["apiVersion", "kind", "metadata", "spec", "status"]
    assert root["required"] == ["spec"]
    assert root["properties"]["spec"]["description"] == describe(resource.spec_model.__doc__ or "")
    assert root["properties"]["status"]["description"] == describe(
        resource.status_model.__doc__ or ""
    )


def test_crd_names_scope_and_version(resource: Resource) -> None:
    crd = custom_resource_definition(resource)
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{resource.plural}.{GROUP}"
    spec = crd["spec"]
    assert spec["group"] == GROUP
    assert spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": resource.kind,
        "listKind": f"{resource.kind}List",
        "plural": resource.plural,
        "singular": resource.singular,
        "shortNames": list(resource.short_names),
        "categories": ["nks"],
    }
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == (VERSION, True, True)
    assert version["subresources"] == {"status": {}}
    columns = [(c["name"], c["type"], c["jsonPath"]) for c in version["additionalPrinterColumns"]]
    assert columns == [(c.name, c.type, c.json_path) for c in resource.printer_columns]


def test_short_names_and_columns_the_issue_asks_for() -> None:
    assert CLUSTER.short_names == ("nksc",)
    assert NODEGROUP.short_names == ("nksng",)
    for resource in RESOURCES:
        shown = [c.name for c in resource.printer_columns if not c.priority]
        for name in ("Phase", "Version", "Nodes", "Ready", "Age"):
            assert name in shown, f"{resource.kind} lacks printer column {name}"


def test_status_has_no_defaults(resource: Resource) -> None:
    status = openapi_schema(resource)["properties"]["status"]
    for path, node in schema_nodes(status, "status"):
        assert "default" not in node, path


def test_optional_objects_have_no_default() -> None:
    spec = openapi_schema(CLUSTER)["properties"]["spec"]["properties"]
    # Absent means "not managed" / "off": a server-made {} would change the meaning.
    assert "default" not in spec["apiEndpoint"]["properties"]["ipAccessControl"]
    assert "default" not in spec["defaultWorker"]["properties"]["autoscaler"]
    assert "default" not in spec["credentialsRef"]
    assert spec["apiEndpoint"]["default"] == {}
    assert spec["certificate"]["default"] == {}


def test_name_pattern_and_limits_are_in_the_schema() -> None:
    spec = openapi_schema(CLUSTER)["properties"]["spec"]["properties"]
    name = spec["clusterName"]
    assert name["maxLength"] == 20
    for good in ("a", "demo", "prod-kr2", "a" * 20):
        assert re.search(name["pattern"], good), good
    for bad in ("1demo", "-demo", "demo-", "Demo", "de_mo", "a" * 21):
        assert not re.search(name["pattern"], bad), bad
    worker = spec["defaultWorker"]["properties"]
    assert (worker["nodeCount"]["minimum"], worker["nodeCount"]["maximum"]) == (1, 100)
    assert spec["region"]["enum"] == ["kr1", "kr2", "kr3", "KR1", "KR2", "KR3"]  # NHN writes KR1
    assert set(spec) >= {"region", "kubernetesVersion", "keypair", "network", "defaultWorker"}
    assert set(openapi_schema(CLUSTER)["properties"]["spec"]["required"]) == {
        "region",
        "kubernetesVersion",
        "keypair",
        "network",
        "defaultWorker",
    }


# -- server-side defaults == model defaults --------------------------------------------------


def defaulting_cases() -> Iterator[tuple[Resource, dict[str, Any]]]:
    for resource in RESOURCES:
        for file_name in EXAMPLES[resource.kind]:
            yield resource, example_object(file_name, resource.kind)["spec"]
    minimal = example_object("nkscluster-minimal.yaml", CLUSTER.kind)["spec"]
    partial = copy.deepcopy(minimal)
    partial["apiEndpoint"] = {"ipAccessControl": {}}
    partial["defaultWorker"]["autoscaler"] = {"scaleDown": {"enabled": False}}
    partial["certificate"] = {"validityYears": 2}
    yield CLUSTER, partial


@pytest.mark.parametrize(("resource", "spec"), list(defaulting_cases()))
def test_server_defaults_equal_model_defaults(resource: Resource, spec: dict[str, Any]) -> None:
    """What the apiserver stores is exactly what the model makes of the user's object."""
    schema = openapi_schema(resource)["properties"]["spec"]
    defaulted = apply_defaults(schema, spec)
    model = resource.spec_model.model_validate(spec)
    expected = without_empty_lists(model.model_dump(by_alias=True, exclude_none=True, mode="json"))
    assert defaulted == expected
    assert resource.spec_model.model_validate(defaulted) == model


def test_apply_defaults_prunes_nulls_like_the_apiserver() -> None:
    schema = openapi_schema(CLUSTER)["properties"]["spec"]
    spec = example_object("nkscluster-minimal.yaml", CLUSTER.kind)["spec"]
    spec = {**spec, "clusterName": None, "apiEndpoint": None, "certificate": None}
    defaulted = apply_defaults(schema, spec)
    assert "clusterName" not in defaulted
    # An object that builds from nothing comes back with its defaults; publicIP has none
    # (it follows the network), so the endpoint is an empty object.
    assert defaulted["apiEndpoint"] == {}
    assert defaulted["certificate"] == {
        "validityYears": 5,
        "autoRenew": True,
        "renewBeforeDays": 30,
    }


# -- every schema constraint is enforced by the model too ------------------------------------


def get_path(document: Any, path: list[str | int]) -> Any:
    for step in path:
        document = document[step]
    return document


REMOVE = object()  # stands for "leave the field out"


def violations(node: Mapping[str, Any], current: Any, required: bool) -> Iterator[tuple[str, Any]]:
    """(constraint, value breaking it) for the constraints of one schema node."""
    if required:
        yield "required", REMOVE
    if "enum" in node:
        yield "enum", "not-in-the-enum"
    if "pattern" in node and not re.search(node["pattern"], "!"):
        yield "pattern", "!"
    if "minLength" in node and node["minLength"] > 0:
        yield "minLength", ""
    if "maxLength" in node:
        yield "maxLength", "a" * (node["maxLength"] + 1)
    if "minimum" in node:
        yield "minimum", node["minimum"] - 1
    if "maximum" in node:
        yield "maximum", node["maximum"] + 1
    if "minItems" in node and node["minItems"] > 0:
        yield "minItems", []
    if "maxItems" in node:
        yield "maxItems", [current[0]] * (node["maxItems"] + 1)
    if "maxProperties" in node:
        value = next(iter(current.values()))
        yield "maxProperties", {f"k{i}": value for i in range(node["maxProperties"] + 1)}
    if "additionalProperties" in node and "maxLength" in node["additionalProperties"]:
        limit = node["additionalProperties"]["maxLength"]
        yield "value maxLength", {next(iter(current)): "a" * (limit + 1)}
    wrong = {"string": 12, "integer": "twelve", "boolean": "maybe", "array": "x", "object": "x"}
    yield "type", wrong[node["type"]]


def constraint_cases() -> Iterator[tuple[Resource, str, list[str | int], str, Any]]:
    files = {CLUSTER.kind: "nkscluster-full.yaml", NODEGROUP.kind: "nksnodegroup.yaml"}
    for resource in RESOURCES:
        spec = example_object(files[resource.kind], resource.kind)["spec"]
        schema = openapi_schema(resource)["properties"]["spec"]
        stack: list[tuple[Mapping[str, Any], list[str | int]]] = [(schema, [])]
        while stack:
            node, path = stack.pop()
            for name, sub in node.get("properties", {}).items():
                sub_path = [*path, name]
                try:
                    current = get_path(spec, sub_path)
                except (KeyError, IndexError):
                    continue  # not in this example; the full example covers every field
                required = name in node.get("required", ())
                for constraint, value in violations(sub, current, required):
                    yield resource, ".".join(map(str, sub_path)), sub_path, constraint, value
                if "properties" in sub:
                    stack.append((sub, sub_path))
                elif sub["type"] == "array" and "properties" in sub["items"]:
                    stack.append((sub["items"], [*sub_path, 0]))


CONSTRAINT_CASES = list(constraint_cases())


def test_constraint_cases_cover_the_schema() -> None:
    # Guards the generator above: it must find the constraints, or the next test proves nothing.
    found = {(case[1], case[3]) for case in CONSTRAINT_CASES}
    assert ("clusterName", "pattern") in found
    assert ("defaultWorker.nodeCount", "minimum") in found
    assert ("defaultWorker.extraVolumes", "maxItems") in found
    assert ("apiEndpoint.ipAccessControl.targets.0.cidr", "pattern") in found
    assert ("network.vpcNetworkID", "required") in found
    assert ("addons.0.options", "maxProperties") in found
    assert ("addons.0.options", "value maxLength") in found
    assert ("argocd.labels", "maxProperties") in found
    assert ("clusterRef", "required") in found
    assert len(CONSTRAINT_CASES) > 100


@pytest.mark.parametrize(
    ("resource", "field", "path", "constraint", "value"),
    CONSTRAINT_CASES,
    ids=[f"{c[0].kind}.{c[1]}-{c[3]}" for c in CONSTRAINT_CASES],
)
def test_model_enforces_schema_constraint(
    resource: Resource, field: str, path: list[str | int], constraint: str, value: Any
) -> None:
    files = {CLUSTER.kind: "nkscluster-full.yaml", NODEGROUP.kind: "nksnodegroup.yaml"}
    spec = example_object(files[resource.kind], resource.kind)["spec"]
    parent = get_path(spec, path[:-1])
    if value is REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    model: type[BaseModel] = resource.spec_model
    with pytest.raises(ValidationError):
        model.model_validate(spec)
