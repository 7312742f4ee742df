"""Fixtures of the simulator tests: httpx clients and tenant sessions on the `simulator`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from nks_devtools.simulator import SimulatorHandle
from tests.simulator.helpers import Nks, http_client


@pytest.fixture
async def http(simulator: SimulatorHandle) -> AsyncIterator[httpx.AsyncClient]:
    """A plain client on the simulator's base URL (no token)."""
    async with http_client(simulator.url) as client:
        yield client


@pytest.fixture
async def nks(http: httpx.AsyncClient) -> Nks:
    """Tenant A's session."""
    return await Nks.login(http, "tenant-a")


@pytest.fixture
async def cluster(nks: Nks) -> dict[str, Any]:
    """A CREATE_COMPLETE cluster of tenant A with a 2-node default-worker (its GET document)."""
    return await nks.create_cluster("test-k8s", node_count=2)


@pytest.fixture
def cpath(cluster: dict[str, Any]) -> str:
    """The cluster's path: /v1/clusters/{uuid}."""
    return f"/v1/clusters/{cluster['uuid']}"
