"""The Keystone v2.0 token answer (`POST /v2.0/tokens`), only the parts we use."""

from __future__ import annotations

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
