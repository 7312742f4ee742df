"""Which endpoints the operator may send credentials and tokens to.

A credentials Secret is written by a namespace's user, so its `identityUrl` / `nksUrl`
(and the compute endpoint the identity service's catalog names) are untrusted: a password
sent to an address a tenant chose is a password given away, and a request to an internal
address is server-side request forgery. Every request the operator makes to NKS, the
identity service or the compute API is checked here first; nothing is sent elsewhere.

Allowed without configuration: `https` on NHN Cloud's public API hosts (`*.nhncloudservice
.com`, the government cloud's `*.gov-nhncloudservice.com`) on the default port. The admin
adds prefixes (`NKS_ALLOWED_ENDPOINTS`, `--allowed-endpoints`), e.g.
`http://127.0.0.1:9511` for the simulator or `https://nks.private.example/`; the port `*`
matches any port (development only). The URLs in the operator's own environment
(`NKS_URL`, `NKS_IDENTITY_URL`) are the admin's and are allowed too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

# NHN Cloud's public API domains: a tenant cannot make a host under them answer.
NHN_DOMAINS = ("nhncloudservice.com", "gov-nhncloudservice.com")
_DEFAULT_PORTS = {"http": 80, "https": 443}
ANY_PORT = "*"


class EndpointRefused(ValueError):
    """A URL the admin did not allow; the message names its scheme, host and port only."""


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str  # as httpx reads it (percent-decoded)
    raw_path: str  # as it is sent


def _host(url: httpx.URL) -> str:
    """The host as it is connected to: IDNA-encoded (ASCII), lower case, no trailing dot."""
    return url.raw_host.decode("ascii", errors="replace").lower().rstrip(".")


def _parse(url: str | httpx.URL) -> _Target:
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        scheme = parsed.scheme.lower()
        host = _host(parsed)
        port = parsed.port
    except (httpx.InvalidURL, ValueError, TypeError):
        raise EndpointRefused("not a valid URL") from None
    if scheme not in _DEFAULT_PORTS:
        raise EndpointRefused(f"scheme {scheme[:16] or 'none'!r} is not http or https")
    if not host:
        raise EndpointRefused("no host")
    if parsed.userinfo:
        raise EndpointRefused("user info (user:password@) is not allowed in an endpoint")
    raw_path = parsed.raw_path.decode("ascii", errors="replace").partition("?")[0]
    return _Target(scheme, host, port or _DEFAULT_PORTS[scheme], parsed.path or "/", raw_path)


def _escapes_prefix(target: _Target) -> bool:
    """Whether a path could leave a path prefix once a server decodes it: httpx removes
    literal `..` segments, but not encoded ones (`%2e%2e`, `..%2f`) or backslashes."""
    segments = target.path.replace("\\", "/").split("/")
    encoded = any(code in target.raw_path.lower() for code in ("%2f", "%5c"))
    return encoded or "\\" in target.path or any(s in (".", "..") for s in segments)


def describe(url: str | httpx.URL) -> str:
    """`scheme://host:port` of a URL, for messages (no path, query or user info)."""
    try:
        target = _parse(url)
    except EndpointRefused:
        return "an unparsable URL"
    host = f"[{target.host}]" if ":" in target.host else target.host
    return f"{target.scheme}://{host}:{target.port}"


@dataclass(frozen=True)
class Prefix:
    """One allowed endpoint: scheme, host, port (None: any) and a path prefix."""

    scheme: str
    host: str
    port: int | None
    path: str  # ends with "/"

    @classmethod
    def parse(cls, text: str) -> Prefix:
        """`scheme://host[:port|:*][/path]`; raises ValueError saying what is wrong."""
        raw = text.strip()
        any_port = False
        head, sep, rest = raw.partition("://")
        if sep:
            authority, slash, path = rest.partition("/")
            if authority.endswith(":" + ANY_PORT):
                any_port = True
                authority = authority[: -len(ANY_PORT) - 1]
            raw = f"{head}://{authority}{slash}{path}"
        try:
            parsed = httpx.URL(raw)
        except (httpx.InvalidURL, ValueError) as error:
            raise ValueError(f"{text!r} is not a URL prefix: {error}") from None
        try:
            scheme, host = parsed.scheme.lower(), _host(parsed)
        except ValueError as error:  # an IDNA host that does not decode
            raise ValueError(f"{text!r} is not a URL prefix: {error}") from None
        if scheme not in _DEFAULT_PORTS or not host:
            raise ValueError(f"{text!r}: an allowed endpoint is http:// or https:// and a host")
        if parsed.userinfo or parsed.query or parsed.fragment:
            raise ValueError(f"{text!r}: no user info, query or fragment in an allowed endpoint")
        path = parsed.path or "/"
        if not path.endswith("/"):
            path += "/"
        port = None if any_port else parsed.port or _DEFAULT_PORTS[scheme]
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"{text!r}: port {port} is not a TCP port")
        return cls(scheme, host, port, path)

    def allows(self, target: _Target) -> bool:
        if (target.scheme, target.host) != (self.scheme, self.host):
            return False
        if self.port is not None and target.port != self.port:
            return False
        if self.path == "/":
            return True
        # A prefix ends at a path segment: /nks/ allows /nks and /nks/v1, not /nksx.
        path = target.path if target.path.endswith("/") else target.path + "/"
        return path.startswith(self.path) and not _escapes_prefix(target)


def _nhn_public(target: _Target) -> bool:
    return (
        target.scheme == "https"
        and target.port == 443
        and any(target.host == d or target.host.endswith("." + d) for d in NHN_DOMAINS)
    )


@dataclass(frozen=True)
class EndpointPolicy:
    """The endpoints requests may go to: NHN's public hosts plus the admin's prefixes."""

    prefixes: tuple[Prefix, ...] = ()

    @classmethod
    def from_entries(
        cls, entries: Iterable[str], *, trusted: Iterable[str | None] = ()
    ) -> EndpointPolicy:
        """The admin's list (raises ValueError for a malformed entry) plus `trusted` URLs
        from the operator's own environment, each allowed as a prefix. A trusted URL that
        is no prefix (e.g. it has a query) adds nothing: the client refuses it where it is
        used, with a message, rather than the operator failing to start."""
        prefixes = [Prefix.parse(e) for e in entries if e.strip()]
        for url in trusted:
            with contextlib.suppress(ValueError):
                prefixes += [Prefix.parse(url)] if url else []
        return cls(tuple(prefixes))

    def check(self, url: str | httpx.URL) -> None:
        """Raise EndpointRefused unless a request to `url` is allowed (a parsed URL is
        checked as it is, not parsed again)."""
        target = _parse(url)
        if _nhn_public(target) or any(p.allows(target) for p in self.prefixes):
            return
        raise EndpointRefused(
            f"{describe(url)} is not an allowed endpoint (NHN Cloud's public https hosts, "
            "or a prefix the admin lists in NKS_ALLOWED_ENDPOINTS)"
        )

    def allows(self, url: str) -> bool:
        try:
            self.check(url)
        except EndpointRefused:
            return False
        return True


# No configuration at all: NHN Cloud's public endpoints only.
PUBLIC_ONLY = EndpointPolicy()
