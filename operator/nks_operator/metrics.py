"""Prometheus metrics of the operator, served on /metrics.

Reconcile metrics use controller-runtime's names and labels, so the dashboards and alerts
people already run for Go operators work here unchanged. NKS API metrics come from the
NKS client's metrics hook (`nks_request_hook`); the managed-resource gauge is set from
counts the controllers compute.

Everything lives in one dedicated `CollectorRegistry` (not prometheus_client's global
one), so nothing a dependency registers leaks into our output and tests can build fresh,
independent instances (`OperatorMetrics()`). Importing this module starts nothing: the
HTTP endpoint exists only after `start_metrics_server()`.

The controllers call the module-level functions, which act on the process-wide `METRICS`:

    with metrics.reconcile("nkscluster") as run:
        delay = await resource_pass.run()
        run.result = "requeue_after"

    NKSClient(..., metrics=metrics.nks_request_hook)
    metrics.set_managed("NKSCluster", {"Ready": 3, "Provisioning": 1})
    metrics.start_metrics_server(8080)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, get_args
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.metrics_core import Metric

if TYPE_CHECKING:
    # Only for the annotation: importing nks_operator.nks loads httpx and pydantic.
    from nks_operator.nks.metrics import RequestSample

__all__ = [
    "CONTENT_TYPE",
    "METRICS",
    "RECONCILE_RESULTS",
    "MetricsRegistry",
    "OperatorMetrics",
    "ReconcileResult",
    "ReconcileRun",
    "metric_names",
    "nks_request_hook",
    "reconcile",
    "record_reconcile",
    "register_controller",
    "render",
    "set_managed",
    "start_metrics_server",
]

ReconcileResult = Literal["success", "error", "requeue", "requeue_after"]
"""controller-runtime's `result` label values."""
RECONCILE_RESULTS: Final[tuple[str, ...]] = get_args(ReconcileResult)

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
"""The Content-Type of `render()`'s output (the Prometheus text format)."""

TOKEN_OPERATION: Final = "issue_token"
"""The NKS client's operation name for the identity token call (`Operation.ISSUE_TOKEN`)."""

# Reconciles range from a status-only pass (milliseconds) to passes that wait on several
# NKS calls with retries (tens of seconds).
RECONCILE_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# One NKS HTTP attempt: the client's timeouts cap it at about 30 s.
NKS_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class MetricsRegistry(CollectorRegistry):
    """A registry that leaves out the `*_created` samples prometheus_client adds.

    controller-runtime exposes none, and each is one more series per label set to store.
    """

    def collect(self) -> Iterator[Metric]:
        for family in super().collect():
            if family.type in _TIMESTAMPED:
                created = family.name + "_created"
                family.samples = [s for s in family.samples if s.name != created]
            yield family


_TIMESTAMPED: Final = frozenset({"counter", "histogram", "summary"})


@dataclass
class ReconcileRun:
    """Handed out by `reconcile()`: set `result` before the block ends (default success)."""

    result: ReconcileResult = "success"


