"""Prometheus metrics of the operator, served on /metrics.

Reconcile metrics use controller-runtime's names and labels, so the dashboards and alerts
people already run for Go operators work here unchanged. NKS API metrics come from the
NKS client's metrics hook (`nks_request_hook`); the managed-resource gauge is set from
counts the controllers compute.

Everything lives in one dedicated `CollectorRegistry` (not prometheus_client's global
one), so nothing a dependency registers leaks into our output and tests can build fresh,
independent instances (`OperatorMetrics()`). Importing this module starts nothing: the
HTTP endpoint exists only after `start_metrics_server()`.

The work queue reports through `QueueMetrics` (controller-runtime's `workqueue_*` names),
the worker pool through `record_reconcile()` after each pass, the NKS client through
`nks_request_hook`; the managed-resource gauge is set from counts the reconciler keeps.
`process_*` and `python_*` come from prometheus_client's standard collectors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, get_args
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
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
    "RECONCILE_RESULTS",
    "MetricsRegistry",
    "OperatorMetrics",
    "QueueMetricsHook",
    "ReconcileResult",
    "ReconcileRun",
    "metric_names",
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
# controller-runtime's workqueue buckets: 1 ns .. 10 s, times 10.
QUEUE_BUCKETS: Final = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 60)
QUEUE_NAME: Final = "nks"


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
        self._add_reconcile_metrics()
        self._add_nks_metrics()
        self._add_queue_metrics()
        if registry is None:
            # The process and interpreter collectors, as every Prometheus client exposes.
            for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                self.registry.register(collector)
        # Phases last reported per kind, so a phase that empties drops to 0, not stale.
        self._managed_phases: dict[str, set[str]] = {}
        self._managed_lock = threading.Lock()

    def _add_reconcile_metrics(self) -> None:
        """controller-runtime's reconcile series."""
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
        self.terminal_errors = Counter(
            "controller_runtime_terminal_reconcile_errors_total",
            "Total number of terminal reconciliation errors per controller (a person must "
            "fix the spec, the credentials or NKS).",
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

    def _add_nks_metrics(self) -> None:
        """NKS API calls, identity tokens and the managed-resource gauge."""
        r = self.registry
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

    def _add_queue_metrics(self) -> None:
        """controller-runtime's workqueue series."""
        r = self.registry
        self.queue_depth = Gauge(
            "workqueue_depth", "Current depth of workqueue", ["name"], registry=r
        )
        self.queue_adds = Counter(
            "workqueue_adds_total",
            "Total number of adds handled by workqueue",
            ["name"],
            registry=r,
        )
        self.queue_latency = Histogram(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            ["name"],
            buckets=QUEUE_BUCKETS,
            registry=r,
        )
        self.queue_work = Histogram(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.",
            ["name"],
            buckets=QUEUE_BUCKETS,
            registry=r,
        )
        self.queue_retries = Counter(
            "workqueue_retries_total",
            "Total number of retries handled by workqueue",
            ["name"],
            registry=r,
        )

    # -- reconciles (controller-runtime) ----------------------------------------------

    def record_reconcile(
        self, controller: str, seconds: float, result: str, *, terminal: bool = False
    ) -> None:
        """Count one finished reconcile and its duration; `error` also counts an error,
        `terminal` a terminal one (controller-runtime counts those in both)."""
        if result not in RECONCILE_RESULTS:
            # An unchecked label value would grow the series count without bound.
            raise ValueError(f"result must be one of {RECONCILE_RESULTS}, not {result!r}")
        self.reconcile_total.labels(controller, result).inc()
        if result == "error":
            self.reconcile_errors.labels(controller).inc()
            if terminal:
                self.terminal_errors.labels(controller).inc()
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
        self.terminal_errors.labels(controller)
        self.reconcile_time.labels(controller)
        for family in (self.queue_depth, self.queue_adds, self.queue_retries):
            family.labels(QUEUE_NAME)
        self.queue_latency.labels(QUEUE_NAME)
        self.queue_work.labels(QUEUE_NAME)

    def queue_metrics(self, name: str = QUEUE_NAME) -> QueueMetricsHook:
        """What the work queue reports through (workqueue_* series of queue `name`)."""
        return QueueMetricsHook(self, name)

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


class QueueMetricsHook:
    """`runtime.workqueue.QueueMetrics` on top of the operator's registry."""

    def __init__(self, metrics: OperatorMetrics, name: str) -> None:
        self._depth = metrics.queue_depth.labels(name)
        self._adds = metrics.queue_adds.labels(name)
        self._latency = metrics.queue_latency.labels(name)
        self._work = metrics.queue_work.labels(name)
        self._retries = metrics.queue_retries.labels(name)

    def added(self) -> None:
        self._adds.inc()

    def depth(self, value: int) -> None:
        self._depth.set(value)

    def queued_for(self, seconds: float) -> None:
        self._latency.observe(seconds)

    def worked_for(self, seconds: float) -> None:
        self._work.observe(seconds)

    def retried(self) -> None:
        self._retries.inc()


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
