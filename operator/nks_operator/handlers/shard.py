"""Label-selector sharding: a process reconciles only the resources whose labels match.

Several Deployments with disjoint selectors (`--selector shard=a`, `--selector shard=b`)
split one namespace's resources between them. Only the daemons and deletion handlers are
filtered (so only the shard that owns a resource adds its finalizer, one per shard); the event
handlers stay unfiltered, since they only wake daemons of this process and keep the view
of NKSClusters that node groups read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

_SELECTOR: dict[str, str] = {}


class SelectorError(ValueError):
    """A selector that is not a comma-separated list of key=value pairs."""


def parse_selector(parts: list[str]) -> dict[str, str]:
    """`["a=b,c=d", "e=f"]` -> {"a": "b", "c": "d", "e": "f"}; equality only."""
    selector: dict[str, str] = {}
    for part in parts:
        for item in filter(None, (piece.strip() for piece in part.split(","))):
            key, sep, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not key or "!" in key or value.startswith("="):
                raise SelectorError(
                    f"selector {item!r} is not key=value (only equality selectors are supported)"
                )
            selector[key] = value
    return selector


def configure(selector: Mapping[str, str]) -> None:
    _SELECTOR.clear()
    _SELECTOR.update(selector)


def selector() -> dict[str, str]:
    return dict(_SELECTOR)


def finalizer(base: str) -> str:
    """The finalizer of this shard: `base`, or `base-<digest of the selector>`.

    kopf removes its finalizer from every object none of its handlers match, so shards
    sharing one finalizer would strip each other's, and a deleted resource would go
    without its NKS cluster being deleted. Each shard owns a finalizer of its own.
    """
    if not _SELECTOR:
        return base
    text = ",".join(f"{key}={value}" for key, value in sorted(_SELECTOR.items()))
    return f"{base}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def in_shard(labels: Mapping[str, str] | None = None, **_: Any) -> bool:
    """kopf `when=` filter: True when the resource's labels match this process's selector."""
    labels = labels or {}
    return all(labels.get(key) == value for key, value in _SELECTOR.items())
