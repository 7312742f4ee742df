"""Where the NKS and identity APIs live: region names to base URLs, with overrides.

Base URLs are given without the API path: the client appends `/v2.0/tokens` to the
identity base and `/v1/...` to the NKS base. Overrides serve the simulator, private
clouds and the government cloud (`*.gov-nhncloudservice.com`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import httpx

from nks_operator.nks.errors import ConfigurationError

NKS_REGIONS: tuple[str, ...] = ("kr1", "kr2", "kr3")
NKS_URL_TEMPLATE = "https://{region}-api-kubernetes-infrastructure.nhncloudservice.com"
DEFAULT_IDENTITY_URL = "https://api-identity-infrastructure.nhncloudservice.com"

TOKENS_PATH = "/v2.0/tokens"


@dataclass(frozen=True)
class Endpoints:
    """Resolved base URLs (no trailing slash, no API path)."""

    nks: str
    identity: str

    @property
    def tokens_url(self) -> str:
        return self.identity + TOKENS_PATH


def resolve_endpoints(
    region: str | None,
    *,
    nks_url: str | None = None,
    identity_url: str | None = None,
) -> Endpoints:
    """Base URLs for `region`, overridden by `nks_url` / `identity_url` when given.

    With an `nks_url` override the region may be None (e.g. the simulator). An unknown
    region without an override raises `ConfigurationError` rather than guessing a host.
    """
    if nks_url:
        nks = normalize_base_url(nks_url, strip_suffixes=("/v1",))
    else:
        nks = NKS_URL_TEMPLATE.format(region=check_region(region))
    identity = normalize_base_url(
        identity_url or DEFAULT_IDENTITY_URL, strip_suffixes=(TOKENS_PATH, "/v2.0")
    )
    return Endpoints(nks=nks, identity=identity)


def check_region(region: str | None) -> str:
    """The canonical (lower-case) region name; raises ConfigurationError if NKS lacks it."""
    name = (region or "").strip().lower()
    if name not in NKS_REGIONS:
        raise ConfigurationError(
            f"unknown NKS region {region!r}: NKS runs in {', '.join(NKS_REGIONS)}; "
            "set an NKS base URL to use another endpoint"
        )
    return name


@functools.lru_cache(maxsize=256)
def normalize_base_url(url: str, *, strip_suffixes: tuple[str, ...] = ()) -> str:
    """`url` without trailing slashes or an API path the caller already appends.

    Tolerates `https://host/v2.0/tokens` for an identity base, or `.../v1` for NKS, since
    those are the forms people copy from documentation. Remembered in a bounded cache: a
    credentials Secret's URLs are checked on every pass (a refused URL raises, and is not
    remembered).
    """
    base = url.strip().rstrip("/")
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*@", base):
        # Never echoed: user info is a password in a place that ends up in logs and status.
        raise ConfigurationError(
            "base URL must not contain user info (user:password@); credentials belong in "
            "the Secret's username and password keys"
        )
    if not base.startswith(("http://", "https://")):
        raise ConfigurationError(f"base URL must start with http:// or https://: {url!r}")
    try:
        parsed = httpx.URL(base)
        port = parsed.port
    except (httpx.InvalidURL, ValueError) as exc:
        raise ConfigurationError(f"base URL {url!r} is not a valid URL: {exc}") from None
    # httpx percent-encodes what a host name cannot hold; a request would only fail later.
    host = parsed.host
    if not host or "%" in host or any(ch.isspace() for ch in host):
        raise ConfigurationError(f"base URL {url!r} has no valid host name")
    if port is not None and not 0 < port < 65536:
        raise ConfigurationError(f"base URL {url!r} has an invalid port {port}")
    for suffix in strip_suffixes:
        if base.endswith(suffix):
            base = base[: -len(suffix)].rstrip("/")
            break
    return base
