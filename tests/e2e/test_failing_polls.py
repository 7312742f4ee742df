"""Failing polls: NKS failing for a while costs a bounded, backed-off stream of list calls,
shows on the resources and in the metrics, and everything recovers by itself.

One operator of this module's own (namespaces `polls-*`, /metrics on a free port) lives
through three outages - NKS answering 503, answers that hang until the connection closes,
and connections reset - each against a simulator of its own, so every list call in that
simulator's log is the test's tenant's (a faulted call is logged before authentication and
carries no tenant). Each outage runs once (a module fixture) and the tests below check one
property each of what was recorded.

The call pattern is read from the simulator's call log (its timestamps), never from how
long a step took. The operator polls with `--fast-poll 1 --slow-poll 4` rather than the
session operator's 0.3 / 3 s: the NKS client's own retry delays (0.25 s and up) would then
be hidden under the fast interval only some of the time, and a check of "never two list
calls within one fast interval" has to fail every time the operator breaks it.
"""

from __future__ import annotations

import itertools
import re
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from pydantic import SecretStr

from nks_devtools.localkube import LocalKube
from nks_devtools.simulator import Credential, SimulatorConfig, SimulatorThread
from tests.e2e.helpers import (
    Sim,
    apply,
    cluster_manifest,
    condition,
    credentials_secret,
    get,
    new_tenant,
    wait_condition,
    wait_gone,
)
from tests.fixtures.hygiene import session_hygiene
from tests.fixtures.operator import OperatorProcess, wait_for

pytestmark = pytest.mark.kube

FAST, SLOW = 1.0, 4.0  # the module operator's --fast-poll / --slow-poll
JITTER = 0.2  # the poller's default jitter fraction
# Two list calls are compared by when they reached the simulator; the poller times them
# when it sends them. Loopback delivery may shift one arrival by a few milliseconds.
ARRIVAL_SLACK = 0.05
CLUSTERS = ("poll-a", "poll-b")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass(frozen=True)
class Outage:
    """Fault rule for every NKS call, kept until failing list calls span `seconds`."""

    id: str
    rule: dict[str, Any]
    seconds: float

    @property
    def hang(self) -> float:
        """How long each failing call takes before it fails."""
        return float(self.rule.get("hang", 0.0))


OUTAGES = (
    Outage("503", {"action": "error", "status": 503, "body": "json"}, 30.0),
    Outage("hang", {"action": "drop_response", "drop_mode": "timeout", "hang": 1.0}, 20.0),
    Outage("reset", {"action": "drop_response", "drop_mode": "close"}, 20.0),
)


class PollSim(Sim):
    """`Sim` for a simulator of the test's own: faults and the raw call log."""

    def set_fault(self, rule: dict[str, Any]) -> None:
        self.http.put("/_sim/faults", json={"seed": 1, "rules": [rule]}).raise_for_status()

    def clear_faults(self) -> None:
        self.http.delete("/_sim/faults").raise_for_status()

    def last_seq(self) -> int:
        return int(self.http.get("/_sim/calls", params={"log": "0"}).json()["last_seq"])

    def log(self, since: int, operation: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"since": since}
        if operation is not None:
            params["operation"] = operation
        return list(self.http.get("/_sim/calls", params=params).json()["log"])


# -- the module's operator ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="([^"]*)"')


def scrape(port: int) -> Samples:
    """Every sample of /metrics: (name, labels) -> value."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples: Samples = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match is not None:
            labels = frozenset(LABEL.findall(match["labels"] or ""))
            samples[(match["name"], labels)] = float(match["value"])
    return samples


def value(samples: Samples, metric: str, **labels: str) -> float:
    return samples.get((metric, frozenset(labels.items())), 0.0)


@dataclass
class PollsOperator:
    process: OperatorProcess
    port: int

    def scrape(self) -> Samples:
        return scrape(self.port)

    def serving(self) -> bool:
        try:
            return bool(self.scrape())
        except httpx.HTTPError:
            return False


@pytest.fixture(scope="module")
def polls_operator(
    kube: LocalKube, crds_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PollsOperator]:
    """This module's operator: namespaces `polls-*`, /metrics on a free port."""
    port = _free_port()
    args = ["--metrics-port", str(port), "--fast-poll", str(FAST), "--slow-poll", str(SLOW)]
    log = tmp_path_factory.mktemp("polls") / "operator.log"
    process = OperatorProcess(kube, "polls-*", log, args)
    process.start()
    found = PollsOperator(process, port)
    try:
        wait_for(found.serving, 30, what="/metrics served")
        yield found
    finally:
        process.stop()


@dataclass
class Scene:
    """A namespace of `polls-*` with a credentials Secret for a simulator of its own."""

    namespace: str
    thread: SimulatorThread
    sim: PollSim


