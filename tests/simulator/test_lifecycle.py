"""Lifecycles on a fake clock: the realistic default timings, without waiting for them."""

from __future__ import annotations

from nks_devtools.simulator import Simulator, SimulatorConfig, clusters
from nks_devtools.simulator.core import RequestContext
from nks_devtools.simulator.identity import Token
from nks_devtools.simulator.views import timestamp
from tests.simulator.helpers import cluster_body

START = 1_700_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def _context(sim: Simulator, now: float) -> RequestContext:
    token = Token("t0k3n", "tenant-a", "user", START, START + 3600)
    return RequestContext(sim.store.tenant("tenant-a"), token, now, "http://sim", "req-1")


def test_default_timings_create_600s_delete_300s() -> None:
    clock = FakeClock()
    sim = Simulator(SimulatorConfig(), clock=clock)
    reply = clusters.create_cluster(sim, _context(sim, clock.now), {}, {}, cluster_body())
    uuid = reply.body["uuid"]
    cluster = sim.store.tenant("tenant-a").clusters[uuid]

    clock.now = START + 599
    sim.advance()
    assert cluster.status == "CREATE_IN_PROGRESS"
    clock.now = START + 600
    sim.advance()
    assert cluster.status == "CREATE_COMPLETE"
    assert cluster.updated_at == START + 600  # stamped with the due time, not the read time
    assert cluster.events[0].updated_at == START + 600

    clock.now = START + 1000
    clusters.delete_cluster(sim, _context(sim, clock.now), {"cluster": uuid}, {}, None)
    clock.now = START + 1299
    sim.advance()
    assert cluster.status == "DELETE_IN_PROGRESS"
    clock.now = START + 1300
    sim.advance()
    tenant = sim.store.tenant("tenant-a")
    assert tenant.clusters == {}
    assert tenant.deleted == [{"uuid": uuid, "name": "test-k8s", "deleted_at": START + 1300}]


def test_tasks_finish_in_due_order_even_when_read_late() -> None:
    clock = FakeClock()
    sim = Simulator(SimulatorConfig(delays={"create_cluster": 50}), clock=clock)
    first = clusters.create_cluster(sim, _context(sim, clock.now), {}, {}, cluster_body("one"))
    clock.now += 10
    second = clusters.create_cluster(sim, _context(sim, clock.now), {}, {}, cluster_body("two"))
    clock.now += 1000  # nobody looked for a long time
    sim.advance()
    tenant = sim.store.tenant("tenant-a")
    one, two = tenant.clusters[first.body["uuid"]], tenant.clusters[second.body["uuid"]]
    assert (one.updated_at, two.updated_at) == (START + 50, START + 60)
    assert one.labels["certificate_expiry"] == timestamp(START + 50 + 5 * 365.25 * 86400)


def test_seeded_simulators_create_the_same_ids() -> None:
    ids = []
    for _ in range(2):
        sim = Simulator(SimulatorConfig(seed=42), clock=FakeClock())
        ids.append(clusters.create_cluster(sim, _context(sim, START), {}, {}, cluster_body()).body)
    assert ids[0] == ids[1]
