"""Printing imported resources: a multi-document YAML stream, or a JSON `List`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

import yaml

Format = Literal["yaml", "json"]


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (user scripts) as literal blocks, readable and exact."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None  # PyYAML falls back when a block cannot hold it
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(manifests: Sequence[dict[str, Any]], fmt: Format = "yaml") -> str:
    if fmt == "json":
        document = {"apiVersion": "v1", "kind": "List", "items": list(manifests)}
        return json.dumps(document, indent=2) + "\n"
    return "".join(
        "---\n" + yaml.dump(item, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
        for item in manifests
    )
