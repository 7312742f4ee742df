"""Leader election on a Lease: take a free one, wait out a held one on our own clock."""

from __future__ import annotations

import asyncio
import copy
import datetime
import json
from typing import Any

import httpx
import kopf

from nks_operator.kube.client import KubeClient
from nks_operator.runtime.leader import LeaderElection, LeaseSettings
from tests.unit.fake_clock import FakeClock

PATH = "/apis/coordination.k8s.io/v1/namespaces/ops/leases/nks"


class LeaseServer:
    """The Lease endpoints of an apiserver: create, read, conditional replace."""

    def __init__(self) -> None:
        self.lease: dict[str, Any] | None = None
        self.version = 0
        self.hang = False

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if self.hang:
            await asyncio.sleep(60)
        if request.method == "GET":
            if self.lease is None:
                return httpx.Response(404, json={"reason": "NotFound"})
            return httpx.Response(200, json=self.lease)
        body = json.loads(request.content)
        if request.method == "POST":
            if self.lease is not None:
                return httpx.Response(409, json={"reason": "AlreadyExists"})
        elif body["metadata"].get("resourceVersion") != str(self.version):
            return httpx.Response(409, json={"reason": "Conflict"})
        self.version += 1
        body["metadata"]["resourceVersion"] = str(self.version)
        self.lease = body
        return httpx.Response(200, json=body)

    def holder(self) -> str | None:
        return None if self.lease is None else self.lease["spec"].get("holderIdentity")


def candidate(
    server: LeaseServer, identity: str, clock: FakeClock | None = None, **settings: float
) -> LeaderElection:
    """A replica; with `clock`, it waits and times the Lease on that clock alone."""
    client = KubeClient(
        lambda: kopf.ConnectionInfo(server="http://apiserver", token="t"),
        transport=httpx.MockTransport(server.handle),
    )
    options = {"lease_seconds": 0.3, "renew_deadline": 0.2, "retry_seconds": 0.05, **settings}
    lease = LeaseSettings("nks", "ops", **options)
    if clock is None:
        return LeaderElection(client, lease, identity=identity)
    return LeaderElection(
        client,
        lease,
        identity=identity,
        clock=lambda: datetime.datetime.fromtimestamp(clock(), datetime.UTC),
        monotonic=clock,
        sleep=clock.sleep,
    )


async def test_a_free_lease_is_taken_and_a_held_one_waited_for() -> None:
    server = LeaseServer()
    clock = FakeClock()
    first, second = candidate(server, "a", clock), candidate(server, "b", clock)
    await asyncio.wait_for(first.acquire(), 1)
    assert server.holder() == "a"
    keeping = asyncio.create_task(first.keep())
    waiting = asyncio.create_task(second.acquire())
    # Twice the Lease's duration, both replicas retrying: renewed all along.
    await clock.run_until(clock() + 0.6, sleepers=2)
    assert not waiting.done() and server.holder() == "a"
    keeping.cancel()  # the leader dies without releasing
    died = clock()
    while not waiting.done():
        await clock.step(until=waiting)
    assert server.holder() == "b"
    # Taken once the Lease expired unrenewed: its duration (0.3 s) and a retry or two.
    assert 0.3 - 1e-9 <= clock() - died <= 0.3 + 2 * 0.05 + 1e-9
    assert server.lease is not None and server.lease["spec"]["leaseTransitions"] == 1


async def test_expiry_is_timed_on_our_own_clock() -> None:
    """A holder whose renewTime is far in the past (another node's clock) but who keeps
    renewing is never overtaken."""
    server = LeaseServer()
    clock = FakeClock()
    leader = candidate(server, "a", clock)
    await leader.acquire()
    keeping = asyncio.create_task(leader.keep())
    original = server.handle

    async def skewed(request: httpx.Request) -> httpx.Response:
        response = await original(request)
        if request.method == "GET" and server.lease is not None:
            lease = copy.deepcopy(server.lease)
            renewed = datetime.datetime.fromisoformat(lease["spec"]["renewTime"].rstrip("Z"))
            skewed_time = renewed - datetime.timedelta(days=1)  # the holder's clock is off
            lease["spec"]["renewTime"] = skewed_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            return httpx.Response(200, json=lease)
        return response

    server.handle = skewed  # type: ignore[method-assign]
    other = candidate(server, "b", clock)
    waiting = asyncio.create_task(other.acquire())
    await clock.run_until(clock() + 0.6, sleepers=2)  # twice the Lease's duration
    assert not waiting.done() and server.holder() == "a"
    waiting.cancel()
    keeping.cancel()


async def test_a_hanging_apiserver_ends_the_leadership_in_time() -> None:
    server = LeaseServer()
    leader = candidate(server, "a")
    await leader.acquire()
    server.hang = True
    await asyncio.wait_for(leader.keep(), 2)  # lost within the renew deadline (+ attempts)
    assert not leader.leading


async def test_release_hands_the_lease_over() -> None:
    server = LeaseServer()
    leader, other = candidate(server, "a"), candidate(server, "b", lease_seconds=30)
    await leader.acquire()
    await leader.release()
    assert server.holder() is None
    await asyncio.wait_for(other.acquire(), 1)  # at once, not after 30 s
    assert server.holder() == "b"
