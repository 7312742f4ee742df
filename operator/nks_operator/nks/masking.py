"""Keep passwords, tokens and kubeconfigs out of logs, reprs and exception text.

Pydantic's SecretStr guards values held in models; the helpers here guard the places a
secret could leak as plain text: HTTP headers and free text such as an error body echoed
by a server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

REDACTED = "***"

# Headers whose values are credentials. Compared case-insensitively.
SENSITIVE_HEADERS = frozenset({"x-auth-token", "x-subject-token", "authorization", "cookie"})


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` that is safe to log: credential values replaced."""
    return {
        name: (REDACTED if name.lower() in SENSITIVE_HEADERS else value)
        for name, value in headers.items()
    }


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every occurrence of each (non-trivial) secret replaced.

    Used on text that came from outside (error bodies) before it goes into an exception
    message, in case a server echoes a credential back.
    """
    for secret in secrets:
        # Very short values would mangle ordinary words and cannot identify anything.
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def truncate(text: str, limit: int = 500) -> str:
    """At most `limit` characters of whitespace-collapsed `text`, marking the cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..."
