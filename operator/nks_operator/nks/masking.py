"""Keep passwords, tokens, appkeys and kubeconfigs out of logs, reprs and exception text.

Pydantic's SecretStr guards values held in models, and the client never logs headers or
bodies; the helpers here guard the one remaining path: text from a server (an error body)
that echoes a secret we sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, SecretStr

REDACTED = "***"


def secret_values(value: Any) -> Iterator[str]:
    """Every SecretStr value inside a model (or list/dict of them), e.g. volume appkeys."""
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from secret_values(getattr(value, name))
        for extra in (value.model_extra or {}).values():
            yield from secret_values(extra)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from secret_values(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from secret_values(item)


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
