"""Every spec value has a size bound, so one resource cannot bloat etcd, the operator's
memory or what it sends to NKS (issue 17, "Bounded").

The schema walk covers every CRD the operator installs, so a field added later without a
bound fails here. Map keys cannot be bounded in a structural schema on Kubernetes 1.20
(no `propertyNames`, no CEL): the models check them, and a test below holds every map of
the user-facing kinds to that. Status is deliberately unbounded (see `api.crd`): its
values come from NKS's answers, and a status write the apiserver refused would block the
operator.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from nks_operator.api import CLUSTER, NODEGROUP, NKSClusterSpec
from nks_operator.api.base import label_key_problem
from nks_operator.api.crd import crd_files
from nks_operator.api.problems import format_validation_error
from nks_operator.api.resources import CRD_RESOURCES, Resource
from tests.api.helpers import example_object, schema_nodes

EXAMPLE = {CLUSTER.kind: "nkscluster-full.yaml", NODEGROUP.kind: "nksnodegroup.yaml"}


def unbounded(schema: Mapping[str, Any], path: str) -> Iterator[str]:
    """Each node of `schema` whose size has no bound, with what it lacks."""
    for where, node in schema_nodes(schema, path):
        kind = node.get("type")
        if kind == "string" and "enum" not in node and "maxLength" not in node:
            yield f"{where}: a string without maxLength (or enum)"
        elif kind == "array" and "maxItems" not in node:
            yield f"{where}: an array without maxItems"
        elif kind == "object" and "additionalProperties" in node and "maxProperties" not in node:
            yield f"{where}: a map without maxProperties"


def generated_spec_schemas() -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(kind, spec schema) of every generated CRD file, read as the apiserver gets it."""
    for text in crd_files().values():
        crd = yaml.safe_load(text)
        kind = crd["spec"]["names"]["kind"]
        (version,) = crd["spec"]["versions"]
        yield kind, version["schema"]["openAPIV3Schema"]["properties"]["spec"]


SPECS = dict(generated_spec_schemas())


def test_every_crd_is_walked() -> None:
    assert set(SPECS) == {resource.kind for resource in CRD_RESOURCES}


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_every_spec_value_is_bounded(kind: str) -> None:
    problems = list(unbounded(SPECS[kind], f"{kind}.spec"))
    assert not problems, "bound these in the model (max_length):\n" + "\n".join(problems)


def test_the_walk_finds_what_lacks_a_bound() -> None:
    """Guards the walk itself: else the test above would prove nothing."""
    schema = {
        "type": "object",
        "properties": {
            "free": {"type": "string"},
            "choice": {"type": "string", "enum": ["a"]},
            "list": {"type": "array", "items": {"type": "string", "maxLength": 3}},
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
            "object": {"type": "object", "properties": {"n": {"type": "integer"}}},
        },
    }
    assert sorted(unbounded(schema, "s")) == [
        "s.free: a string without maxLength (or enum)",
        "s.list: an array without maxItems",
        "s.map.<key>: a string without maxLength (or enum)",
        "s.map: a map without maxProperties",
    ]


def test_the_bounds_chosen() -> None:
    spec = SPECS[CLUSTER.kind]["properties"]
    labels = spec["argocd"]["properties"]["labels"]
    assert labels["maxProperties"] == 32
    assert labels["additionalProperties"]["maxLength"] == 63  # a Kubernetes label value
    options = spec["addons"]["items"]["properties"]["options"]
    assert options["maxProperties"] == 16
    assert options["additionalProperties"]["maxLength"] == 256
    # A user script: 65,536 characters, counted the same way by the apiserver and the model
    # (at most 256 KiB of UTF-8, 342 KiB in base64 on the wire).
    assert spec["defaultWorker"]["properties"]["userScript"]["maxLength"] == 65536
    assert SPECS[NODEGROUP.kind]["properties"]["userScript"]["maxLength"] == 65536


# -- map keys: checked by the models ---------------------------------------------------------


def map_paths(resource: Resource) -> list[list[str | int]]:
    """Where the spec of `resource` has maps, as paths into an example (index 0 for lists)."""
    found = []
    for where, node in schema_nodes(SPECS[resource.kind]):
        if node.get("type") == "object" and "additionalProperties" in node:
            path: list[str | int] = []
            for step in where.removeprefix(".").split("."):
                path += [step.removesuffix("[]"), 0] if step.endswith("[]") else [step]
            found.append(path)
    return found


def map_cases() -> Iterator[tuple[Resource, list[str | int]]]:
    for resource in (CLUSTER, NODEGROUP):
        for path in map_paths(resource):
            yield resource, path


MAP_CASES = list(map_cases())


def test_the_maps_are_found() -> None:
    found = {(resource.kind, ".".join(map(str, path))) for resource, path in MAP_CASES}
    assert found == {
        ("NKSCluster", "addons.0.options"),
        ("NKSCluster", "argocd.labels"),
        ("NKSCluster", "defaultWorker.nodeLabels"),
        ("NKSNodeGroup", "nodeLabels"),
    }


