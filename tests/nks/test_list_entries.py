"""A list entry NKS answers as before is taken from the last list, not validated again
(nks/listing.py, `ReadEntries`): the same model object, and a changed entry read anew."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from nks_operator.nks import NKSClient
from nks_operator.nks.errors import NKSError
from tests.nks.conftest import NKS_URL

CLUSTERS = f"{NKS_URL}/v1/clusters"


def entry(uuid: str, status: str = "CREATE_COMPLETE", **labels: Any) -> dict[str, Any]:
    return {"uuid": uuid, "name": f"c-{uuid}", "status": status, "labels": labels}


def page(*entries: dict[str, Any], next_link: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"clusters": list(entries)}
    if next_link:
        body["next"] = next_link
    return httpx.Response(200, json=body)


async def test_an_unchanged_entry_is_the_last_list_s_model(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(CLUSTERS).mock(
        side_effect=[
            page(entry("a"), entry("b")),
            page(entry("a"), entry("b")),
            page(entry("a"), entry("b", "UPDATE_IN_PROGRESS")),
        ]
    )
    first = {c.uuid: c for c in await client.list_clusters()}
    second = {c.uuid: c for c in await client.list_clusters()}
    assert second["a"] is first["a"] and second["b"] is first["b"]
    third = {c.uuid: c for c in await client.list_clusters()}
    assert third["a"] is first["a"]
    assert third["b"] is not first["b"] and third["b"].status == "UPDATE_IN_PROGRESS"


async def test_a_list_that_fails_part_way_keeps_the_last_complete_one(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    second_page = f"{CLUSTERS}?marker=a"
    mock_api.get(CLUSTERS, params={"marker": "a"}).mock(
        side_effect=[page(entry("b")), httpx.Response(404, json={}), page(entry("b"))]
    )
    mock_api.get(CLUSTERS).mock(
        side_effect=[
            page(entry("a"), next_link=second_page),
            page(entry("a", kube_tag="v1.29.3"), next_link=second_page),
            page(entry("a"), next_link=second_page),
        ]
    )
    first = {c.uuid: c for c in await client.list_clusters()}
    with pytest.raises(NKSError):
        await client.list_clusters()  # its first page was read, its second failed
    third = {c.uuid: c for c in await client.list_clusters()}
    assert third["a"] is first["a"] and third["b"] is first["b"]


async def test_an_unreadable_entry_is_reported_every_time(
    client: NKSClient, mock_api: respx.MockRouter
) -> None:
    odd = {"name": "no-uuid", "status": "CREATE_COMPLETE"}
    mock_api.get(CLUSTERS).mock(side_effect=[page(entry("a"), odd), page(entry("a"), odd)])
    for _ in range(2):
        listing = await client.list_clusters()
        assert [c.uuid for c in listing] == ["a"]
        assert [e.name for e in listing.unreadable] == ["no-uuid"]
