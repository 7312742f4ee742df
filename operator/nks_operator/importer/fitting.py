"""Fitting what NKS reports into a spec model: what the model refuses is left out, with a
note, instead of failing the whole resource."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError


@dataclass
class Fitted:
    notes: list[str] = field(default_factory=list)  # what was left out, and why
    errors: list[str] = field(default_factory=list)  # what the spec cannot do without


def field_path(prefix: str, loc: Sequence[int | str]) -> str:
    """`spec.a.b[0].c` from pydantic's error location."""
    text = prefix
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _remove(data: Any, loc: Sequence[int | str]) -> bool:
    """Remove the element at `loc` (a dict key or a list index); False if not there."""
    *parents, last = loc
    node = data
    for part in parents:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    if isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        del node[last]
        return True
    return False


def fit(model: type[BaseModel], spec: dict[str, Any], prefix: str = "spec") -> Fitted:
    """Drop from `spec` (in place) what `model` refuses, one offending element at a time,
    with a note each. Dropping a required element drops what holds it (a list entry, an
    optional block); when that reaches the top, the spec cannot be built: an error that
    names the value NKS had, not the hole its removal left."""
    result = Fitted()
    last: tuple[tuple[int | str, ...], str] | None = None  # last removal and its cause
    while True:  # each round removes one element, so this ends
        try:
            model.model_validate(spec)
            return result
        except ValidationError as error:
            problem = error.errors(include_input=False, include_url=False)[0]
        loc = tuple(problem["loc"])
        cause = f"{field_path(prefix, loc)}: {problem['msg']}"
        missing = problem["type"] == "missing"
        if missing and last is not None and last[0] == loc:
            cause = last[1]  # a required element this loop removed itself
        if missing:
            loc = loc[:-1]  # what holds the missing field cannot stay
        if not loc or not _remove(spec, list(loc)):
            result.errors.append(cause)
            return result
        last = (loc, cause)
        what = "NKS's value" if not missing else "it"
        result.notes.append(
            f"{field_path(prefix, loc)} left out: {what} does not fit the spec ({cause})"
        )
