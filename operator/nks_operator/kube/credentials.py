"""Credentials of a resource: its `credentialsRef` Secret or the operator's defaults."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from pydantic import SecretStr

from nks_operator.kube.api import KubeAPI, Secret
from nks_operator.nks.endpoints import normalize_base_url
from nks_operator.nks.errors import ConfigurationError
from nks_operator.settings import DefaultCredentials

REQUIRED_KEYS = ("tenantId", "username", "password")


class CredentialsProblem(Exception):
    """A user-fixable credentials problem; `reason` becomes the condition reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ResolvedCredentials:
    tenant_id: str
    username: str
    password: SecretStr
    identity_url: str | None
    nks_url: str | None
    source: str  # "secret ns/name" or "operator defaults", for messages
    secret: tuple[str, str] | None = None  # (namespace, name) it was read from
    # The Secret as read (its finalizers and version); not part of the account's identity.
    secret_object: Secret | None = field(default=None, compare=False, repr=False)


def _decode(data: dict[str, str], key: str) -> str | None:
    raw = data.get(key)
    if raw is None:
        return None
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8").strip()
    except (binascii.Error, UnicodeDecodeError):
        return None


async def resolve(
    kube: KubeAPI,
    namespace: str,
    secret_name: str | None,
    defaults: DefaultCredentials | None,
    *,
    defaults_allowed: bool = True,
) -> ResolvedCredentials:
    """Read the credentials; never looks outside the resource's own namespace. The
    operator's defaults serve only the namespaces the admin allows."""
    if secret_name is None:
        if defaults is None:
            raise CredentialsProblem(
                "CredentialsMissing",
                "spec.credentialsRef is not set and the operator has no default credentials",
            )
        if not defaults_allowed:
            raise CredentialsProblem(
                "DefaultCredentialsNotAllowed",
                f"spec.credentialsRef is not set and namespace {namespace} may not use the "
                "operator's default credentials: name a credentials Secret of this namespace "
                "(the admin allows namespaces with NKS_DEFAULT_CREDENTIALS_NAMESPACES)",
            )
        return ResolvedCredentials(
            defaults.tenant_id,
            defaults.username,
            defaults.password,
            defaults.identity_url,
            defaults.nks_url,
            "operator defaults",
        )
    secret = await kube.read_secret_cached(namespace, secret_name)
    if secret is None:
        raise CredentialsProblem(
            "CredentialsSecretNotFound",
            f"Secret {namespace}/{secret_name} named by spec.credentialsRef does not exist",
        )
    data = secret.get("data") or {}
    values = {key: _decode(data, key) for key in (*REQUIRED_KEYS, "identityUrl", "nksUrl")}
    missing = [key for key in REQUIRED_KEYS if not values[key]]
    if missing:
        kube.forget_secret(namespace, secret_name)
        raise CredentialsProblem(
            "CredentialsInvalid",
            f"Secret {namespace}/{secret_name} lacks key(s) {', '.join(missing)} "
            f"(needs {', '.join(REQUIRED_KEYS)}; optional identityUrl, nksUrl)",
        )
    for key in ("identityUrl", "nksUrl"):
        if values[key]:
            try:
                normalize_base_url(values[key] or "")
            except ConfigurationError as exc:
                kube.forget_secret(namespace, secret_name)
                raise CredentialsProblem(
                    "CredentialsInvalid", f"Secret {namespace}/{secret_name} key {key}: {exc}"
                ) from None
    return ResolvedCredentials(
        tenant_id=values["tenantId"] or "",
        username=values["username"] or "",
        password=SecretStr(values["password"] or ""),
        identity_url=values["identityUrl"] or None,
        nks_url=values["nksUrl"] or None,
        source=f"Secret {namespace}/{secret_name}",
        secret=(namespace, secret_name),
        secret_object=secret,
    )


async def resolve_secret_keys(
    kube: KubeAPI, namespace: str, refs: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Values of (secret, key) references, e.g. encrypted volume app keys."""
    values: dict[tuple[str, str], str] = {}
    for name, key in refs:
        secret = await kube.read_secret_cached(namespace, name)
        value = None if secret is None else _decode(secret.get("data") or {}, key)
        if value is None:
            kube.forget_secret(namespace, name)
            raise CredentialsProblem(
                "SecretKeyMissing", f"Secret {namespace}/{name} has no key {key!r}"
            )
        values[(name, key)] = value
    return values
