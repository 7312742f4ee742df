"""Where the import reads NKS credentials: the Secret the emitted resources will reference,
or the operator's `NKS_*` environment variables when no Secret is named."""

from __future__ import annotations

from collections.abc import Mapping

from nks_operator.importer.errors import ImportFailed
from nks_operator.kube.api import KubeAPI
from nks_operator.kube.client import KubeAPIError, KubeUnavailable
from nks_operator.kube.credentials import CredentialsProblem, ResolvedCredentials, resolve
from nks_operator.settings import OperatorSettings

ENVIRONMENT = ("NKS_TENANT_ID", "NKS_USERNAME", "NKS_PASSWORD")


async def from_secret(kube: KubeAPI, namespace: str, name: str) -> ResolvedCredentials:
    """The Secret's keys, read and checked exactly as the operator reads them."""
    try:
        return await resolve(kube, namespace, name, None)
    except CredentialsProblem as problem:
        raise ImportFailed(problem.message) from None
    except KubeUnavailable:
        raise  # the command says the API server cannot be reached
    except KubeAPIError as error:
        raise ImportFailed(f"cannot read Secret {namespace}/{name}: {error}") from None


def from_environment(env: Mapping[str, str]) -> ResolvedCredentials:
    """The operator's default credentials (NKS_TENANT_ID, NKS_USERNAME, NKS_PASSWORD and
    optional NKS_IDENTITY_URL, NKS_URL)."""
    try:
        defaults = OperatorSettings.from_env(dict(env)).default_credentials
    except ValueError as error:
        raise ImportFailed(f"cannot read the NKS_* environment variables: {error}") from None
    if defaults is None:
        raise ImportFailed(
            "no credentials: name a Secret with --credentials-secret, or set "
            f"{', '.join(ENVIRONMENT)} (and optionally NKS_IDENTITY_URL, NKS_URL)"
        )
    return ResolvedCredentials(
        tenant_id=defaults.tenant_id,
        username=defaults.username,
        password=defaults.password,
        identity_url=defaults.identity_url,
        nks_url=defaults.nks_url,
        source="environment variables " + ", ".join(ENVIRONMENT),
    )
