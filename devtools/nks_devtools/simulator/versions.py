"""Kubernetes version tags as NKS writes them (`v1.27.3`) and the upgrade-step rules."""

from __future__ import annotations

import re

from nks_devtools.simulator.errors import BadRequest

_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")

Version = tuple[int, int, int]


def parse(tag: str) -> Version | None:
    match = _TAG.match(tag) if isinstance(tag, str) else None
    if not match:
        return None
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def require(tag: object, field: str) -> Version:
    version = parse(tag) if isinstance(tag, str) else None
    if version is None:
        raise BadRequest(f"{field} must be a Kubernetes version like v1.28.3, not {tag!r}.")
    return version


def minor_steps(current: Version, target: Version) -> int:
    """How many minor versions `target` is ahead of `current` (negative when behind)."""
    return (target[0] - current[0]) * 1000 + (target[1] - current[1])


def latest(supported: dict[str, bool]) -> str | None:
    """The newest version NKS offers, for the `kube_version_status` label."""
    known = [(v, tag) for tag in supported if (v := parse(tag)) is not None]
    return max(known)[1] if known else None
