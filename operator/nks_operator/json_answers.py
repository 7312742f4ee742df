"""Decoding the JSON answers of NKS and of the Kubernetes API.

pydantic-core's parser (already installed with pydantic) decodes about a third faster
than the standard library and keeps one copy of each short string it has seen (keys and
values under 64 characters, in a bounded cache): the label names and common values of
thousands of NKS answers the poller holds are then shared, not repeated per answer
(BENCHMARKS.md, issue 21). What it refuses and the standard library reads (a byte-order
mark, a lone surrogate escape, nesting deeper than 200) is read as before. `shared`
does the same for what kopf's watch decoded, before the cache keeps it. `dumps` writes
the bodies of Kubernetes requests with its encoder (five times faster).
"""

from __future__ import annotations

import json
from typing import Any

import pydantic_core


def loads(body: bytes | str) -> Any:
    """The decoded JSON of `body`; ValueError (or RecursionError) when it is not JSON."""
    try:
        return pydantic_core.from_json(body)
    except ValueError:
        return json.loads(body)


def shared(value: Any) -> Any:
    """An equal copy of decoded JSON whose short strings are those the parser shares;
    `value` itself when it cannot be written as JSON (a lone surrogate)."""
    try:
        return pydantic_core.from_json(pydantic_core.to_json(value))
    except (ValueError, pydantic_core.PydanticSerializationError):
        return value


def dumps(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON; the standard library's text when pydantic-core cannot
    write it (a lone surrogate, which the standard library escapes)."""
    try:
        return pydantic_core.to_json(value)
    except pydantic_core.PydanticSerializationError:
        return json.dumps(value, separators=(",", ":")).encode()
