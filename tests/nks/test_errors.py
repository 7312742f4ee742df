"""Each HTTP failure maps to its exception type, with NKS's message from any body shape."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from nks_operator.nks import (
    NO_RETRIES,
    APIError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    InvalidResponseError,
    NKSClient,
    NKSError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnauthorizedError,
)
from nks_operator.nks.error_body import parse_error_body

from .conftest import IDENTITY_URL, NKS_URL

CL = "c0ffee00-0000-4000-8000-000000000001"
URL = f"{NKS_URL}/v1/clusters/{CL}"


def magnum_body(status: int, detail: str) -> dict[str, Any]:
    return {
        "errors": [
            {
                "request_id": "req-magnum-1",
                "code": "client" if status < 500 else "server",
                "status": status,
                "title": "Title only",
                "detail": detail,
                "links": [],
            }
        ]
    }


def keystone_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "code": status, "title": "Some Title"}}


def wsme_body(message: str) -> dict[str, Any]:
    inner = {"faultstring": message, "faultcode": "Client", "debuginfo": None}
    return {"error_message": json.dumps(inner)}


SHAPES = {
    "magnum": lambda status, msg: httpx.Response(status, json=magnum_body(status, msg)),
    "keystone": lambda status, msg: httpx.Response(status, json=keystone_body(status, msg)),
    "wsme": lambda status, msg: httpx.Response(status, json=wsme_body(msg)),
    "wsme-plain": lambda status, msg: httpx.Response(status, json={"error_message": msg}),
    "text": lambda status, msg: httpx.Response(status, text=f"<html><body>{msg}</body></html>"),
}

STATUSES = {
    400: InvalidRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    405: InvalidRequestError,
    406: InvalidRequestError,
    409: ConflictError,
    422: InvalidRequestError,
    429: RateLimitedError,
    500: ServerError,
    502: ServerError,
    503: ServerError,
}


@pytest.fixture
async def client_without_retries(credentials, mock_api, token_cache):
    async with NKSClient(
        credentials,
        nks_url=NKS_URL,
        identity_url=IDENTITY_URL,
        token_cache=token_cache,
        retry=NO_RETRIES,
    ) as nks:
        yield nks


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("status", sorted(STATUSES))
async def test_status_maps_to_error_class_with_message(
    status: int, shape: str, client_without_retries: NKSClient, mock_api: respx.MockRouter
) -> None:
    message = f"Cluster {CL} says no ({status})"
    mock_api.get(URL).mock(return_value=SHAPES[shape](status, message))

    with pytest.raises(NKSError) as caught:
        await client_without_retries.get_cluster(CL)

    error = caught.value
    assert type(error) is STATUSES[status]
    assert isinstance(error, APIError)
    assert error.status_code == status
    assert error.operation == "get_cluster"
    assert "get_cluster" in str(error)
    if shape == "text":  # not NKS's shape: described, never quoted
        assert message not in str(error)
        assert error.message == f"non-JSON answer (text/plain, {len(message) + 26} bytes)"
        return
    assert message in error.message
    assert message in str(error)
    if shape == "magnum":
        assert error.request_id == "req-magnum-1"
        assert "Title only" not in error.message  # detail wins over title


async def test_request_id_from_header(
    client_without_retries: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(URL).mock(
        return_value=httpx.Response(
            404,
            json=keystone_body(404, "nope"),
            headers={"x-openstack-request-id": "req-header-7"},
        )
    )
    with pytest.raises(NotFoundError) as caught:
        await client_without_retries.get_cluster(CL)
    assert caught.value.request_id == "req-header-7"
    assert "req-header-7" in str(caught.value)


async def test_quota_is_a_forbidden_error(
    client_without_retries: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(URL).mock(
        return_value=httpx.Response(403, json=magnum_body(403, "Quota exceeded for nodes"))
    )
    with pytest.raises(ForbiddenError) as caught:
        await client_without_retries.get_cluster(CL)
    assert caught.value.is_quota


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("0", 0.0), ("1.5", 1.5), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), (None, None)],
)
async def test_rate_limited_carries_retry_after(
    header: str | None,
    expected: float | None,
    client_without_retries: NKSClient,
    mock_api: respx.MockRouter,
) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    mock_api.get(URL).mock(return_value=httpx.Response(429, text="slow down", headers=headers))
    with pytest.raises(RateLimitedError) as caught:
        await client_without_retries.get_cluster(CL)
    assert caught.value.retry_after == expected


@pytest.mark.parametrize("shape", ["magnum", "keystone", "wsme", "wsme-plain"])
async def test_long_messages_are_cut_and_cleaned(
    shape: str, client_without_retries: NKSClient, mock_api: respx.MockRouter
) -> None:
    """NKS's message, whatever its shape, reaches a condition as one short line."""
    message = "Quota\r\n\x1b[31mexceeded\u202e\u0000 " + "x" * 10_000
    mock_api.get(URL).mock(return_value=SHAPES[shape](403, message))
    with pytest.raises(ForbiddenError) as caught:
        await client_without_retries.get_cluster(CL)
    text = caught.value.message
    assert text.startswith("Quota [31mexceeded ") and text.endswith("...")
    assert len(text) == 200
    assert caught.value.is_quota


