"""What a list call returns: the readable entries, and the ones NKS answered unreadably.

One unreadable entry never hides the others, and never silently: a caller that decides
"this cluster is gone" must first check `unreadable`, where the entry is named (uuid and
name, when they could be read) with what was wrong - never its values, which may be
secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class UnreadableEntry:
    """A list entry that could not be parsed at all (e.g. no usable `uuid`)."""

    uuid: str | None
    name: str | None
    problem: str

    @classmethod
    def of(cls, raw: Any, problem: str, *, id_key: str = "uuid") -> UnreadableEntry:
        """Name the entry with whatever identifies it in the raw answer (`id_key`: the
        field holding its UUID - `uuid` at NKS, `id` at compute)."""
        fields = raw if isinstance(raw, dict) else {}
        uuid, name = fields.get(id_key), fields.get("name")
        return cls(
            uuid=uuid if isinstance(uuid, str) and uuid else None,
            name=name if isinstance(name, str) and name else None,
            problem=problem,
        )

    def describe(self) -> str:
        who = " ".join(part for part in (self.name, self.uuid and f"({self.uuid})") if part)
        return f"{who or 'an entry'}: {self.problem}"


class Listing(list[T]):
    """A list (callers iterate it as before) plus `unreadable`, the entries NKS answered
    in a shape that could not be read."""

    unreadable: tuple[UnreadableEntry, ...]

    def __init__(self, items: Iterable[T] = (), unreadable: Iterable[UnreadableEntry] = ()):
        super().__init__(items)
        self.unreadable = tuple(unreadable)

    def __repr__(self) -> str:
        return f"Listing({list.__repr__(self)}, unreadable={list(self.unreadable)!r})"
