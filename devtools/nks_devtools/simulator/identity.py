"""The identity service: `POST /v2.0/tokens` (Keystone v2.0, the only kind NKS accepts) and
the token checks of every `/v1` call.

Tokens are random opaque strings bound to one tenant, valid for `token_ttl` seconds;
they are kept only in memory and never logged or shown by the admin endpoints.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from nks_devtools.simulator.config import SimulatorConfig
from nks_devtools.simulator.errors import KeystoneError
from nks_devtools.simulator.views import timestamp

_NAMESPACE = uuid.UUID("6c1b1f5e-2b5c-4bb3-9d59-3f0c3b1b0a11")


def _expires(t: float) -> str:
    """Keystone's `YYYY-MM-DDThh:mm:ssZ`."""
    text = timestamp(t)
    assert text is not None
    return text.replace("+00:00", "Z")


def user_id(username: str) -> str:
    return uuid.uuid5(_NAMESPACE, username).hex


@dataclass(frozen=True)
class Token:
    id: str = field(repr=False)
    tenant_id: str
    username: str
    issued_at: float
    expires_at: float

    @property
    def user_id(self) -> str:
        return user_id(self.username)


@dataclass
class TokenStore:
    _tokens: dict[str, Token] = field(default_factory=dict)
    issued: int = 0

    def issue(self, tenant_id: str, username: str, now: float, ttl: float) -> Token:
        if len(self._tokens) > 10_000:
            self._tokens = {k: t for k, t in self._tokens.items() if t.expires_at > now}
        token = Token(secrets.token_urlsafe(32), tenant_id, username, now, now + ttl)
        self._tokens[token.id] = token
        self.issued += 1
        return token

    def lookup(self, token_id: str | None, now: float) -> Token | None:
        token = self._tokens.get(token_id) if token_id else None
        if token is None or token.expires_at <= now:
            return None
        return token

    def expire_all(self, tenant_id: str | None = None) -> int:
        doomed = [k for k, t in self._tokens.items() if tenant_id in (None, t.tenant_id)]
        for key in doomed:
            del self._tokens[key]
        return len(doomed)

    def active(self, now: float) -> int:
        return sum(1 for t in self._tokens.values() if t.expires_at > now)


def _bad_request(message: str) -> KeystoneError:
    return KeystoneError(400, message)


def check_credentials(config: SimulatorConfig, body: Any) -> tuple[str, str]:
    """Validate a token request; returns (tenant id, username) or raises 400/401."""
    auth = body.get("auth") if isinstance(body, dict) else None
    if not isinstance(auth, dict):
        raise _bad_request("Expecting to find auth in request body.")
    tenant_id = auth.get("tenantId")
    creds = auth.get("passwordCredentials")
    if not isinstance(creds, dict):
        raise _bad_request("Expecting to find passwordCredentials in auth.")
    username, password = creds.get("username"), creds.get("password")
    if not all(isinstance(v, str) and v for v in (tenant_id, username, password)):
        raise _bad_request("tenantId, username and password are required.")
    assert isinstance(tenant_id, str) and isinstance(username, str)
    assert isinstance(password, str)
    if not config.accepts_any_credentials() and not any(
        c.tenant_id == tenant_id
        and c.username == username
        and secrets.compare_digest(c.password.get_secret_value().encode(), password.encode())
        for c in config.credentials
    ):
        raise KeystoneError(401, "The request you have made requires authentication.")
    return tenant_id, username


def token_document(token: Token, base_url: str, region: str) -> dict[str, Any]:
    """The 200 answer: token, service catalog (compute and kubernetes endpoints, regions
    upper case as NHN's catalog writes them), user, metadata."""
    regions = sorted({region.upper(), "KR1", "KR2", "KR3"})
    return {
        "access": {
            "token": {
                "id": token.id,
                "expires": _expires(token.expires_at),
                "issued_at": _expires(token.issued_at),
                "tenant": {
                    "id": token.tenant_id,
                    "name": f"project-{token.tenant_id[:8]}",
                    "description": "",
                    "enabled": True,
                    "project_domain": "NORMAL",
                },
            },
            "serviceCatalog": [
                {
                    # As NHN's catalog: the compute URL ends with /v2/{tenant id}.
                    "type": "compute",
                    "name": "nova",
                    "endpoints": [
                        {"region": r, "publicURL": f"{base_url}/v2/{token.tenant_id}"}
                        for r in regions
                    ],
                    "endpoints_links": [],
                },
                {
                    "type": "kubernetes",
                    "name": "kubernetes",
                    "endpoints": [{"region": r, "publicURL": base_url} for r in regions],
                    "endpoints_links": [],
                },
                {
                    "type": "identity",
                    "name": "keystone",
                    "endpoints": [{"region": r, "publicURL": f"{base_url}/v2.0"} for r in regions],
                    "endpoints_links": [],
                },
            ],
            "user": {
                "id": token.user_id,
                "username": token.username,
                "name": token.username,
                "roles": [{"name": "_member_"}],
                "roles_links": [],
            },
            "metadata": {"is_admin": 0, "roles": ["9fe2ff9ee4384b1894a90878d3e92bab"]},
        }
    }
