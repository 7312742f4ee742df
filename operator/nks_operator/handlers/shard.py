"""Label-selector sharding: a process reconciles only the resources whose labels match.

Several Deployments with disjoint selectors (`--selector shard=a`, `--selector shard=b`)
split one namespace's resources between them. Only matching objects reach this process's
cache and work queue, and each shard owns a finalizer of its own (see `finalizer`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


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


def finalizer(base: str, selector: Mapping[str, str]) -> str:
    """The finalizer of this shard: `base`, or `base-<digest of the selector>`.

    A shard releases only its own finalizer, so shards never strip each other's and a
    resource is never deleted before the shard that owns it has deleted it in NKS.
    """
    if not selector:
        return base
    text = ",".join(f"{key}={value}" for key, value in sorted(selector.items()))
    return f"{base}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def matches(selector: Mapping[str, str], labels: Mapping[str, str] | None) -> bool:
    """True when the resource's labels match this process's selector (every pair)."""
    labels = labels or {}
    return all(labels.get(key) == value for key, value in selector.items())
