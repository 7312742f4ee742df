"""docs/reference.md documents every field with its type, default and constraints."""

from __future__ import annotations

import re

import pytest

from nks_operator.api import CLUSTER, NODEGROUP, RESOURCES, Resource
from nks_operator.api.crd import openapi_schema
from nks_operator.api.reference import field_docs, render_reference
from tests.api.helpers import schema_nodes


def section(text: str, kind: str) -> str:
    """The part of the reference about one kind."""
    return text.split(f"\n## {kind}\n", 1)[1].split("\n## ", 1)[0]


def rows(text: str) -> dict[str, list[str]]:
    """Field path -> cells of its table row."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = re.match(r"^\| `([^`]+)` \| (.*) \|$", line)
        if match:
            found[match[1]] = re.split(r"(?<!\\) \| ", match[2])
    return found


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
def test_every_field_is_documented(resource: Resource) -> None:
    text = render_reference()
    table = rows(section(text, resource.kind))
    schema = openapi_schema(resource)["properties"]
    for part in ("spec", "status"):
        for path, node in schema_nodes(schema[part], part):
            if path == part or path.endswith(("[]", ".<key>")):
                continue  # the object itself, or list items / map values (documented above)
            assert path in table, f"{path} missing from the reference"
            assert table[path][-1] == node["description"].replace("\n\n", "<br><br>")
    assert f"## {resource.kind}" in text
    assert resource.description in text


def test_cells_show_type_required_default_constraints() -> None:
    table = rows(section(render_reference(), CLUSTER.kind))
    assert table["spec.region"][:4] == [
        "string",
        "yes",
        "",
        "one of `kr1`, `kr2`, `kr3`, `KR1`, `KR2`, `KR3`",
    ]
    assert table["spec.defaultWorker.nodeCount"][:4] == ["integer", "", "`1`", "1..100"]
    assert table["spec.deletionPolicy"][2] == "`Delete`"
    assert table["spec.apiEndpoint"][2].startswith("`{}`")
    assert table["spec.clusterName"][3] == (
        "pattern `^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$`; length 1..20"
    )
    assert table["spec.defaultWorker.extraVolumes"][0] == "[]object"
    assert table["spec.defaultWorker.extraVolumes[].sizeGB"][1] == "yes"
    assert "items ≤ 16" in table["spec.network.externalSubnetIDs"][3]
    assert "each pattern" in table["spec.network.externalSubnetIDs"][3]
    assert table["status.conditions[].type"][0] == "string"
    assert table["spec.argocd.labels"][:4] == ["map[string]string", "", "", "entries ≤ 32"]
    assert table["spec.addons[].options"][3] == "entries ≤ 16"
    assert table["spec.addons[].options.<key>"][3] == "length ≤ 256"


def test_field_docs_follow_declaration_order() -> None:
    spec = openapi_schema(NODEGROUP)["properties"]["spec"]
    paths = [doc.path for doc in field_docs(spec, "spec")]
    assert paths.index("spec.bootVolume") < paths.index("spec.bootVolume.type")
    assert paths[0] == "spec." + next(iter(spec["properties"]))


def test_kind_header_lists_names_and_columns() -> None:
    text = render_reference()
    assert "short `nksc`" in text and "short `nksng`" in text
    assert "`kubectl get nksc` shows: Phase, Version, Nodes, Ready, Synced, Age" in text
    assert f"`crds/{CLUSTER.crd_name}.yaml`" in text
