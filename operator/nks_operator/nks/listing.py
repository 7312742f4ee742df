"""What a list call returns: the readable entries, and the ones NKS answered unreadably.

One unreadable entry never hides the others, and never silently: a caller that decides
"this cluster is gone" must first check `unreadable`, where the entry is named (uuid and
name, when they could be read) with what was wrong - never its values, which may be
secret.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pydantic_core

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


class ReadEntries(Generic[T]):
    """The entries of the last complete list, by a fingerprint of the JSON each was read
    from: an entry NKS answers again as it was is not validated again. The poller lists
    every cluster of an account each fast interval while anything is busy, and most
    entries are as they were: a thousand per list at the benchmark's full size, each
    validated in about 55 us against 10 us for its fingerprint (BENCHMARKS.md, issue 21).
    Answers are read-only, so one model serves both lists. Only the last complete list's
    entries are kept: a list that fails part-way leaves them as they were.
    `remember=False`: a list read without them."""

    def __init__(self, *, remember: bool = True) -> None:
        self._remember = remember
        self._last: dict[bytes, T] = {}

    def mark(self, raw: Any) -> bytes | None:
        """The entry's fingerprint (16 bytes); None when nothing is remembered or it cannot
        be written back as JSON (then it is validated every time)."""
        if not self._remember:
            return None
        try:
            text = pydantic_core.to_json(raw)
        except pydantic_core.PydanticSerializationError:
            return None
        return hashlib.blake2b(text, digest_size=16).digest()

    def known(self, mark: bytes | None) -> T | None:
        """The model the last list read from the same JSON, if any."""
        return None if mark is None else self._last.get(mark)

    def keep(self, read: dict[bytes, T]) -> None:
        """A complete list's entries, by mark, for the next one."""
        if self._remember:
            self._last = read
