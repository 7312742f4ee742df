"""The exceptions of the NKS client: one type per meaning, all under `NKSError`.

Callers decide from the type alone (e.g. `NotFoundError` after a delete means "gone"),
and every exception carries the operation, HTTP status, NKS request id and NKS's own
message for logs and Kubernetes Events. No exception text ever holds a credential.
"""

from __future__ import annotations

from nks_operator.nks.allowlist import describe
from nks_operator.nks.error_body import ErrorDetails


class NKSError(Exception):
    """Base of every error raised by `nks_operator.nks`."""

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = str(operation) if operation is not None else None
        self.status_code = status_code
        self.request_id = request_id
        self.code = code

    def __str__(self) -> str:
        parts = []
        if self.operation:
            parts.append(f"{self.operation}:")
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}:")
        parts.append(self.message)
        if self.request_id:
            parts.append(f"(request id {self.request_id})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, operation={self.operation!r}, "
            f"status_code={self.status_code!r}, request_id={self.request_id!r})"
        )


class ConfigurationError(NKSError, ValueError):
    """The client was set up wrongly (e.g. an unknown region); no request was made."""


class EndpointNotAllowedError(ConfigurationError):
    """A request to an endpoint outside the `EndpointPolicy`: nothing was sent to it.

    `endpoint` is `scheme://host:port` only: a path or query a tenant wrote may carry
    anything, so neither is ever repeated.
    """

    def __init__(self, url: str, *, operation: str | None = None) -> None:
        self.endpoint = describe(url)
        super().__init__(
            f"requests to {self.endpoint} are not allowed: the operator sends credentials "
            "only to NHN Cloud's public https API hosts and to the URL prefixes its admin "
            "lists in NKS_ALLOWED_ENDPOINTS (--allowed-endpoints)",
            operation=operation,
        )


class APIError(NKSError):
    """NKS (or the identity service) answered with an error status."""

    status_code: int


class InvalidRequestError(APIError):
    """400, 405, 406, 422 and other 4xx: NKS refused the request as it stands.

    Includes NKS's "operation in progress" refusals (400) and an unsupported microversion
    (406). Repeating the same request will not help.
    """


class UnauthorizedError(APIError):
    """401: the token was rejected (the client already re-authenticated once)."""


class AuthenticationError(UnauthorizedError):
    """401 from the identity service: tenant, username or API password is wrong."""


class ForbiddenError(APIError):
    """403: not allowed - including quota exceeded and `default-master` reads."""

    @property
    def is_quota(self) -> bool:
        """Whether NKS's message says a quota was exceeded."""
        return "quota" in self.message.lower()


class NotFoundError(APIError):
    """404: the cluster, node group or task does not exist (or no longer exists)."""


class ConflictError(APIError):
    """409: e.g. a duplicate node group name, or a cluster name matching several clusters."""


class RateLimitedError(APIError):
    """429: too many requests; `retry_after` is how long NKS asked us to wait, in seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        operation: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(
            message,
            operation=operation,
            status_code=status_code,
            request_id=request_id,
            code=code,
        )
        self.retry_after = retry_after

    def __str__(self) -> str:
        text = super().__str__()
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g}s)"
        return text


class ServerError(APIError):
    """5xx: NKS failed. A write may or may not have been applied: re-read state."""


class TransportError(NKSError):
    """No HTTP answer: connection refused, DNS, timeouts, a dropped connection.

    `may_have_reached_server` is False only when the request certainly never left (the
    connection could not be made), so a write can be safely repeated; otherwise a write may
    have been applied and the caller must re-read state before repeating it.
    """

    def __init__(
        self, message: str, *, may_have_reached_server: bool, operation: str | None = None
    ) -> None:
        super().__init__(message, operation=operation)
        self.may_have_reached_server = may_have_reached_server


class InvalidResponseError(NKSError):
    """A successful status with a body that is not valid JSON or not the expected shape."""


class AnswerTooLargeError(InvalidResponseError):
    """An answer longer than the client's `max_answer_bytes`: refused, not read to its end."""

    def __init__(
        self, limit: int, *, operation: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(
            f"the answer exceeds the limit of {limit} bytes (NKS_MAX_ANSWER_BYTES) and was "
            "not read",
            operation=operation,
            status_code=status_code,
        )
        self.limit = limit


def error_for_status(
    status_code: int,
    details: ErrorDetails,
    *,
    operation: str | None,
    retry_after: float | None = None,
    identity: bool = False,
) -> APIError:
    """The exception for an HTTP error status, carrying NKS's parsed message."""
    if status_code == 429:
        return RateLimitedError(
            details.message,
            retry_after=retry_after,
            operation=operation,
            status_code=status_code,
            request_id=details.request_id,
            code=details.code,
        )
    cls: type[APIError]
    if status_code == 401:
        cls = AuthenticationError if identity else UnauthorizedError
    elif status_code == 403:
        cls = ForbiddenError
    elif status_code == 404:
        cls = NotFoundError
    elif status_code == 409:
        cls = ConflictError
    elif status_code >= 500:
        cls = ServerError
    else:
        cls = InvalidRequestError
    return cls(
        details.message,
        operation=operation,
        status_code=status_code,
        request_id=details.request_id,
        code=details.code,
    )
