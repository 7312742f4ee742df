"""Kubernetes version strings as NKS writes them (`v1.29.3`)."""

from __future__ import annotations

import re

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


def parse(version: str) -> tuple[int, int, int] | None:
    """`v1.29.3` -> (1, 29, 3); None when it is not a version."""
    match = _VERSION.match(version.strip())
    if not match:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def minor_of(version: str) -> tuple[int, int] | None:
    parsed = parse(version)
    return None if parsed is None else parsed[:2]


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` is older than, equal to or newer than `b` (unparsable sorts first)."""
    pa, pb = parse(a) or (-1, -1, -1), parse(b) or (-1, -1, -1)
    return (pa > pb) - (pa < pb)
