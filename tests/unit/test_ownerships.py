"""NKSOwnership records released by this process: a record it created goes with one
delete conditional on the version it created; anything else is read and judged first."""

from __future__ import annotations

from typing import Any

from nks_operator.kube.ownership import Owner, Ownerships
from tests.unit.test_reconciler import Harness

ID = "0b6c8a30-5e4b-4bb4-a3c1-1b1d1bd7d1a0"
PATH = f"/apis/nks.nhncloud.com/v1alpha1/nksownerships/cluster.{ID}"
OWNER = Owner("NKSCluster", "ns", "demo", "u1")


def counting_reads(ownerships: Ownerships) -> list[str]:
    reads: list[str] = []
    read = ownerships.kube.read_ownership

    async def read_ownership(name: str) -> Any:
        reads.append(name)
        return await read(name)

    ownerships.kube.read_ownership = read_ownership  # type: ignore[method-assign]
    return reads


async def test_a_record_this_process_created_is_released_without_a_read() -> None:
    h = Harness()
    ownerships = Ownerships(h.ctx.kube)
    reads = counting_reads(ownerships)
    assert await ownerships.claim("cluster", ID, OWNER)
    assert PATH in h.server.store.objects
    await ownerships.release("cluster", ID, OWNER)
    assert PATH not in h.server.store.objects
    assert reads == []


async def test_a_record_changed_since_it_was_created_is_read_and_another_s_kept() -> None:
    h = Harness()
    ownerships = Ownerships(h.ctx.kube)
    reads = counting_reads(ownerships)
    assert await ownerships.claim("cluster", ID, OWNER)
    record = h.server.store.objects[PATH]
    taken = {**record, "spec": {**record["spec"], "owner": {**OWNER.as_dict(), "uid": "other"}}}
    taken["metadata"] = {**record["metadata"], "resourceVersion": "999"}
    h.server.store.objects[PATH] = taken  # taken over behind this process's back
    await ownerships.release("cluster", ID, OWNER)
    assert h.server.store.objects[PATH] is taken
    assert reads == [f"cluster.{ID}"]


async def test_after_a_restart_the_record_is_read_before_its_release() -> None:
    h = Harness()
    assert await Ownerships(h.ctx.kube).claim("cluster", ID, OWNER)
    restarted = Ownerships(h.ctx.kube)
    reads = counting_reads(restarted)
    await restarted.release("cluster", ID, OWNER)
    assert PATH not in h.server.store.objects
    assert reads == [f"cluster.{ID}"]
