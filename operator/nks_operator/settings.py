"""Operator settings: poll intervals, default credentials (flags or env), validated at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import pydantic
from pydantic import Field, SecretStr

# A delay the operator waits: a finite number of seconds above zero.
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]

# The environment variable each setting is read from (a command-line flag wins over it).
ENV_VARS: Mapping[str, str] = {
    "fast_poll_seconds": "NKS_FAST_POLL_SECONDS",
    "slow_poll_seconds": "NKS_SLOW_POLL_SECONDS",
    "error_backoff_seconds": "NKS_ERROR_BACKOFF_SECONDS",
    "polling_mode": "NKS_POLLING_MODE",
    "metrics_port": "NKS_METRICS_PORT",
    "workers": "NKS_WORKERS",
    "create_timeout_seconds": "NKS_CREATE_TIMEOUT_SECONDS",
    "delete_timeout_seconds": "NKS_DELETE_TIMEOUT_SECONDS",
    "update_timeout_seconds": "NKS_UPDATE_TIMEOUT_SECONDS",
}


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
    # "list": one cluster list per (credentials, region) per cycle (the default).
    # "per-resource": one GET per cluster per cycle, as ACK/Crossplane poll; for the
    # benchmark's comparison only.
    polling_mode: Literal["list", "per-resource"] = "list"
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