@pytest.mark.parametrize(
    ("resource", "path"),
    MAP_CASES,
    ids=[f"{r.kind}.{'.'.join(map(str, p))}" for r, p in MAP_CASES],
)
def test_every_map_key_is_checked_by_the_model(resource: Resource, path: list[str | int]) -> None:
    spec = copy.deepcopy(example_object(EXAMPLE[resource.kind], resource.kind)["spec"])
    target: Any = spec
    for step in path:
        target = target[step]
    assert target, f"examples/{EXAMPLE[resource.kind]} has no entry at {path}"
    target["bad key!"] = next(iter(target.values()))
    with pytest.raises(ValidationError) as caught:
        resource.spec_model.model_validate(spec)
    (problem,) = format_validation_error(caught.value)
    dotted = ".".join(map(str, path))
    assert problem.startswith(f"spec.{dotted}.bad key!.[key]: 'bad key!' is not a valid ")


# -- argocd.labels: Kubernetes label syntax --------------------------------------------------

GOOD_KEYS = [
    "env",
    "a",
    "A1",
    "team_name",
    "app.kubernetes.io/name",
    "example.com/x",
    "a" * 63,
    f"{'p' * 63}.{'q' * 63}.{'r' * 63}.{'s' * 61}/{'n' * 63}",  # prefix of 253
]
BAD_KEYS = {
    "": "the name must be 1..63",
    "a" * 64: "the name must be 1..63",
    "-env": "beginning and ending with a letter or digit",
    "env-": "beginning and ending with a letter or digit",
    "bad key": "the name must be",
    "ümlaut": "the name must be",
    "a/b/c": "at most one '/'",
    "/env": "the prefix before '/' must be a DNS subdomain",
    "Example.com/env": "the prefix before '/' must be a DNS subdomain",
    "example..com/env": "the prefix before '/' must be a DNS subdomain",
    f"{'p' * 63}.{'q' * 63}.{'r' * 63}.{'s' * 62}/env": "at most 253 characters",
    "example.com/": "the name must be 1..63",
    "env\n": "the name must be",
}
GOOD_VALUES = ["", "production", "v1.2.3", "a_b-c.d", "x" * 63]
BAD_VALUES = ["x" * 64, "-prod", "prod-", "has space", "ümlaut", "prod\n", "a/b"]


def cluster_with_labels(labels: dict[str, str]) -> dict[str, Any]:
    spec = copy.deepcopy(example_object("nkscluster-minimal.yaml", CLUSTER.kind)["spec"])
    spec["argocd"] = {"enabled": True, "labels": labels}
    return spec


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_label_keys_kubernetes_accepts(key: str) -> None:
    assert label_key_problem(key) is None
    parsed = NKSClusterSpec.model_validate(cluster_with_labels({key: "v"}))
    assert parsed.argocd is not None and parsed.argocd.labels == {key: "v"}


@pytest.mark.parametrize("key", list(BAD_KEYS), ids=repr)
def test_label_keys_kubernetes_refuses(key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        NKSClusterSpec.model_validate(cluster_with_labels({key: "v"}))
    (problem,) = format_validation_error(caught.value)
    assert problem.startswith(f"spec.argocd.labels.{key}.[key]: {key!r} is not a valid ")
    assert "Kubernetes label key" in problem
    assert BAD_KEYS[key] in problem


@pytest.mark.parametrize("value", GOOD_VALUES)
def test_label_values_kubernetes_accepts(value: str) -> None:
    NKSClusterSpec.model_validate(cluster_with_labels({"env": value}))


@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_label_values_kubernetes_refuses(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        NKSClusterSpec.model_validate(cluster_with_labels({"env": value}))
    (problem,) = format_validation_error(caught.value)
    assert problem.startswith("spec.argocd.labels.env: String should ")


def test_too_many_labels_are_refused_naming_the_field() -> None:
    NKSClusterSpec.model_validate(cluster_with_labels({f"k{i}": "v" for i in range(32)}))
    with pytest.raises(ValidationError) as caught:
        NKSClusterSpec.model_validate(cluster_with_labels({f"k{i}": "v" for i in range(33)}))
    assert format_validation_error(caught.value) == [
        "spec.argocd.labels: Dictionary should have at most 32 items after validation, not more"
    ]


# -- addons[].options ------------------------------------------------------------------------


def cluster_with_options(options: dict[str, str]) -> dict[str, Any]:
    spec = copy.deepcopy(example_object("nkscluster-minimal.yaml", CLUSTER.kind)["spec"])
    spec["addons"] = [{"name": "calico", "version": "v3.28.2-nks1", "options": options}]
    return spec


def test_addon_options_within_bounds() -> None:
    options = {f"option_{i}.x-y": "v" * 256 for i in range(16)}
    parsed = NKSClusterSpec.model_validate(cluster_with_options(options))
    assert parsed.addons[0].options == options
    NKSClusterSpec.model_validate(cluster_with_options({"mode": ""}))


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {f"o{i}": "v" for i in range(17)},
            "spec.addons.0.options: Dictionary should have at most 16 items",
        ),
        ({"mode": "v" * 257}, "spec.addons.0.options.mode: String should have at most 256"),
        ({"": "v"}, "spec.addons.0.options..[key]: '' is not a valid add-on option name"),
        ({"a" * 64: "v"}, "is not a valid add-on option name: the name must be 1..63"),
        ({"two words": "v"}, "spec.addons.0.options.two words.[key]: 'two words' is not a"),
        ({"-mode": "v"}, "beginning and ending with a letter or digit"),
    ],
    ids=["17 options", "257-char value", "empty name", "64-char name", "space", "leading dash"],
)
def test_addon_options_out_of_bounds(options: dict[str, str], expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        NKSClusterSpec.model_validate(cluster_with_options(options))
    (problem,) = format_validation_error(caught.value)
    assert expected in problem