@pytest.fixture(scope="module")
def scenes(kube_api: client.ApiClient, kubectl: Any) -> Iterator[list[Scene]]:
    """Scenes are made by `new_scene` and taken down (resources deleted first) at the end."""
    made: list[Scene] = []
    yield made
    core = client.CoreV1Api(kube_api)
    for scene in made:
        kubectl("delete", "nksc", "--all", "-n", scene.namespace, "--wait=false")
    for scene in made:
        for name in (*CLUSTERS, "healthy", "rejected"):
            wait_gone(kube_api, "nksclusters", scene.namespace, name, timeout=60)
        scene.sim.http.close()
        scene.thread.stop()
        try:
            core.delete_namespace(scene.namespace, propagation_policy="Background")
        except ApiException as err:
            if err.status != 404:
                raise


def new_scene(scenes: list[Scene], kube_api: client.ApiClient, kubectl: Any, stem: str) -> Scene:
    thread = SimulatorThread(SimulatorConfig(delay=0.3)).start()
    session_hygiene().track_simulator(thread)
    sim = PollSim(thread.url, new_tenant())
    namespace = f"polls-{stem}-{secrets.token_hex(2)}"
    client.CoreV1Api(kube_api).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace))
    )
    scene = Scene(namespace, thread, sim)
    scenes.append(scene)
    credentials_secret(kubectl, namespace, sim.url, sim.tenant)
    return scene


def synced(api: client.ApiClient, ns: str, name: str) -> bool:
    obj = get(api, "nksclusters", ns, name)
    ready, sync = condition(obj, "Ready"), condition(obj, "Synced")
    return bool(
        ready
        and ready["status"] == "True"
        and sync
        and sync["status"] == "True"
        and sync["reason"] == "Synced"
    )


def wait_synced(api: client.ApiClient, ns: str, names: tuple[str, ...], timeout: float) -> None:
    for name in names:
        wait_condition(api, "nksclusters", ns, name, "Ready", "True", timeout=timeout)
        wait_for(lambda n=name: synced(api, ns, n), timeout, what=f"{name} Synced")


# -- one outage, recorded -----------------------------------------------------------------


@dataclass
class OutageRun:
    outage: Outage
    namespace: str
    list_calls: list[dict[str, Any]]  # the failing list calls, in order
    seen: dict[str, set[str]]  # cluster -> Synced reasons seen during the outage
    metrics_before: Samples
    metrics_during: Samples
    writes_before: dict[str, int]
    writes_after: dict[str, int]
    recovery_problem: str | None = None

    def gaps(self) -> list[float]:
        times = [e["timestamp"] for e in self.list_calls]
        return [round(b - a, 3) for a, b in itertools.pairwise(times)]


def _failing_span(calls: list[dict[str, Any]]) -> float:
    times = [e["timestamp"] for e in calls if e.get("fault")]
    return times[-1] - times[0] if len(times) > 1 else 0.0


@pytest.fixture(scope="module", params=OUTAGES, ids=[o.id for o in OUTAGES])
def outage_run(
    request: pytest.FixtureRequest,
    polls_operator: PollsOperator,
    scenes: list[Scene],
    kube_api: client.ApiClient,
    kubectl: Any,
) -> OutageRun:
    outage: Outage = request.param
    scene = new_scene(scenes, kube_api, kubectl, outage.id)
    ns, psim = scene.namespace, scene.sim
    for name in CLUSTERS:
        apply(kubectl, ns, cluster_manifest(name))
    wait_synced(kube_api, ns, CLUSTERS, timeout=90)
    writes_before = dict(psim.writes())
    metrics_before = polls_operator.scrape()
    since = psim.last_seq()
    seen: dict[str, set[str]] = {name: set() for name in CLUSTERS}

    def outage_long_enough() -> bool:
        for name in CLUSTERS:
            found = condition(get(kube_api, "nksclusters", ns, name), "Synced")
            if found is not None:
                seen[name].add(f"{found['status']}:{found['reason']}")
        return _failing_span(psim.log(since, "list_clusters")) >= outage.seconds

    psim.set_fault(outage.rule)
    try:
        wait_for(
            outage_long_enough,
            outage.seconds * 3 + 30,
            interval=0.5,
            what=f"{outage.seconds}s of failing list calls",
        )
        metrics_during = polls_operator.scrape()
    finally:
        psim.clear_faults()
    calls = psim.log(since)
    recovery_problem = None
    try:
        wait_synced(kube_api, ns, CLUSTERS, timeout=60)
    except AssertionError as error:
        recovery_problem = str(error)
    polls_operator.process.assert_alive()
    return OutageRun(
        outage=outage,
        namespace=ns,
        list_calls=[e for e in calls if e["operation"] == "list_clusters" and e.get("fault")],
        seen=seen,
        metrics_before=metrics_before,
        metrics_during=metrics_during,
        writes_before=writes_before,
        writes_after=dict(psim.writes()),
        recovery_problem=recovery_problem,
    )


