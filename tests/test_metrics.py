"""nks_operator.metrics: names and labels, values after calls, the /metrics endpoint, and
the dashboard and docs that name those metrics."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from nks_operator import metrics
from nks_operator.metrics import OperatorMetrics
from nks_operator.nks.allowlist import EndpointPolicy
from nks_operator.nks.metrics import MetricsHook, RequestSample
from nks_operator.nks.transport import Transport

REPO = pathlib.Path(__file__).resolve().parents[1]
DASHBOARD = REPO / "dashboards" / "nks-operator.json"
DOC = REPO / "docs" / "metrics.md"

# Family name (as in the text format's TYPE line) -> (type, label names). The contract with
# dashboards and alerts: changing it is a breaking change.
EXPECTED: dict[str, tuple[str, set[str]]] = {
    "controller_runtime_reconcile_total": ("counter", {"controller", "result"}),
    "controller_runtime_reconcile_errors_total": ("counter", {"controller"}),
    "controller_runtime_reconcile_time_seconds": ("histogram", {"controller"}),
    "controller_runtime_active_workers": ("gauge", {"controller"}),
    "controller_runtime_max_concurrent_reconciles": ("gauge", {"controller"}),
    "nks_api_requests_total": ("counter", {"operation", "code"}),
    "nks_api_request_duration_seconds": ("histogram", {"operation"}),
    "nks_managed_resources": ("gauge", {"kind", "phase"}),
    "nks_identity_tokens_issued_total": ("counter", set()),
    "controller_runtime_terminal_reconcile_errors_total": ("counter", {"controller"}),
    "workqueue_depth": ("gauge", {"name"}),
    "workqueue_adds_total": ("counter", {"name"}),
    "workqueue_queue_duration_seconds": ("histogram", {"name"}),
    "workqueue_work_duration_seconds": ("histogram", {"name"}),
    "workqueue_retries_total": ("counter", {"name"}),
}
# prometheus_client's standard collectors (every Prometheus client exposes them).
STANDARD_PREFIXES = ("process_", "python_")
RECONCILES = "controller_runtime_reconcile_total"
ERRORS = "controller_runtime_reconcile_errors_total"
TIME = "controller_runtime_reconcile_time_seconds"
WORKERS = "controller_runtime_active_workers"
MAX_WORKERS = "controller_runtime_max_concurrent_reconciles"
REQUESTS = "nks_api_requests_total"
DURATION = "nks_api_request_duration_seconds"
# Labels Prometheus adds when it scrapes (job, instance; namespace/pod/service from a
# ServiceMonitor), plus a histogram's `le`.
SCRAPE_LABELS = {"job", "instance", "namespace", "pod", "service", "container", "endpoint"}


def sample(
    operation: str = "get_cluster",
    status: int | None = 200,
    error: str | None = None,
    seconds: float = 0.2,
) -> RequestSample:
    return RequestSample(operation, "GET", status, error, seconds)


@pytest.fixture
def m() -> OperatorMetrics:
    return OperatorMetrics()


def value(m: OperatorMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def families(m: OperatorMetrics) -> dict[str, Any]:
    text = m.render().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


# -- names, types, labels ----------------------------------------------------------------


def test_names_types_and_labels(m: OperatorMetrics) -> None:
    m.register_controller("nkscluster", 4)
    m.record_reconcile("nkscluster", 0.1, "error", terminal=True)
    m.nks_request_hook(sample("issue_token", 201))
    m.set_managed("NKSCluster", {"Ready": 1})
    seen = {}
    for family in families(m).values():
        # The text parser names counters without `_total`; TYPE lines carry it.
        name = family.name + "_total" if family.type == "counter" else family.name
        labels: set[str] = set()
        for s in family.samples:
            labels |= set(s.labels) - {"le"}
        seen[name] = (family.type, labels)
    standard = {name for name in seen if name.startswith(STANDARD_PREFIXES)}
    assert {"process_resident_memory_bytes", "process_cpu_seconds_total"} <= standard
    assert any(name.startswith("python_gc_") for name in standard)
    assert {k: v for k, v in seen.items() if k not in standard} == EXPECTED


def test_metric_names_lists_every_sample_name(m: OperatorMetrics) -> None:
    names = {n for n in m.metric_names() if not n.startswith(STANDARD_PREFIXES)}
    assert names == {
        "controller_runtime_terminal_reconcile_errors_total",
        "workqueue_depth",
        "workqueue_adds_total",
        "workqueue_queue_duration_seconds_bucket",
        "workqueue_queue_duration_seconds_sum",
        "workqueue_queue_duration_seconds_count",
        "workqueue_work_duration_seconds_bucket",
        "workqueue_work_duration_seconds_sum",
        "workqueue_work_duration_seconds_count",
        "workqueue_retries_total",
        "controller_runtime_reconcile_total",
        "controller_runtime_reconcile_errors_total",
        "controller_runtime_reconcile_time_seconds_bucket",
        "controller_runtime_reconcile_time_seconds_sum",
        "controller_runtime_reconcile_time_seconds_count",
        "controller_runtime_active_workers",
        "controller_runtime_max_concurrent_reconciles",
        "nks_api_requests_total",
        "nks_api_request_duration_seconds_bucket",
        "nks_api_request_duration_seconds_sum",
        "nks_api_request_duration_seconds_count",
        "nks_managed_resources",
        "nks_identity_tokens_issued_total",
    }


def test_no_created_series(m: OperatorMetrics) -> None:
    """controller-runtime has no `*_created` samples; prometheus_client would add them."""
    m.record_reconcile("nkscluster", 0.1, "success")
    m.nks_request_hook(sample())
    assert b"_created" not in m.render()


def test_instances_are_independent_and_off_the_global_registry() -> None:
    first, second = OperatorMetrics(), OperatorMetrics()  # no "Duplicated timeseries"
    first.record_reconcile("nkscluster", 0.1, "success")
    labels = {"controller": "nkscluster", "result": "success"}
    assert first.registry.get_sample_value(RECONCILES, labels) == 1
    assert second.registry.get_sample_value(RECONCILES, labels) is None
    global_names = {f.name for f in prometheus_client.REGISTRY.collect()}
    assert not any(n.startswith(("controller_runtime_", "nks_")) for n in global_names)


# -- reconciles --------------------------------------------------------------------------


def test_record_reconcile_counts_results_and_errors(m: OperatorMetrics) -> None:
    m.record_reconcile("nkscluster", 0.25, "success")
    m.record_reconcile("nkscluster", 1.5, "error")
    m.record_reconcile("nkscluster", 0.01, "requeue_after")
    m.record_reconcile("nksnodegroup", 0.02, "requeue")
    assert value(m, RECONCILES, controller="nkscluster", result="success") == 1
    assert value(m, RECONCILES, controller="nkscluster", result="error") == 1
    assert value(m, ERRORS, controller="nkscluster") == 1
    assert value(m, ERRORS, controller="nksnodegroup") is None
    assert value(m, f"{TIME}_count", controller="nkscluster") == 3
    assert value(m, f"{TIME}_sum", controller="nkscluster") == pytest.approx(1.76)
    assert value(m, f"{TIME}_bucket", controller="nkscluster", le="0.5") == 2
    assert (
        value(m, "controller_runtime_terminal_reconcile_errors_total", controller="nkscluster")
        is None
    )
    m.record_reconcile("nkscluster", 0.1, "error", terminal=True)
    assert value(m, ERRORS, controller="nkscluster") == 2
    assert (
        value(m, "controller_runtime_terminal_reconcile_errors_total", controller="nkscluster") == 1
    )


def test_record_reconcile_rejects_unknown_results(m: OperatorMetrics) -> None:
    with pytest.raises(ValueError, match="result must be one of"):
        m.record_reconcile("nkscluster", 0.1, "retry")
    assert value(m, RECONCILES, controller="nkscluster", result="retry") is None
    assert value(m, f"{TIME}_count", controller="nkscluster") is None


def test_register_controller_creates_zero_series(m: OperatorMetrics) -> None:
    m.register_controller("nksnodegroup", 3)
    assert value(m, MAX_WORKERS, controller="nksnodegroup") == 3
    assert value(m, WORKERS, controller="nksnodegroup") == 0
    for result in metrics.RECONCILE_RESULTS:
        labels = {"controller": "nksnodegroup", "result": result}
        assert value(m, RECONCILES, **labels) == 0
    assert value(m, ERRORS, controller="nksnodegroup") == 0


def test_queue_metrics_hook_feeds_the_workqueue_series(m: OperatorMetrics) -> None:
    hook = m.queue_metrics()
    hook.added()
    hook.added()
    hook.depth(2)
    hook.queued_for(0.5)
    hook.worked_for(0.02)
    hook.retried()
    queue = {"name": "nks"}
    get = m.registry.get_sample_value
    assert get("workqueue_adds_total", queue) == 2
    assert get("workqueue_depth", queue) == 2
    assert get("workqueue_queue_duration_seconds_count", queue) == 1
    assert get("workqueue_work_duration_seconds_sum", queue) == pytest.approx(0.02)
    assert get("workqueue_retries_total", queue) == 1


# -- NKS API -----------------------------------------------------------------------------


def test_nks_hook_counts_by_operation_and_code(m: OperatorMetrics) -> None:
    m.nks_request_hook(sample("get_cluster", 200, seconds=0.05))
    m.nks_request_hook(sample("get_cluster", 200, seconds=0.15))
    m.nks_request_hook(sample("get_cluster", 429, seconds=0.01))
    m.nks_request_hook(sample("create_cluster", None, "ReadTimeout", seconds=30.0))
    assert value(m, REQUESTS, operation="get_cluster", code="200") == 2
    assert value(m, REQUESTS, operation="get_cluster", code="429") == 1
    assert value(m, REQUESTS, operation="create_cluster", code="ReadTimeout") == 1
    assert value(m, f"{DURATION}_count", operation="get_cluster") == 3
    assert value(m, f"{DURATION}_sum", operation="get_cluster") == pytest.approx(0.21)
    assert value(m, f"{DURATION}_bucket", operation="create_cluster", le="10.0") == 0
    assert value(m, f"{DURATION}_bucket", operation="create_cluster", le="30.0") == 1


def test_tokens_issued_counts_only_successful_token_calls(m: OperatorMetrics) -> None:
    m.nks_request_hook(sample("issue_token", 200))
    m.nks_request_hook(sample("issue_token", 201))
    m.nks_request_hook(sample("issue_token", 401))
    m.nks_request_hook(sample("issue_token", None, "ConnectError"))
    m.nks_request_hook(sample("get_cluster", 200))
    assert value(m, "nks_identity_tokens_issued_total") == 2
    assert metrics.TOKEN_OPERATION == "issue_token"


async def test_hook_fed_by_the_real_nks_transport(m: OperatorMetrics) -> None:
    """The hook plugs into the NKS client as a `MetricsHook` and sees every attempt."""
    hook: MetricsHook = m.nks_request_hook

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/missing"):
            return httpx.Response(404, json={"message": "not found"})
        return httpx.Response(200, json={"clusters": []})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        policy = EndpointPolicy.from_entries(["https://nks.test"])
        transport = Transport(http, policy=policy, metrics=hook)
        await transport.send(
            "list_clusters", "GET", "https://nks.test/v1/clusters", headers={}, expected=[200]
        )
        with pytest.raises(Exception):  # noqa: B017 - any NKSError; the metric is the point
            await transport.send(
                "get_cluster", "GET", "https://nks.test/v1/missing", headers={}, expected=[200]
            )
    assert value(m, REQUESTS, operation="list_clusters", code="200") == 1
    assert value(m, REQUESTS, operation="get_cluster", code="404") == 1


# -- managed resources -------------------------------------------------------------------


def test_set_managed_replaces_counts_and_zeroes_emptied_phases(m: OperatorMetrics) -> None:
    m.set_managed("NKSCluster", {"Ready": 2, "Provisioning": 1})
    m.set_managed("NKSNodeGroup", {"Pending": 4})
    m.set_managed("NKSCluster", {"Ready": 3})
    assert value(m, "nks_managed_resources", kind="NKSCluster", phase="Ready") == 3
    assert value(m, "nks_managed_resources", kind="NKSCluster", phase="Provisioning") == 0
    assert value(m, "nks_managed_resources", kind="NKSNodeGroup", phase="Pending") == 4
    m.set_managed("NKSNodeGroup", {})
    assert value(m, "nks_managed_resources", kind="NKSNodeGroup", phase="Pending") == 0


# -- module-level functions and exposition -----------------------------------------------


def test_render_is_valid_text_format(m: OperatorMetrics) -> None:
    m.record_reconcile("nkscluster", 0.3, "success")
    m.nks_request_hook(sample("get_cluster", 503))
    parsed = list(text_string_to_metric_families(m.render().decode()))
    assert {f.name for f in parsed} >= {"controller_runtime_reconcile", "nks_api_requests"}
    assert metrics.CONTENT_TYPE.startswith("text/plain; version=")


def _get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers["Content-Type"], response.read().decode()


def test_http_endpoint_serves_the_registry(m: OperatorMetrics) -> None:
    m.record_reconcile("nkscluster", 0.3, "success")
    server, thread = m.start_server(0, addr="127.0.0.1")
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1" and port > 0
        status, content_type, body = _get(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert status == 200
    assert content_type.startswith("text/plain")
    line = 'controller_runtime_reconcile_total{controller="nkscluster",result="success"} 1.0'
    assert line in body.splitlines()
    assert "process_resident_memory_bytes" in body


def test_import_is_cheap_and_starts_nothing() -> None:
    code = (
        "import sys, threading; import nks_operator.metrics; "
        "print(threading.active_count(), 'nks_operator.nks' in sys.modules, "
        "'nks_operator.api' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.split() == ["1", "False", "False"]


# -- PromQL in the dashboard -------------------------------------------------------------

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
_KEYWORDS |= {"and", "or", "unless", "inf", "nan", "atan2"}


def _strip(expr: str) -> tuple[str, set[str]]:
    """`expr` without strings, Grafana variables, ranges and label lists; plus the labels."""
    labels: set[str] = set()
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    expr = re.sub(r"\$\{[^}]*\}|\$\w+", "", expr)
    for body in re.findall(r"\{([^}]*)\}", expr):
        labels |= set(re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", body))
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    grouping = r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)"
    for _, names in re.findall(grouping, expr):
        labels |= {n.strip() for n in names.split(",") if n.strip()}
    expr = re.sub(grouping, " ", expr)
    return expr, labels


def promql_references(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, label names) a PromQL expression refers to."""
    stripped, labels = _strip(expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)\s*(\()?", stripped):
        name, call = match.groups()
        if call or name in _KEYWORDS:
            continue
        names.add(name)
    return names, labels


def test_promql_reference_finder() -> None:
    names, labels = promql_references(
        'histogram_quantile(0.95, sum by (controller, le) (rate(a_bucket{job=~"$job", '
        'x!="y{z}"}[$__rate_interval]))) / on(pod) group_left b_total or vector(0) '
        "+ sum without (code) (c offset 5m)"
    )
    assert names == {"a_bucket", "b_total", "c"}
    assert labels == {"controller", "le", "job", "x", "pod", "code"}


def _dashboard_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _dashboard_panels(panel.get("panels", []))


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable."""
    dashboard = json.loads(DASHBOARD.read_text())
    queries = []
    for panel in _dashboard_panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            queries.append((f"panel {panel['title']!r}", target["expr"]))
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]
        query = query["query"] if isinstance(query, dict) else query
        match = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", query)
        assert match, f"variable {variable['name']}: use label_values(metric, label)"
        queries.append((f"variable {variable['name']}", match.group(1)))
        queries.append((f"variable {variable['name']}", f"sum by ({match.group(2)}) (x)"))
    return queries


def test_dashboard_references_only_defined_metrics_and_labels() -> None:
    defined = OperatorMetrics().metric_names()
    known_labels = set().union(*(labels for _, labels in EXPECTED.values()))
    known_labels |= SCRAPE_LABELS | {"le"}
    used: set[str] = set()
    for where, expr in dashboard_queries():
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), where
        names, labels = promql_references(expr)
        unknown = names - defined - {"x"}
        assert not unknown, f"{where} uses undefined metric(s) {sorted(unknown)}: {expr}"
        assert labels <= known_labels, f"{where} uses unknown label(s) {labels - known_labels}"
        used |= names
    families = {name.removesuffix("_bucket") for name in used}
    missing = {name for name in EXPECTED if name not in families}
    assert not missing, f"the dashboard shows nothing of {sorted(missing)}"


def test_dashboard_is_importable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = list(_dashboard_panels(dashboard["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert dashboard["uid"] == "nks-operator"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24, panel["title"]


# -- docs/metrics.md ---------------------------------------------------------------------


def test_docs_list_exactly_the_defined_metrics() -> None:
    doc = DOC.read_text()
    documented = set(re.findall(r"^\| `((?:controller_runtime|nks|workqueue)_\w+)`", doc, re.M))
    assert documented == set(EXPECTED)
    for name, (_, labels) in EXPECTED.items():
        row = re.search(rf"^\| `{name}` \|([^\n]*)$", doc, re.M)
        assert row, name
        for label in labels:
            assert f"`{label}`" in row.group(1), f"docs: {name} lacks label {label}"


def test_docs_queries_reference_only_defined_metrics() -> None:
    blocks = re.findall(r"```promql\n(.*?)```", DOC.read_text(), re.S)
    assert blocks
    defined = OperatorMetrics().metric_names()
    for block in blocks:
        names, _ = promql_references(block)
        assert names and names <= defined, block