async def test_long_raw_text_is_not_quoted(
    client_without_retries: NKSClient, mock_api: respx.MockRouter
) -> None:
    body = "<html>" + "x" * 100_000
    mock_api.get(URL).mock(
        return_value=httpx.Response(502, text=body, headers={"content-type": "text/html"})
    )
    with pytest.raises(ServerError) as caught:
        await client_without_retries.get_cluster(CL)
    # An error body is read only this far: its message is all that is wanted of it.
    assert caught.value.message == "non-JSON answer (text/html, more than 65536 bytes)"


@pytest.mark.parametrize(
    ("headers", "described"),
    [
        ({"content-type": "text/html; charset=utf-8"}, "text/html"),
        ({"content-type": "TEXT/PLAIN"}, "text/plain"),
        ({"content-type": "<script>alert(1)</script>"}, "unreadable content type"),
        ({"content-type": "text/" + "x" * 500}, "unreadable content type"),
        ({}, "no content type"),
    ],
)
def test_content_type_is_described_only_when_plain(headers: dict[str, str], described: str) -> None:
    details = parse_error_body("oops", httpx.Headers(headers))
    assert details.message == f"non-JSON answer ({described}, 4 bytes)"


def test_json_without_a_known_message_is_not_quoted() -> None:
    body = json.dumps({"debug": "secret internals", "trace": ["a"]})
    details = parse_error_body(body, httpx.Headers({"content-type": "application/json"}))
    assert details.message == (
        f"JSON answer without an error message (application/json, {len(body)} bytes)"
    )


def test_request_ids_and_codes_are_short_tokens() -> None:
    body = {"errors": [{"detail": "no", "request_id": "r" * 500, "code": "c\n" * 100}]}
    details = parse_error_body(json.dumps(body))
    assert details.request_id == "r" * 61 + "..."
    assert details.code is not None and len(details.code) == 64 and "\n" not in details.code
    header = parse_error_body("", httpx.Headers({"x-openstack-request-id": "id\x1b[2J" * 50}))
    assert header.request_id is not None and "\x1b" not in header.request_id


def test_secrets_are_scrubbed_after_json_decoding() -> None:
    """A secret JSON-escaped in the body (unicode escapes) is still caught."""
    body = '{"error": {"message": "bad password \\u0073ecret-pw"}}'
    assert "secret-pw" not in body
    details = parse_error_body(body, secrets=["secret-pw"])
    assert details.message == "bad password ***"


def test_deeply_nested_json_is_described() -> None:
    body = "[" * 100_000 + "]" * 100_000
    assert parse_error_body(body).message.startswith("non-JSON answer")


