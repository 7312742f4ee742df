"""Errors the simulator answers, in the body shapes NKS (Magnum) and Keystone use.

Handlers raise; the dispatcher turns the exception into a response, so every rule
answers with the same, upstream-shaped body.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


def status_title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def nks_error_body(status: int, detail: str, request_id: str) -> dict[str, Any]:
    """Magnum's error document: `{"errors": [{request_id, code, status, title, detail, links}]}`."""
    return {
        "errors": [
            {
                "request_id": request_id,
                "code": "client" if status < 500 else "server",
                "status": status,
                "title": status_title(status),
                "detail": detail,
                "links": [],
            }
        ]
    }


def keystone_error_body(status: int, message: str) -> dict[str, Any]:
    """Keystone's (and keystonemiddleware's) error document."""
    return {"error": {"message": message, "code": status, "title": status_title(status)}}


class ApiError(Exception):
    """A refused call: HTTP status and the human-readable reason NKS would give."""

    keystone_shape = False

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}

    def body(self, request_id: str) -> dict[str, Any]:
        if self.keystone_shape:
            return keystone_error_body(self.status, self.detail)
        return nks_error_body(self.status, self.detail, request_id)


class KeystoneError(ApiError):
    """Identity and authentication failures, answered in Keystone's shape."""

    keystone_shape = True


class BadRequest(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(400, detail)


class Forbidden(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(403, detail)


class NotFound(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(404, detail)


class Conflict(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(409, detail)


class OperationInProgress(BadRequest):
    """Another operation runs on the cluster. NKS may also accept and silently drop the call,
    so the exception carries the answer the caller would have got had it been accepted."""

    def __init__(self, detail: str, accepted_status: int, accepted_body: Any) -> None:
        super().__init__(detail)
        self.accepted_status = accepted_status
        self.accepted_body = accepted_body


_NOVA_KINDS = {400: "badRequest", 403: "forbidden", 404: "itemNotFound"}


class ComputeError(ApiError):
    """A compute (Nova) refusal, in Nova's shape: `{"badRequest": {"message", "code"}}`."""

    def body(self, request_id: str) -> dict[str, Any]:
        kind = _NOVA_KINDS.get(self.status, "computeFault")
        return {kind: {"message": self.detail, "code": self.status}}
