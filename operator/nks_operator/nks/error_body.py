"""Extract NKS's own message from an error response, whatever shape it came in.

NKS (a Magnum fork behind an API gateway) answers errors in these shapes:

- `{"errors": [{"status", "title", "detail", "code", "request_id", "links"}]}` (Magnum),
- `{"error": {"title", "message", "code"}}` (Keystone and the gateway),
- `{"error_message": ...}` (WSME faults; the value is often itself a JSON string holding
  `faultstring`),
- `{"badRequest": {"message", "code"}}` (Nova, for the compute API).

Error text ends up in conditions and Events, and the endpoint may not be NKS at all (a
proxy, or whatever a tenant's URL reaches). So only a message field of those shapes is
kept, with control characters removed and cut to `MESSAGE_LIMIT` characters; anything else
(HTML from a proxy, plain text, JSON of another shape) is never quoted, only described:
`non-JSON answer (text/html, 1234 bytes)`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nks_operator.nks.masking import scrub

REQUEST_ID_HEADERS = ("x-openstack-request-id", "x-compute-request-id", "x-request-id")

# Enough for NKS's sentences ("Cluster ... already has an operation in progress").
MESSAGE_LIMIT = 200
# Request ids and codes are short tokens; anything longer is not one.
ID_LIMIT = 64

_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")


@dataclass(frozen=True)
class ErrorDetails:
    """What an error body says: a human message, plus ids when NKS gave them."""

    message: str
    request_id: str | None = None
    code: str | None = None  # Magnum's "client"/"server", Keystone's numeric code, ...


def endpoint_text(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Text an endpoint wrote, fit for a condition or an Event: control and format
    characters (newlines, escapes, bidi overrides) become spaces, whitespace is collapsed,
    and at most `limit` characters are kept, the cut marked with "..."."""
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def media_type(headers: Any) -> str:
    """The answer's media type (`text/html`) without parameters, for messages; a value
    that is not a plain media type is not repeated."""
    value = headers.get("content-type") if headers else None
    if not value:
        return "no content type"
    kind = str(value).split(";", 1)[0].strip().lower()
    return kind if _MEDIA_TYPE.fullmatch(kind) else "unreadable content type"


def describe_body(headers: Any, size: int, *, complete: bool = True) -> str:
    """`text/html, 1234 bytes`: what an answer was, without a byte of what it said."""
    amount = f"{size} bytes" if complete else f"more than {size} bytes"
    return f"{media_type(headers)}, {amount}"


def parse_error_body(
    text: str,
    headers: Any = None,
    *,
    size: int | None = None,
    complete: bool = True,
    secrets: Iterable[str] = (),
) -> ErrorDetails:
    """Best-effort reading of an error body; never raises.

    `size` is the body's length in bytes (default: of `text`), `complete` False when only
    its beginning was read. Every `secrets` value is scrubbed from what is kept.
    """
    clean = _Cleaner(tuple(secrets))
    header_request_id = clean.field(_request_id_from_headers(headers), ID_LIMIT)
    if not text.strip() and complete:
        return ErrorDetails(message="(empty body)", request_id=header_request_id)
    try:
        body = json.loads(text) if complete else None
    except (ValueError, RecursionError):
        body = None
    details = _from_json(body, clean) if body is not None else None
    if details is None:
        size = len(text.encode()) if size is None else size
        kind = "JSON answer without an error message" if body is not None else "non-JSON answer"
        described = describe_body(headers, size, complete=complete)
        return ErrorDetails(message=f"{kind} ({described})", request_id=header_request_id)
    if details.request_id is None and header_request_id is not None:
        details = ErrorDetails(details.message, header_request_id, details.code)
    return details


class _Cleaner:
    """Scrubs secrets from a field and makes it `endpoint_text`."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.secrets = secrets

    def field(self, value: Any, limit: int = MESSAGE_LIMIT) -> str | None:
        if value in (None, ""):
            return None
        # Scrubbed before and after cleaning: a secret may hold whitespace, and cleaning
        # may join one that control characters split.
        text = scrub(endpoint_text(scrub(str(value), self.secrets), limit=1 << 16), self.secrets)
        return endpoint_text(text, limit) or None

    def message(self, value: Any) -> str:
        return self.field(value) or "(no message)"

    def details(self, message: Any, request_id: Any = None, code: Any = None) -> ErrorDetails:
        return ErrorDetails(
            self.message(message), self.field(request_id, ID_LIMIT), self.field(code, ID_LIMIT)
        )


def _request_id_from_headers(headers: Any) -> str | None:
    if not headers:
        return None
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return None


def _from_json(body: Any, clean: _Cleaner) -> ErrorDetails | None:
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("errors"), list) and body["errors"]:
        return _from_magnum_errors(body["errors"], clean)
    if isinstance(body.get("error"), dict):
        error = body["error"]
        message = _first_text(error, "message", "detail", "title")
        if message is not None:
            return clean.details(message, error.get("request_id"), error.get("code"))
    if "error_message" in body:
        return _from_error_message(body["error_message"], clean)
    # Nova (compute) answers {"badRequest": {"message": "...", "code": 400}}.
    if len(body) == 1:
        (inner,) = body.values()
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return clean.details(inner["message"], code=inner.get("code"))
    # Some gateways answer {"message": "..."} or {"detail": "..."}.
    message = _first_text(body, "message", "detail", "title", "faultstring")
    if message is not None:
        return clean.details(message)
    return None


def _from_magnum_errors(errors: list[Any], clean: _Cleaner) -> ErrorDetails:
    messages: list[str] = []
    request_id: Any = None
    code: Any = None
    for error in errors:
        if isinstance(error, str):
            message: str | None = error
        elif isinstance(error, dict):
            message = _first_text(error, "detail", "title", "message")
            request_id = request_id or _text(error.get("request_id"))
            code = code or _text(error.get("code"))
        else:
            continue  # a number or a list is no message
        if message is not None and message not in messages:
            messages.append(message)
        if sum(map(len, messages)) > MESSAGE_LIMIT:
            break  # the rest would be cut anyway
    return clean.details("; ".join(messages), request_id, code)


def _from_error_message(value: Any, clean: _Cleaner) -> ErrorDetails | None:
    if isinstance(value, str):
        try:
            inner = json.loads(value)
        except (ValueError, RecursionError):
            return clean.details(value)
        value = inner
    if isinstance(value, dict):
        message = _first_text(value, "faultstring", "message", "detail", "title")
        if message is not None:
            return clean.details(message, code=value.get("faultcode"))
        return None
    if isinstance(value, str):
        return clean.details(value)
    return None


def _first_text(mapping: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
