"""`GET /v1/supports`: Kubernetes versions and task types NKS offers."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

from nks_operator.nks.models.base import NKSAnswer, parse_bool_or_none

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def version_key(version: str) -> tuple[int, int, int]:
    """Sort key for "v1.27.3"-style versions; unparsable ones sort first."""
    match = _VERSION.match(version.strip())
    if match is None:
        return (-1, -1, -1)
    major, minor, patch = match.groups()
    return (int(major), int(minor), int(patch or 0))


def _versions(value: Any) -> Any:
    """Each version's flag read on its own: an odd one counts as not usable."""
    if not isinstance(value, dict):
        return value
    return {str(version): parse_bool_or_none(flag) for version, flag in value.items()}


class Supports(NKSAnswer):
    # version -> usable for new clusters
    supported_k8s: Annotated[dict[str, bool | None], BeforeValidator(_versions)] = {}
    # category -> type -> description; informational only, so any shape is accepted
    supported_event_type: dict[str, Any] = {}

    @property
    def versions(self) -> list[str]:
        """Every version NKS knows (including ones only existing clusters run), ascending."""
        return sorted(self.supported_k8s, key=version_key)

    @property
    def creatable_versions(self) -> list[str]:
        """Versions usable for new clusters (the `true` ones), ascending."""
        return [v for v in self.versions if self.supported_k8s[v]]
