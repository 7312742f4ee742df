"""The operator's own Kubernetes calls: Secrets read by name, cached, shared and dropped."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import kopf
import pytest

from nks_operator.api.resources import CLUSTER
from nks_operator.kube.api import KubeAPI
from nks_operator.kube.client import KubeClient, KubeConflict, KubeUnavailable


class FakeAPIServer:
    """An httpx transport answering like the apiserver, counting requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.secret: dict[str, Any] | None = {"metadata": {"name": "creds"}, "data": {"k": "dg=="}}
        self.gate: asyncio.Event | None = None
        self.status_code = 200
        self.tokens: list[str] = []

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        self.tokens.append(request.headers.get("authorization", ""))
        if self.gate is not None:
            await self.gate.wait()
        if self.status_code != 200:
            return httpx.Response(self.status_code, json={"reason": "Conflict", "message": "rv"})
        if request.url.path.endswith("/secrets/creds") and request.method == "GET":
            if self.secret is None:
                return httpx.Response(404, json={"reason": "NotFound"})
            return httpx.Response(200, json=self.secret)
        if request.method == "PATCH":
            return httpx.Response(200, json={"seen": json.loads(request.content)})
        return httpx.Response(404, json={"reason": "NotFound"})


def kube_api(server: FakeAPIServer, ttl: float = 60.0) -> KubeAPI:
    tokens = iter(["one", "two", "three"])

    def login() -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server="http://apiserver", token=next(tokens))

    client = KubeClient(login, transport=httpx.MockTransport(server.handle))
    return KubeAPI(client, secret_ttl=ttl)


async def test_a_secret_is_read_once_per_ttl_and_shared() -> None:
    server = FakeAPIServer()
    kube = kube_api(server)
    server.gate = asyncio.Event()
    readers = [asyncio.create_task(kube.read_secret_cached("ns", "creds")) for _ in range(20)]
    await asyncio.sleep(0.01)
    server.gate.set()
    results = await asyncio.gather(*readers)
    assert all(r == server.secret for r in results)
    assert await kube.read_secret_cached("ns", "creds") == server.secret
    assert server.requests == [("GET", "/api/v1/namespaces/ns/secrets/creds")]
    kube.forget_secret("ns", "creds")  # it did not work: read it again next time
    await kube.read_secret_cached("ns", "creds")
    assert len(server.requests) == 2


async def test_a_missing_secret_is_asked_for_every_time() -> None:
    server = FakeAPIServer()
    server.secret = None
    kube = kube_api(server)
    assert await kube.read_secret_cached("ns", "creds") is None
    assert await kube.read_secret_cached("ns", "creds") is None
    assert len(server.requests) == 2


async def test_metadata_patch_carries_the_resource_version() -> None:
    server = FakeAPIServer()
    kube = kube_api(server)
    answer = await kube.patch_metadata(
        CLUSTER, "ns", "demo", {"finalizers": ["f"]}, resource_version="42"
    )
    assert answer == {"seen": {"metadata": {"finalizers": ["f"], "resourceVersion": "42"}}}
    server.status_code = 409
    with pytest.raises(KubeConflict):
        await kube.patch_metadata(CLUSTER, "ns", "demo", {}, resource_version="41")


async def test_errors_and_login_renewal() -> None:
    server = FakeAPIServer()
    kube = kube_api(server)
    server.status_code = 503
    with pytest.raises(KubeUnavailable):
        await kube.get_object(CLUSTER, "ns", "demo")
    server.status_code = 401
    with pytest.raises(Exception, match="401"):
        await kube.get_object(CLUSTER, "ns", "demo")
    # One new login (a rotated token) and one retry, not more.
    assert server.tokens[-2:] == ["Bearer one", "Bearer two"]
