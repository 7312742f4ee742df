"""Cluster list pagination: limit, marker, sort_key, sort_dir and `next`."""

from __future__ import annotations

import httpx
import pytest

from nks_devtools.simulator import SimulatorConfig
from tests.simulator.helpers import Nks, assert_error, cluster_body

NAMES = ["delta", "alpha", "echo", "charlie", "bravo"]


@pytest.fixture
def simulator_config() -> SimulatorConfig:
    return SimulatorConfig(delay=0.05, page_max_limit=3)


@pytest.fixture
async def uuids(nks: Nks) -> list[str]:
    result = []
    for name in NAMES:
        response = await nks.post("/v1/clusters", cluster_body(name))
        result.append(response.json()["uuid"])
    return result


async def _follow(nks: Nks, path: str) -> list[list[str]]:
    pages = []
    while True:
        response = await nks.get(path)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([c["name"] for c in body["clusters"]])
        if "next" not in body:
            return pages
        path = httpx.URL(body["next"]).raw_path.decode()


async def test_pages_follow_next_in_creation_order(nks: Nks, uuids: list[str]) -> None:
    pages = await _follow(nks, "/v1/clusters?limit=2")
    assert pages == [["delta", "alpha"], ["echo", "charlie"], ["bravo"]]


async def test_next_is_absolute_and_has_limit_and_marker(nks: Nks, uuids: list[str]) -> None:
    body = await nks.json("/v1/clusters?limit=2")
    url = httpx.URL(body["next"])
    assert url.scheme == "http" and url.path == "/v1/clusters"
    assert (url.params["limit"], url.params["marker"]) == ("2", uuids[1])


async def test_sorting_by_name_descending(nks: Nks, uuids: list[str]) -> None:
    pages = await _follow(nks, "/v1/clusters?limit=2&sort_key=name&sort_dir=desc")
    assert pages == [["echo", "delta"], ["charlie", "bravo"], ["alpha"]]


async def test_marker_alone(nks: Nks, uuids: list[str]) -> None:
    body = await nks.json(f"/v1/clusters?marker={uuids[2]}")
    assert [c["name"] for c in body["clusters"]] == ["charlie", "bravo"]
    assert "next" not in body


async def test_page_size_is_capped(nks: Nks, uuids: list[str]) -> None:
    body = await nks.json("/v1/clusters?limit=100")
    assert len(body["clusters"]) == 3 and "next" in body
    assert len((await nks.json("/v1/clusters"))["clusters"]) == 3


async def test_no_next_when_the_last_page_is_exactly_full(nks: Nks) -> None:
    for name in ("one", "two"):
        await nks.post("/v1/clusters", cluster_body(name))
    assert "next" not in await nks.json("/v1/clusters?limit=2")


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("limit=0", 400),
        ("limit=-1", 400),
        ("limit=abc", 400),
        ("sort_key=flavor", 400),
        ("sort_dir=up", 400),
        ("marker=00000000-0000-4000-8000-000000000000", 404),
    ],
)
async def test_bad_pagination_parameters(
    nks: Nks, uuids: list[str], query: str, status: int
) -> None:
    assert_error(await nks.get(f"/v1/clusters?{query}"), status)