def test_list_calls_never_closer_than_the_fast_interval(outage_run: OutageRun) -> None:
    """Whatever fails, an account lists at most once per fast interval."""
    gaps = outage_run.gaps()
    assert len(gaps) >= 3, f"too few failing list calls: {outage_run.list_calls}"
    assert min(gaps) >= FAST - ARRIVAL_SLACK, f"gaps between failing list calls: {gaps}"


def test_list_calls_back_off_to_the_slow_interval(outage_run: OutageRun) -> None:
    """The gaps grow from about the fast interval to the slow one (less its jitter) and
    stay there while the outage lasts."""
    gaps = outage_run.gaps()
    late = gaps[len(gaps) // 2 :]
    detail = f"gaps between failing list calls: {gaps}"
    assert len(gaps) >= 4, detail
    assert min(late) >= SLOW * (1 - JITTER) - ARRIVAL_SLACK, detail
    assert gaps[0] < min(late), detail


def test_resources_show_nks_unavailable_during_the_outage(outage_run: OutageRun) -> None:
    for name, reasons in outage_run.seen.items():
        assert "False:NKSUnavailable" in reasons, f"{name}: Synced during the outage: {reasons}"


def test_resources_recover_and_nothing_is_written(outage_run: OutageRun) -> None:
    assert outage_run.recovery_problem is None, outage_run.recovery_problem
    assert outage_run.writes_after == outage_run.writes_before


def _grew(run: OutageRun, metric: str, **labels: str) -> tuple[float, float]:
    """A metric's value before the outage and at its end."""
    return value(run.metrics_before, metric, **labels), value(run.metrics_during, metric, **labels)


def test_an_outage_raises_the_error_counters(outage_run: OutageRun) -> None:
    """Issue 10 item 3: NKS failing shows in controller-runtime's error metrics."""
    errors = _grew(outage_run, "controller_runtime_reconcile_errors_total", controller="nkscluster")
    assert errors[1] > errors[0], f"reconcile errors before/during: {errors}"
    results = _grew(
        outage_run, "controller_runtime_reconcile_total", controller="nkscluster", result="error"
    )
    assert results[1] > results[0], f"result=error before/during: {results}"
    retries = _grew(outage_run, "workqueue_retries_total", name="nks")
    assert retries[1] > retries[0], f"work queue retries before/during: {retries}"


def test_an_outage_is_not_a_terminal_error(outage_run: OutageRun) -> None:
    """Retrying fixes an outage: no terminal error is counted for it."""
    terminal = _grew(
        outage_run, "controller_runtime_terminal_reconcile_errors_total", controller="nkscluster"
    )
    assert terminal[1] == terminal[0], f"terminal errors before/during: {terminal}"


def test_rejected_credentials_count_as_terminal_errors(
    polls_operator: PollsOperator, scenes: list[Scene], kube_api: client.ApiClient, kubectl: Any
) -> None:
    """A wrong password in the Secret is an error only a person can fix."""
    scene = new_scene(scenes, kube_api, kubectl, "rejected")
    ns, psim = scene.namespace, scene.sim
    accepted = Credential(
        tenant_id=psim.tenant,
        username="platform-team@example.com",
        password=SecretStr("pw-" + psim.tenant),  # what credentials_secret() writes
    )

    def accept_only(simulator: Any) -> None:
        simulator.config.credentials = [accepted]

    scene.thread.call(accept_only)
    apply(kubectl, ns, cluster_manifest("healthy"))
    wait_synced(kube_api, ns, ("healthy",), timeout=90)
    terminal = "controller_runtime_terminal_reconcile_errors_total"
    before = value(polls_operator.scrape(), terminal, controller="nkscluster")

    credentials_secret(kubectl, ns, psim.url, psim.tenant, name="wrong-credentials")
    kubectl(
        "patch", "secret", "wrong-credentials", "-n", ns, "--type=merge",
        "-p", '{"stringData": {"password": "not-the-api-password"}}',
    )  # fmt: skip
    apply(kubectl, ns, cluster_manifest("rejected", credentialsRef={"name": "wrong-credentials"}))
    wait_condition(kube_api, "nksclusters", ns, "rejected", "Ready", "False", "CredentialsRejected")
    wait_for(
        lambda: value(polls_operator.scrape(), terminal, controller="nkscluster") > before,
        30,
        what="a terminal reconcile error counted",
    )
    assert psim.writes() == {"create_cluster": 1}
    assert synced(kube_api, ns, "healthy")
    polls_operator.process.assert_alive()
    # Its terminal errors would count in whatever runs next.
    kubectl("delete", "nksc", "rejected", "-n", ns, "--wait=false")
    wait_gone(kube_api, "nksclusters", ns, "rejected", timeout=60)
