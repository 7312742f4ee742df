"""Shared by the api tests: where the repository's files are, and the examples' objects."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"


def example_documents(file_name: str) -> list[dict[str, Any]]:
    """Every YAML document of examples/<file_name>."""
    text = (EXAMPLES / file_name).read_text(encoding="utf-8")
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def example_object(file_name: str, kind: str) -> dict[str, Any]:
    """The single object of `kind` in examples/<file_name>."""
    found = [doc for doc in example_documents(file_name) if doc["kind"] == kind]
    assert len(found) == 1, f"{file_name}: expected one {kind}, found {len(found)}"
    return found[0]


def schema_nodes(
    schema: Mapping[str, Any], path: str = ""
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, node) for every node of a schema, the node itself first."""
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from schema_nodes(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), Mapping):
        yield from schema_nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from schema_nodes(schema["additionalProperties"], f"{path}.<key>")


def without_empty_lists(value: Any) -> Any:
    """`value` without keys holding []: empty and absent lists mean the same to the models."""
    if isinstance(value, dict):
        return {k: without_empty_lists(v) for k, v in value.items() if v != []}
    if isinstance(value, list):
        return [without_empty_lists(item) for item in value]
    return value
