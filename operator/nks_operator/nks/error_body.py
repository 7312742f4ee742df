"""Extract NKS's own message from an error response, whatever shape it came in.

NKS (a Magnum fork behind an API gateway) answers errors in three shapes:

- `{"errors": [{"status", "title", "detail", "code", "request_id", "links"}]}` (Magnum),
- `{"error": {"title", "message", "code"}}` (Keystone and the gateway),
- `{"error_message": ...}` (WSME faults; the value is often itself a JSON string holding
  `faultstring`),
- `{"badRequest": {"message", "code"}}` (Nova, for the compute API),

and anything else (HTML from a proxy, plain text) falls back to the truncated raw text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nks_operator.nks.masking import truncate

REQUEST_ID_HEADERS = ("x-openstack-request-id", "x-compute-request-id", "x-request-id")


@dataclass(frozen=True)
class ErrorDetails:
    """What an error body says: a human message, plus ids when NKS gave them."""

    message: str
    request_id: str | None = None
    code: str | None = None  # Magnum's "client"/"server", Keystone's numeric code, ...


def parse_error_body(text: str, headers: Any = None) -> ErrorDetails:
    """Best-effort reading of an error body; never raises."""
    header_request_id = _request_id_from_headers(headers)
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    details = _from_json(body) if body is not None else None
    if details is None:
        return ErrorDetails(message=truncate(text) or "(empty body)", request_id=header_request_id)
    if details.request_id is None and header_request_id is not None:
        details = ErrorDetails(details.message, header_request_id, details.code)
    return details


def _request_id_from_headers(headers: Any) -> str | None:
    if not headers:
        return None
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return None


def _from_json(body: Any) -> ErrorDetails | None:
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("errors"), list) and body["errors"]:
        return _from_magnum_errors(body["errors"])
    if isinstance(body.get("error"), dict):
        error = body["error"]
        message = _first_text(error, "message", "detail", "title")
        if message is not None:
            return ErrorDetails(truncate(message), _text(error.get("request_id")), _code(error))
    if "error_message" in body:
        return _from_error_message(body["error_message"])
    # Nova (compute) answers {"badRequest": {"message": "...", "code": 400}}.
    if len(body) == 1:
        (inner,) = body.values()
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return ErrorDetails(truncate(inner["message"]), code=_code(inner))
    # Some gateways answer {"message": "..."} or {"detail": "..."}.
    message = _first_text(body, "message", "detail", "title", "faultstring")
    if message is not None:
        return ErrorDetails(truncate(message))
    return None


def _from_magnum_errors(errors: list[Any]) -> ErrorDetails:
    messages: list[str] = []
    request_id: str | None = None
    code: str | None = None
    for error in errors:
        if not isinstance(error, dict):
            messages.append(str(error))
            continue
        message = _first_text(error, "detail", "title", "message")
        if message is not None and message not in messages:
            messages.append(message)
        request_id = request_id or _text(error.get("request_id"))
        code = code or _code(error)
    return ErrorDetails(truncate("; ".join(messages) or "(no message)"), request_id, code)


def _from_error_message(value: Any) -> ErrorDetails:
    if isinstance(value, str):
        try:
            inner = json.loads(value)
        except ValueError:
            return ErrorDetails(truncate(value))
        value = inner
    if isinstance(value, dict):
        message = _first_text(value, "faultstring", "message", "detail", "title")
        if message is not None:
            return ErrorDetails(truncate(message), code=_text(value.get("faultcode")))
        return ErrorDetails(truncate(json.dumps(value)))
    return ErrorDetails(truncate(str(value)))


def _first_text(mapping: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = mapping.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _code(mapping: dict[str, Any]) -> str | None:
    return _text(mapping.get("code"))