class OperatorMetrics:
    """All the operator's metrics in one registry of their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else MetricsRegistry()
        r = self.registry
        self.reconcile_total = Counter(
            "controller_runtime_reconcile_total",
            "Total number of reconciliations per controller and result.",
            ["controller", "result"],
            registry=r,
        )
        self.reconcile_errors = Counter(
            "controller_runtime_reconcile_errors_total",
            "Total number of reconciliation errors per controller.",
            ["controller"],
            registry=r,
        )
        self.reconcile_time = Histogram(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller.",
            ["controller"],
            buckets=RECONCILE_BUCKETS,
            registry=r,
        )
        self.active_workers = Gauge(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller.",
            ["controller"],
            registry=r,
        )
        self.max_concurrent_reconciles = Gauge(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller.",
            ["controller"],
            registry=r,
        )
        self.nks_requests = Counter(
            "nks_api_requests_total",
            "NKS and identity API HTTP attempts by operation and outcome (status code, "
            "or the error class when no HTTP answer arrived).",
            ["operation", "code"],
            registry=r,
        )
        self.nks_duration = Histogram(
            "nks_api_request_duration_seconds",
            "Duration of one NKS or identity API HTTP attempt by operation.",
            ["operation"],
            buckets=NKS_BUCKETS,
            registry=r,
        )
        self.managed = Gauge(
            "nks_managed_resources",
            "Custom resources the operator manages, by kind and status phase.",
            ["kind", "phase"],
            registry=r,
        )
        self.tokens_issued = Counter(
            "nks_identity_tokens_issued_total",
            "Identity tokens NHN Cloud issued to the operator (2xx answers to issue_token).",
            registry=r,
        )
        # Phases last reported per kind, so a phase that empties drops to 0, not stale.
        self._managed_phases: dict[str, set[str]] = {}
        self._managed_lock = threading.Lock()

    # -- reconciles (controller-runtime) ----------------------------------------------

    def record_reconcile(self, controller: str, seconds: float, result: str) -> None:
        """Count one finished reconcile and its duration; `error` also counts an error."""
        if result not in RECONCILE_RESULTS:
            # An unchecked label value would grow the series count without bound.
            raise ValueError(f"result must be one of {RECONCILE_RESULTS}, not {result!r}")
        self.reconcile_total.labels(controller, result).inc()
        if result == "error":
            self.reconcile_errors.labels(controller).inc()
        self.reconcile_time.labels(controller).observe(max(seconds, 0.0))

    @contextmanager
    def reconcile(self, controller: str) -> Iterator[ReconcileRun]:
        """Time a reconcile and count it as an active worker while it runs.

        An exception records `error` (and propagates); cancellation (a BaseException such
        as `asyncio.CancelledError` at shutdown) records nothing: the pass did not finish.
        """
        run = ReconcileRun()
        workers = self.active_workers.labels(controller)
        workers.inc()
        started = time.perf_counter()
        finished = False
        try:
            yield run
            finished = True
        except Exception:
            run.result = "error"
            finished = True
            raise
        finally:
            workers.dec()
            if finished:
                self.record_reconcile(controller, time.perf_counter() - started, run.result)

    def register_controller(self, controller: str, max_concurrent_reconciles: int) -> None:
        """Call once per controller at start-up: publishes its worker limit and creates
        its series at 0, so rates and error ratios read 0 rather than "no data"."""
        self.max_concurrent_reconciles.labels(controller).set(max_concurrent_reconciles)
        self.active_workers.labels(controller)
        for result in RECONCILE_RESULTS:
            self.reconcile_total.labels(controller, result)
        self.reconcile_errors.labels(controller)
        self.reconcile_time.labels(controller)

    # -- NKS API ----------------------------------------------------------------------

    def nks_request_hook(self, sample: RequestSample) -> None:
        """The NKS client's `MetricsHook`: one call per HTTP attempt, retries included."""
        self.nks_requests.labels(sample.operation, sample.outcome).inc()
        self.nks_duration.labels(sample.operation).observe(max(sample.duration_seconds, 0.0))
        status = sample.status_code
        if sample.operation == TOKEN_OPERATION and status is not None and 200 <= status < 300:
            self.tokens_issued.inc()

    # -- managed resources ------------------------------------------------------------

    def set_managed(self, kind: str, counts: Mapping[str, int]) -> None:
        """Replace the counts of `kind` by phase; phases absent from `counts` become 0.

        `counts` maps a status phase (use "Unknown" for resources without one yet) to the
        number of resources in it, e.g. `collections.Counter(phases)`.
        """
        with self._managed_lock:
            previous = self._managed_phases.get(kind, set())
            for phase in previous - counts.keys():
                self.managed.labels(kind, phase).set(0)
            for phase, count in counts.items():
                self.managed.labels(kind, phase).set(count)
            self._managed_phases[kind] = previous | set(counts)

    # -- exposition -------------------------------------------------------------------

    def render(self) -> bytes:
        """The registry in Prometheus text format (what /metrics serves)."""
        return generate_latest(self.registry)

    def start_server(self, port: int, addr: str = "0.0.0.0") -> tuple[WSGIServer, threading.Thread]:
        """Serve the registry over HTTP from a daemon thread; returns it for shutdown()."""
        return start_http_server(port, addr=addr, registry=self.registry)

    def metric_names(self) -> frozenset[str]:
        """Every sample name this registry can expose (`*_total`, `*_bucket`, ...)."""
        return metric_names(self.registry)


_SUFFIXES: Final[dict[str, tuple[str, ...]]] = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "gauge": ("",),
    "info": ("_info",),
}


def metric_names(registry: CollectorRegistry) -> frozenset[str]:
    """Sample names of every family in `registry`, even families with no sample yet.

    Used to check that dashboards and docs only name metrics that exist.
    """
    names: set[str] = set()
    for family in registry.collect():
        for suffix in _SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
    return frozenset(names)


METRICS: Final = OperatorMetrics()
"""The process-wide instance the module-level functions below act on."""


def record_reconcile(controller: str, seconds: float, result: str) -> None:
    """Count one reconcile of `controller` (e.g. "nkscluster") with its result."""
    METRICS.record_reconcile(controller, seconds, result)


def reconcile(controller: str) -> AbstractContextManager[ReconcileRun]:
    """Context manager timing one reconcile of `controller`; see `OperatorMetrics.reconcile`."""
    return METRICS.reconcile(controller)


def register_controller(controller: str, max_concurrent_reconciles: int) -> None:
    """At start-up, per controller: its worker limit, and its series created at 0."""
    METRICS.register_controller(controller, max_concurrent_reconciles)


def nks_request_hook(sample: RequestSample) -> None:
    """Pass as `NKSClient(metrics=...)`: counts and times every NKS HTTP attempt."""
    METRICS.nks_request_hook(sample)


def set_managed(kind: str, counts: Mapping[str, int]) -> None:
    """Set `nks_managed_resources` of `kind` ("NKSCluster", "NKSNodeGroup") by phase."""
    METRICS.set_managed(kind, counts)


def render() -> bytes:
    """The process-wide metrics in Prometheus text format."""
    return METRICS.render()


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> tuple[WSGIServer, threading.Thread]:
    """Serve /metrics (any path, in fact) on `addr:port`; port 0 picks a free port.

    `server.server_address` tells the bound port; `server.shutdown()` stops it.
    """
    return METRICS.start_server(port, addr)