@pytest.mark.parametrize(
    ("exception", "reached"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("connect timed out"), False),
        (httpx.PoolTimeout("pool"), False),
        (httpx.ReadTimeout("read timed out"), True),
        (httpx.WriteTimeout("write timed out"), True),
        (httpx.RemoteProtocolError("server disconnected"), True),
        (httpx.ReadError("reset"), True),
    ],
)
async def test_transport_failures(
    exception: Exception,
    reached: bool,
    client_without_retries: NKSClient,
    mock_api: respx.MockRouter,
) -> None:
    mock_api.get(URL).mock(side_effect=exception)
    with pytest.raises(TransportError) as caught:
        await client_without_retries.get_cluster(CL)
    assert caught.value.may_have_reached_server is reached
    assert caught.value.status_code is None
    assert type(exception).__name__ in str(caught.value)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="{not json"),
        httpx.Response(200, json=["a", "list"]),
        httpx.Response(200, json={"name": "no uuid"}),
        httpx.Response(200, json={"uuid": 42}),
        httpx.Response(200, content=b""),
        httpx.Response(200, json=None),
        httpx.Response(200, json="a string"),
    ],
    ids=["invalid-json", "list", "missing-uuid", "numeric-uuid", "empty", "null", "string"],
)
async def test_invalid_success_bodies(
    response: httpx.Response, client_without_retries: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(URL).mock(return_value=response)
    with pytest.raises(InvalidResponseError) as caught:
        await client_without_retries.get_cluster(CL)
    assert caught.value.operation == "get_cluster"


@pytest.mark.parametrize(
    "body", [None, {}, {"supported_k8s": {}}, {"supported_k8s": None}], ids=str
)
async def test_supports_without_versions_is_invalid_response(
    body: object, client_without_retries: NKSClient, mock_api: respx.MockRouter
) -> None:
    """An empty version list would refuse every spec as InvalidSpec: it is a bad answer."""
    mock_api.get(f"{NKS_URL}/v1/supports").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(InvalidResponseError):
        await client_without_retries.get_supports()


async def test_unexpected_success_status_is_invalid_response(
    client_without_retries: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(URL).mock(return_value=httpx.Response(302, headers={"Location": "/elsewhere"}))
    with pytest.raises(InvalidResponseError) as caught:
        await client_without_retries.get_cluster(CL)
    assert caught.value.status_code == 302


async def test_unreadable_fields_make_them_unknown_not_the_answer(
    client_without_retries: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(URL).mock(
        return_value=httpx.Response(200, json={"uuid": CL, "labels": "not an object"})
    )
    cluster = await client_without_retries.get_cluster(CL)
    assert cluster.uuid == CL and cluster.labels.kube_tag is None
    assert set(cluster.unreadable) == {"labels"}


async def test_list_with_unreadable_entries_keeps_the_others(
    client_without_retries: NKSClient, mock_api: respx.MockRouter
) -> None:
    entries = [{"uuid": "ok"}, {"name": "no-uuid"}, "garbage", {"uuid": "b", "name": 5}]
    mock_api.get(f"{NKS_URL}/v1/clusters").mock(
        return_value=httpx.Response(200, json={"clusters": entries})
    )
    listing = await client_without_retries.list_clusters()
    assert [c.uuid for c in listing] == ["ok", "b"]
    assert listing[1].unreadable == {"name": "Input should be a valid string"}
    assert [(e.uuid, e.name) for e in listing.unreadable] == [(None, "no-uuid"), (None, None)]
    assert all("uuid" in e.problem or "dictionary" in e.problem for e in listing.unreadable)


async def test_a_list_that_is_not_a_list_fails_whole(
    client_without_retries: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(f"{NKS_URL}/v1/clusters").mock(
        return_value=httpx.Response(200, json={"clusters": {"uuid": "ok"}})
    )
    with pytest.raises(InvalidResponseError):
        await client_without_retries.list_clusters()


async def test_create_without_uuid_is_invalid_response(
    client_without_retries: NKSClient, mock_api: respx.MockRouter
) -> None:
    from .test_wire_format import cluster_create_request

    mock_api.post(f"{NKS_URL}/v1/clusters").mock(return_value=httpx.Response(202, json={}))
    with pytest.raises(InvalidResponseError):
        await client_without_retries.create_cluster(cluster_create_request())


def test_error_message_json_string_without_faultstring() -> None:
    details = parse_error_body(json.dumps({"error_message": json.dumps({"other": 1})}))
    assert details.message.startswith("JSON answer without an error message (")
    assert "other" not in details.message


def test_multiple_magnum_errors_are_joined() -> None:
    body = {"errors": [{"detail": "first"}, {"title": "second"}, {"detail": "first"}]}
    assert parse_error_body(json.dumps(body)).message == "first; second"


def test_empty_body() -> None:
    assert parse_error_body("").message == "(empty body)"
