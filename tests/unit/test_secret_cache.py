"""Credentials Secrets are read once, and again after the watch reports a change."""

from __future__ import annotations

import asyncio

import pytest
from kubernetes import client

from nks_operator.kube.api import KubeAPI


class CountingKube(KubeAPI):
    def __init__(self) -> None:
        super().__init__(client.ApiClient(client.Configuration()))
        self.reads = 0
        self.value = "v1"
        self.during_read: asyncio.Event | None = None

    async def read_secret(self, namespace: str, name: str) -> client.V1Secret | None:
        self.reads += 1
        value = self.value
        if self.during_read is not None:
            await self.during_read.wait()
        if value == "missing":
            return None
        return client.V1Secret(data={"password": value})


async def test_read_once_then_again_after_a_change() -> None:
    kube = CountingKube()
    first = await kube.read_watched_secret("ns", "creds")
    assert (await kube.read_watched_secret("ns", "creds")) is first
    assert kube.reads == 1
    kube.value = "v2"
    kube.secret_changed("ns", "creds")
    changed = await kube.read_watched_secret("ns", "creds")
    assert changed is not None and changed.data == {"password": "v2"}
    assert kube.reads == 2
    kube.secret_changed("ns", "other")  # never read: nothing to drop, nothing kept
    assert kube.reads == 2


async def test_a_missing_secret_is_asked_for_every_time() -> None:
    kube = CountingKube()
    kube.value = "missing"
    assert await kube.read_watched_secret("ns", "creds") is None
    assert await kube.read_watched_secret("ns", "creds") is None
    assert kube.reads == 2


@pytest.mark.parametrize("changed_during_read", [True, False])
async def test_a_change_during_the_read_is_not_hidden(changed_during_read: bool) -> None:
    kube = CountingKube()
    kube.during_read = asyncio.Event()
    reading = asyncio.create_task(kube.read_watched_secret("ns", "creds"))
    await asyncio.sleep(0)
    if changed_during_read:
        kube.secret_changed("ns", "creds")
    kube.during_read.set()
    await reading
    kube.during_read = None
    await kube.read_watched_secret("ns", "creds")
    assert kube.reads == (2 if changed_during_read else 1)


async def test_own_writes_drop_the_cached_value() -> None:
    kube = CountingKube()
    await kube.read_watched_secret("ns", "config")

    def ignore(*_: object) -> None:
        return None

    kube.core.replace_namespaced_secret = ignore  # type: ignore[method-assign]
    kube.core.delete_namespaced_secret = ignore  # type: ignore[method-assign]
    await kube.upsert_secret("ns", client.V1Secret(metadata=client.V1ObjectMeta(name="config")))
    await kube.read_watched_secret("ns", "config")
    assert kube.reads == 2
    await kube.delete_secret("ns", "config")
    await kube.read_watched_secret("ns", "config")
    assert kube.reads == 3
