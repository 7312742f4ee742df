"""json_answers.loads: the standard library's results, with short strings shared."""

from __future__ import annotations

import json

import pytest

from nks_operator import json_answers

ODD_BUT_JSON = [
    b'{"labels": {"kube_tag": "v1.29.3", "node_count": 3, "ratio": 1.5, "on": true}}',
    b'\xef\xbb\xbf{"a": 1}',  # a byte-order mark
    b'{"a": "\\ud800"}',  # a lone surrogate escape
    b'{"a": 1, "a": 2}',
    b'{"a": Infinity, "b": 123456789012345678901234567890}',
    b"[" * 500 + b"]" * 500,  # deeper than pydantic-core's 200
    '{"name": "\u00e9"}',
]


@pytest.mark.parametrize("body", ODD_BUT_JSON)
def test_it_reads_what_the_standard_library_reads(body: bytes | str) -> None:
    assert json_answers.loads(body) == json.loads(body)


@pytest.mark.parametrize("body", [b"", b"{", b'{"a": 1} x', b'{"a": "\xff"}', b"<html>"])
def test_what_is_not_json_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        json_answers.loads(body)


def test_short_strings_of_separate_answers_are_one_object() -> None:
    first = json_answers.loads(b'{"availability_zone": "kr1-pub-a"}')
    second = json_answers.loads(b'{"availability_zone": "kr1-pub-a"}')
    ((key_1, value_1),) = first.items()
    ((key_2, value_2),) = second.items()
    assert key_1 is key_2 and value_1 is value_2


def test_a_shared_copy_is_equal_and_shares_its_short_strings() -> None:
    decoded = json.loads('{"status": {"conditions": [{"type": "Ready", "status": "True"}]}}')
    other = json.loads('{"status": {"conditions": [{"type": "Ready", "status": "True"}]}}')
    first, second = json_answers.shared(decoded), json_answers.shared(other)
    assert first == decoded and first is not decoded
    condition_1, condition_2 = first["status"]["conditions"][0], second["status"]["conditions"][0]
    assert condition_1["type"] is condition_2["type"]
    assert next(iter(condition_1)) is next(iter(condition_2))


def test_what_cannot_be_written_as_json_is_kept_as_it_is() -> None:
    odd = {"name": "\ud800"}
    assert json_answers.shared(odd) is odd


@pytest.mark.parametrize(
    "value",
    [
        {"status": {"message": "NKS reports CREATE_COMPLETE", "nodeCount": 3, "ratio": 1.5}},
        {"message": '클러스터 "demo"\n', "none": None, "list": [True, False, {}]},
        {"message": "\udc80 from an answer the standard library decoded"},
    ],
)
def test_a_request_body_reads_back_as_the_value(value: object) -> None:
    body = json_answers.dumps(value)
    assert isinstance(body, bytes)
    assert json.loads(body) == value
