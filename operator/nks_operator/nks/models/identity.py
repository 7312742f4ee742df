"""The Keystone v2.0 token answer (`POST /v2.0/tokens`), only the parts we use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from nks_operator.nks.models.base import (
    NKSModel,
    OptTimestamp,
)


class TokenTenant(NKSModel):
    id: str | None = None
    name: str | None = None


class TokenInfo(NKSModel):
    id: SecretStr
    expires: OptTimestamp = None
    issued_at: OptTimestamp = None
    tenant: TokenTenant | None = None


class TokenAccess(NKSModel):
    token: TokenInfo


class TokenResponse(NKSModel):
    access: TokenAccess


@dataclass(frozen=True)
class CatalogEndpoint:
    """One `serviceCatalog` endpoint: a service type, its region (as the catalog writes
    it, e.g. "KR1") and its public URL (compute's ends with `/v2/{tenant_id}`)."""

    type: str
    region: str
    url: str


def read_catalog(answer: Any) -> tuple[CatalogEndpoint, ...]:
    """Every usable endpoint of `access.serviceCatalog`; odd entries are skipped."""
    access = answer.get("access") if isinstance(answer, dict) else None
    services = access.get("serviceCatalog") if isinstance(access, dict) else None
    found = []
    for service in services if isinstance(services, list) else ():
        if not isinstance(service, dict) or not isinstance(service.get("type"), str):
            continue
        for endpoint in service.get("endpoints") or ():
            if not isinstance(endpoint, dict):
                continue
            region, url = endpoint.get("region"), endpoint.get("publicURL")
            if isinstance(url, str) and url.strip():
                region = region if isinstance(region, str) else ""
                found.append(CatalogEndpoint(service["type"], region, url.strip()))
    return tuple(found)
