"""Operator settings: poll intervals, default credentials (flags or env), validated at start."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import pydantic
from pydantic import BeforeValidator, Field, SecretStr, field_validator

from nks_operator.nks.allowlist import EndpointPolicy
from nks_operator.nks.transport import DEFAULT_CALL_TIMEOUT, DEFAULT_MAX_ANSWER_BYTES

# A delay the operator waits: a finite number of seconds above zero.
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


# A comma-separated list in a variable or flag; a tuple in code.
CommaList = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]

ALL = "*"
# In an allowed Argo CD project: the namespace of the NKSCluster that registers.
NAMESPACE_PLACEHOLDER = "{namespace}"


def matches(patterns: tuple[str, ...], value: str) -> bool:
    """Whether `value` matches one of the names or globs (`*` matches everything)."""
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


# The environment variable each setting is read from (a command-line flag wins over it).
ENV_VARS: Mapping[str, str] = {
    "fast_poll_seconds": "NKS_FAST_POLL_SECONDS",
    "slow_poll_seconds": "NKS_SLOW_POLL_SECONDS",
    "error_backoff_seconds": "NKS_ERROR_BACKOFF_SECONDS",
    "metrics_port": "NKS_METRICS_PORT",
    "workers": "NKS_WORKERS",
    "create_timeout_seconds": "NKS_CREATE_TIMEOUT_SECONDS",
    "delete_timeout_seconds": "NKS_DELETE_TIMEOUT_SECONDS",
    "update_timeout_seconds": "NKS_UPDATE_TIMEOUT_SECONDS",
    "operator_namespace": "POD_NAMESPACE",
    "signing_key_secret": "NKS_SIGNING_KEY_SECRET",
    "default_credentials_namespaces": "NKS_DEFAULT_CREDENTIALS_NAMESPACES",
    "allowed_endpoints": "NKS_ALLOWED_ENDPOINTS",
    "max_answer_bytes": "NKS_MAX_ANSWER_BYTES",
    "call_timeout_seconds": "NKS_CALL_TIMEOUT_SECONDS",
    "account_concurrency": "NKS_ACCOUNT_CONCURRENCY",
    "argocd_namespace": "NKS_ARGOCD_NAMESPACE",
    "argocd_allowed_namespaces": "NKS_ARGOCD_ALLOWED_NAMESPACES",
    "argocd_allowed_projects": "NKS_ARGOCD_ALLOWED_PROJECTS",
    "argocd_allowed_label_keys": "NKS_ARGOCD_ALLOWED_LABEL_KEYS",
}

# A namespace name (DNS-1123 label).
NamespaceName = Annotated[
    str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
]


class SettingsError(ValueError):
    """A setting that cannot work; the message names the flag or variable it came from."""


@dataclass(frozen=True)
class DefaultCredentials:
    """Operator-wide credentials for resources without `credentialsRef`."""

    tenant_id: str
    username: str
    password: SecretStr
    identity_url: str | None = None
    nks_url: str | None = None


@pydantic.dataclasses.dataclass(frozen=True)
class OperatorSettings:
    """Validated on construction: a zero, negative or non-finite delay is refused."""

    # While an operation runs (or a change was just sent), each account lists its clusters
    # this often; a busy cluster's details are re-read at least every 5 intervals.
    fast_poll_seconds: Seconds = 2.0
    # Steady-state resync of each (credentials, region); jittered by +-jitter_fraction.
    slow_poll_seconds: Seconds = 120.0
    jitter_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.2
    # Retry delay after an error that a user must fix (credentials, invalid spec, refusals).
    error_backoff_seconds: Seconds = 60.0
    # How long "supported versions" from NKS are trusted.
    supports_ttl_seconds: Seconds = 3600.0
    # A create whose response was lost is looked up by name; give NKS this much time.
    adoption_grace_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 30.0
    # /metrics port; 0 disables the endpoint.
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 0
    # Workers reconciling resources concurrently (one shared work queue).
    workers: Annotated[int, Field(ge=1, le=1024)] = 16
    # An operation still running after this long is reported (Progressing=False,
    # OperationTimedOut) and still followed; the defaults are NHN's terraform provider's.
    create_timeout_seconds: Seconds = 3600.0
    delete_timeout_seconds: Seconds = 1800.0
    update_timeout_seconds: Seconds = 3600.0
    # Reconcile only resources whose labels match (sharding); empty: all.
    selector: Mapping[str, str] = field(default_factory=dict)
    # Name of the Lease that elects the one active replica of several; None: run alone.
    leader_election: str | None = None
    leader_election_namespace: str | None = None
    default_credentials: DefaultCredentials | None = None

    # -- tenancy (docs/security.md) -------------------------------------------------------
    # The operator's own namespace (its Lease and signing key); resolved at start from
    # POD_NAMESPACE, else the kubeconfig's namespace, else "default".
    operator_namespace: NamespaceName | None = None
    # Secret in the operator's namespace holding the key that signs its create intents
    # (made at first start, shared by the replicas of one install).
    signing_key_secret: Annotated[str, Field(min_length=1, max_length=253)] = (
        "nks-operator-signing-key"
    )
    # Namespaces (names or globs, `*` for all) whose resources may use the default
    # credentials; None: the operator's own namespace only.
    default_credentials_namespaces: CommaList | None = None
    # URL prefixes beyond NHN Cloud's public https hosts that credentials may be sent to.
    allowed_endpoints: CommaList = ()
    # -- bounds on every NKS call -----------------------------------------------------------
    # An answer larger than this is refused unread (a few MiB: NKS's largest answers, the
    # project's server list and the task history, stay well below).
    max_answer_bytes: Annotated[int, Field(ge=65536, le=256 * 1024 * 1024)] = (
        DEFAULT_MAX_ANSWER_BYTES
    )
    # One NKS call, answer included, ends after this long whatever the endpoint does.
    call_timeout_seconds: Seconds = DEFAULT_CALL_TIMEOUT
    # Passes of one account (credentials + region) that may call NKS at once, so one slow
    # or hostile endpoint cannot hold every worker; None: half the workers.
    account_concurrency: Annotated[int | None, Field(ge=1, le=1024)] = None
    # -- Argo CD registration -----------------------------------------------------------------
    # Where Argo CD cluster Secrets are written: the admin's choice, never a resource's.
    argocd_namespace: NamespaceName = "argocd"
    # Namespaces whose NKSClusters may register (names or globs, `*`); None: the operator's.
    argocd_allowed_namespaces: CommaList | None = None
    # Argo CD projects a registration may name (globs; `{namespace}` stands for the
    # NKSCluster's namespace). A cluster without a project is global in Argo CD: only `*`
    # allows that.
    argocd_allowed_projects: CommaList = (NAMESPACE_PLACEHOLDER,)
    # Label keys (globs) a registration may put on the Secret; none by default, since
    # ApplicationSet cluster generators of every team select on labels.
    argocd_allowed_label_keys: CommaList = ()

    @field_validator("allowed_endpoints")
    @classmethod
    def _endpoints_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        EndpointPolicy.from_entries(value)  # raises ValueError naming the bad entry
        return value

    # -- decisions read from the settings -------------------------------------------------

    @property
    def own_namespace(self) -> str:
        return self.operator_namespace or "default"

    def _allows(self, patterns: tuple[str, ...] | None, namespace: str) -> bool:
        if patterns is None:
            return namespace == self.own_namespace
        return matches(patterns, namespace)

    def default_credentials_allowed(self, namespace: str) -> bool:
        return self._allows(self.default_credentials_namespaces, namespace)

    def argocd_registration_allowed(self, namespace: str) -> bool:
        return self._allows(self.argocd_allowed_namespaces, namespace)

    def argocd_project_allowed(self, project: str | None, namespace: str) -> bool:
        patterns = tuple(
            p.replace(NAMESPACE_PLACEHOLDER, namespace) for p in self.argocd_allowed_projects
        )
        if not project:
            return ALL in patterns
        return matches(patterns, project)

    def argocd_label_key_allowed(self, key: str) -> bool:
        return matches(self.argocd_allowed_label_keys, key)

    def endpoint_policy(self) -> EndpointPolicy:
        """NHN's public hosts, the admin's prefixes and the URLs of the default credentials."""
        defaults = self.default_credentials
        trusted = (defaults.identity_url, defaults.nks_url) if defaults is not None else ()
        return EndpointPolicy.from_entries(self.allowed_endpoints, trusted=trusted)

    @property
    def pass_slots_per_account(self) -> int:
        return self.account_concurrency or max(1, self.workers // 2)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        flags: Mapping[str, str] | None = None,
        **overrides: object,
    ) -> OperatorSettings:
        """Read NKS_* environment variables; explicit overrides (CLI flags) win.

        `flags` names the command-line flag of each override, for the error message.
        Raises SettingsError naming every setting that is refused and where it came from.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name, variable in ENV_VARS.items():
            if env.get(variable):
                values[name], sources[name] = env[variable], variable
        tenant, user, password = (
            env.get(k) for k in ("NKS_TENANT_ID", "NKS_USERNAME", "NKS_PASSWORD")
        )
        if tenant and user and password:
            values["default_credentials"] = DefaultCredentials(
                tenant_id=tenant,
                username=user,
                password=SecretStr(password),
                identity_url=env.get("NKS_IDENTITY_URL") or None,
                nks_url=env.get("NKS_URL") or None,
            )
        for name, value in overrides.items():
            if value is not None:
                values[name] = value
                sources[name] = (flags or {}).get(name, name)
        try:
            return cls(**values)
        except pydantic.ValidationError as error:
            raise SettingsError(_describe(error, sources)) from None


def _describe(error: pydantic.ValidationError, sources: Mapping[str, str]) -> str:
    problems = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        message = item["msg"].removeprefix("Input ")
        message = message[:1].lower() + message[1:]
        problems.append(f"{sources.get(name, name)}: {message} (got {item['input']!r})")
    return "; ".join(problems)
