"""Printing (importer/output.py): YAML streams and JSON Lists that read back exactly."""

from __future__ import annotations

import json

import pytest
import yaml

from nks_operator.importer.output import render

SCRIPTS = [
    "#!/bin/sh\necho hi\n",
    "no trailing newline\nsecond",
    "trailing spaces  \n\ttab\n",
    "line\n\n\nblank lines\n\n",
    "one line",
    "quotes ' \" and: colons # hash\n",
]


def manifest(script: str) -> dict:
    return {
        "apiVersion": "nks.nhncloud.com/v1alpha1",
        "kind": "NKSNodeGroup",
        "metadata": {"name": "shop-web", "namespace": "team"},
        "spec": {"userScript": script, "nodeCount": 2},
    }


@pytest.mark.parametrize("script", SCRIPTS)
def test_yaml_reads_back_exactly(script: str) -> None:
    [document] = list(yaml.safe_load_all(render([manifest(script)])))
    assert document == manifest(script)


def test_a_multi_line_script_is_a_literal_block() -> None:
    assert "userScript: |" in render([manifest("#!/bin/sh\necho hi\n")])


def test_yaml_is_one_document_per_resource_in_order() -> None:
    text = render([manifest("a"), manifest("b")])
    documents = list(yaml.safe_load_all(text))
    assert [d["spec"]["userScript"] for d in documents] == ["a", "b"]
    assert text.count("---\n") == 2


def test_json_is_a_list() -> None:
    document = json.loads(render([manifest("a"), manifest("b")], "json"))
    assert document["apiVersion"] == "v1" and document["kind"] == "List"
    assert document["items"] == [manifest("a"), manifest("b")]


def test_nothing_to_print() -> None:
    assert render([]) == ""
    assert json.loads(render([], "json"))["items"] == []
