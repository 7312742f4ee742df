"""Operator settings: poll intervals, default credentials, watch scope (flags or env)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import SecretStr


@dataclass(frozen=True)
class DefaultCredentials:
    """Operator-wide credentials for resources without `credentialsRef`."""

    tenant_id: str
    username: str
    password: SecretStr
    identity_url: str | None = None
    nks_url: str | None = None


@dataclass(frozen=True)
class OperatorSettings:
    # While an operation runs (or a change was just sent), each account lists its clusters
    # this often; a busy cluster's details are re-read at least every 5 intervals.
    fast_poll_seconds: float = 2.0
    # Steady-state resync of each (credentials, region); jittered by +-jitter_fraction.
    slow_poll_seconds: float = 120.0
    jitter_fraction: float = 0.2
    # Retry delay after an error that a user must fix (credentials, invalid spec, refusals).
    error_backoff_seconds: float = 60.0
    # How long "supported versions" from NKS are trusted.
    supports_ttl_seconds: float = 3600.0
    # A create whose response was lost is looked up by name; give NKS this much time.
    adoption_grace_seconds: float = 30.0
    # "list": one cluster list per (credentials, region) per cycle (the default).
    # "per-resource": one GET per cluster per cycle, as ACK/Crossplane poll; for the
    # benchmark's comparison only.
    polling_mode: str = "list"
    # /metrics port; 0 disables the endpoint.
    metrics_port: int = 0
    # Workers reconciling resources concurrently (one shared work queue).
    workers: int = 16
    # An operation still running after this long is reported (Progressing=False,
    # OperationTimedOut) and still followed; the defaults are NHN's terraform provider's.
    create_timeout_seconds: float = 3600.0
    delete_timeout_seconds: float = 1800.0
    update_timeout_seconds: float = 3600.0
    # Reconcile only resources whose labels match (sharding); empty: all.
    selector: Mapping[str, str] = field(default_factory=dict)
    default_credentials: DefaultCredentials | None = None
    namespaces: tuple[str, ...] = field(default_factory=tuple)  # empty: all namespaces

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> OperatorSettings:
        """Read NKS_* environment variables; explicit overrides (CLI flags) win."""
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        for name, key in (
            ("fast_poll_seconds", "NKS_FAST_POLL_SECONDS"),
            ("slow_poll_seconds", "NKS_SLOW_POLL_SECONDS"),
            ("error_backoff_seconds", "NKS_ERROR_BACKOFF_SECONDS"),
            ("create_timeout_seconds", "NKS_CREATE_TIMEOUT_SECONDS"),
            ("delete_timeout_seconds", "NKS_DELETE_TIMEOUT_SECONDS"),
            ("update_timeout_seconds", "NKS_UPDATE_TIMEOUT_SECONDS"),
        ):
            if env.get(key):
                values[name] = float(env[key])
        if env.get("NKS_WORKERS"):
            values["workers"] = int(env["NKS_WORKERS"])
        if env.get("NKS_POLLING_MODE"):
            values["polling_mode"] = env["NKS_POLLING_MODE"]
        if env.get("NKS_METRICS_PORT"):
            values["metrics_port"] = int(env["NKS_METRICS_PORT"])
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
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
