"""Admin endpoints under `/_sim/` (no auth; never counted as NKS calls).

Tests, the demo and benchmarks use them to read the whole state and the call log, to
inject faults and failures, to expire tokens, to fast-forward operations and to change
clusters behind the operator's back. The package docstring lists them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from nks_devtools.simulator import setting_rules, views
from nks_devtools.simulator.addons import installed_document
from nks_devtools.simulator.config import SimulatorConfig
from nks_devtools.simulator.core import Simulator
from nks_devtools.simulator.faults import FaultRule, FaultSettings
from nks_devtools.simulator.lifecycle import OUTCOMES, FailureInjection
from nks_devtools.simulator.state import Cluster, Tenant

AdminHandler = Callable[[Simulator, web.Request, Any], Awaitable[Any] | Any]

CONFIG_MUTABLE = {
    "delay",
    "delays",
    "default_delay",
    "token_ttl",
    "max_clusters_per_tenant",
    "max_nodes_per_group",
    "busy_behaviour",
    "supported_k8s",
    "subnets",
    "certificate_renewal_status",
    "service_gateway_status",
    "record_unlisted_tasks",
    "empty_list_label",
    "task_names",
    "supported_event_type_shape",
    "list_default_master",
    "kube_version_status",
    "health_reason_form",
    "mba_enable_form",
    "setting_labels",
    "setting_change_status",
    "addon_change_status",
    "addon_options",
    "addon_paths",
    "cni_update_api",
    "public_endpoint_rule",
    "platform_version",
}


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def register(app: web.Application, key: web.AppKey[Simulator]) -> None:
    routes: list[tuple[str, str, AdminHandler]] = [
        ("GET", "/_sim/health", _health),
        ("GET", "/_sim/state", _state),
        ("GET", "/_sim/calls", _calls),
        ("POST", "/_sim/reset-calls", _reset_calls),
        ("GET", "/_sim/faults", _get_faults),
        ("PUT", "/_sim/faults", _put_faults),
        ("POST", "/_sim/faults", _add_fault),
        ("DELETE", "/_sim/faults", _clear_faults),
        ("POST", "/_sim/expire-tokens", _expire_tokens),
        ("POST", "/_sim/reset", _reset),
        ("POST", "/_sim/fail-next", _fail_next),
        ("POST", "/_sim/hold-next", _hold_next),
        ("POST", "/_sim/finish-operations", _finish_operations),
        ("GET", "/_sim/config", _get_config),
        ("PATCH", "/_sim/config", _patch_config),
        ("PATCH", "/_sim/clusters/{cluster}", _patch_cluster),
        ("DELETE", "/_sim/clusters/{cluster}", _delete_cluster),
        ("PATCH", "/_sim/clusters/{cluster}/nodegroups/{nodegroup}", _patch_nodegroup),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _wrap(key, handler))


def _wrap(
    key: web.AppKey[Simulator], handler: AdminHandler
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def endpoint(request: web.Request) -> web.Response:
        sim = request.app[key]
        sim.advance()
        try:
            body: Any = None
            if request.method in ("POST", "PUT", "PATCH") and request.can_read_body:
                body = await request.json()
            result = handler(sim, request, body)
            if isinstance(result, Awaitable):
                result = await result
        except AdminError as exc:
            return web.json_response({"error": exc.message}, status=exc.status)
        except (ValidationError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(result)

    endpoint.__name__ = f"admin_{handler.__name__.lstrip('_')}"
    return endpoint


def _object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise AdminError(400, "expected a JSON object")
    return body


def _health(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    return {"status": "ok", "time": views.timestamp(sim.now())}


def _cluster_state(sim: Simulator, cluster: Cluster, base_url: str) -> dict[str, Any]:
    config = sim.config
    return {
        **views.cluster_detail(cluster, base_url, config),
        "busy": cluster.busy,
        "certificate_generation": cluster.certificate_generation,
        "ipacl": views.ipacl(cluster, cluster.ipacl),
        # Simulator-only: what NKS answers may not show (the per-node list; the settings
        # as stored, whatever the knobs make answers show; the app key masked).
        "addons": [installed_document(cluster, a) for a in cluster.addons],
        "settings": _settings(cluster.labels, ("control_plane_log", "skm")),
        "nodegroups": [
            {
                **views.nodegroup_detail(cluster, ng, base_url, config),
                "nodes": [views.node(n) for n in ng.nodes],
                "settings": _settings(ng.labels, _GROUP_SETTINGS),
            }
            for ng in cluster.nodegroups
        ],
        "events": [views.event(e) for e in cluster.events],
    }


_GROUP_SETTINGS = (
    "k8s_node_labels",
    *setting_rules.MBA_KEYS,
    *setting_rules.FIP_KEYS,
    "ca_pod_replicas",
)


def _settings(stored: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    found = {key: stored[key] for key in keys if key in stored}
    log = found.get("control_plane_log")
    if isinstance(log, dict) and "lncs_appkey" in log:
        found["control_plane_log"] = {**log, "lncs_appkey": "***"}
    return found


def _tenant_state(sim: Simulator, tenant: Tenant, base_url: str) -> dict[str, Any]:
    return {
        "clusters": [_cluster_state(sim, c, base_url) for c in tenant.clusters.values()],
        "deleted": [{**d, "deleted_at": views.timestamp(d["deleted_at"])} for d in tenant.deleted],
    }


def _state(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    """Every tenant's clusters, node groups (control plane included), nodes and events."""
    base_url = str(request.url.origin())
    wanted = request.query.get("tenant")
    now = sim.now()
    return {
        "now": views.timestamp(now),
        "tenants": {
            tid: _tenant_state(sim, tenant, base_url)
            for tid, tenant in sim.store.tenants.items()
            if wanted in (None, tid)
        },
        "pending_operations": [
            {
                "tenant": t.tenant_id,
                "cluster_uuid": t.cluster_uuid,
                "operation": t.operation,
                "due_in": None if t.held else round(max(t.due - now, 0.0), 3),
                "held": t.held,
                "outcome": t.outcome,
                "will_fail": t.outcome != "complete",
            }
            for t in sim.lifecycle.pending()
        ],
        "failure_injections": [vars(f) for f in sim.lifecycle.failures],
        "tokens": {"active": sim.tokens.active(now), "issued": sim.tokens.issued},
    }


def _calls(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    query = request.query
    include_log = query.get("log", "1").lower() not in ("0", "false", "no")
    since = int(query.get("since", "0"))
    return sim.calls.describe(include_log, query.get("operation"), since)


def _reset_calls(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    sim.calls.reset()
    return {"status": "ok"}


def _get_faults(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    return sim.faults.describe()


def _put_faults(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    data = {"rules": body} if isinstance(body, list) else _object(body)
    sim.faults.replace(FaultSettings.model_validate(data))
    return sim.faults.describe()


def _add_fault(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    sim.faults.add(FaultRule.model_validate(_object(body)))
    return sim.faults.describe()


def _clear_faults(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    sim.faults.clear()
    return sim.faults.describe()


def _expire_tokens(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    """Invalidate every token (or one tenant's), like an API password change."""
    return {"expired": sim.tokens.expire_all(_object(body).get("tenant"))}


def _reset(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    """Wipe state, call log and faults (tokens too with `{"tokens": true}`)."""
    options = _object(body)
    sim.reset(
        state=bool(options.get("state", True)),
        calls=bool(options.get("calls", True)),
        faults=bool(options.get("faults", True)),
        tokens=bool(options.get("tokens", False)),
    )
    return {"status": "ok"}


def _inject(body: Any, *, outcome: str, hold: bool) -> FailureInjection:
    options = _object(body)
    allowed = {"reason", "tenant", "cluster", "operation", "outcome", "hold"}
    unknown = set(options) - allowed
    if unknown:
        raise AdminError(400, f"unknown fields: {sorted(unknown)}")
    chosen = options.get("outcome", outcome)
    if chosen not in OUTCOMES:
        raise AdminError(400, f"outcome must be one of {list(OUTCOMES)}")
    return FailureInjection(
        reason=str(options.get("reason", "Injected failure")),
        tenant_id=options.get("tenant"),
        cluster=options.get("cluster"),
        operation=options.get("operation"),
        outcome=chosen,
        hold=bool(options.get("hold", hold)),
    )


def _fail_next(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    """The next asynchronous operation matching cluster/operation/tenant ends `*_FAILED`
    (or `outcome`: `rollback_complete` / `rollback_failed`; `hold`: only once finished
    by hand)."""
    sim.lifecycle.failures.append(_inject(body, outcome="failed", hold=False))
    return {"failure_injections": [vars(f) for f in sim.lifecycle.failures]}


def _hold_next(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    """The next matching operation stays `*_IN_PROGRESS` until `/_sim/finish-operations`,
    then ends with `outcome` (default `complete`)."""
    sim.lifecycle.failures.append(_inject(body, outcome="complete", hold=True))
    return {"failure_injections": [vars(f) for f in sim.lifecycle.failures]}


def _finish_operations(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    """Fast-forward: end running operations now, held ones too (all, or one tenant's,
    one cluster's or one operation's)."""
    options = _object(body)
    cluster_uuid = options.get("cluster")
    if cluster_uuid is not None:
        cluster_uuid = _find_cluster(sim, cluster_uuid)[1].uuid
    finished = sim.lifecycle.finish_now(
        sim.now(), options.get("tenant"), cluster_uuid, options.get("operation")
    )
    return {"finished": finished}


def _config_document(config: SimulatorConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")  # SecretStr dumps as "**********"


def _get_config(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    return _config_document(sim.config)


def _patch_config(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    changes = _object(body)
    unknown = set(changes) - CONFIG_MUTABLE
    if unknown:
        raise AdminError(400, f"not changeable at run time: {sorted(unknown)}")
    merged = SimulatorConfig.model_validate({**sim.config.model_dump(), **changes})
    for name in changes:
        setattr(sim.config, name, getattr(merged, name))
    return _config_document(sim.config)


def _find_cluster(sim: Simulator, ident: str) -> tuple[Tenant, Cluster]:
    for tenant in sim.store.tenants.values():
        for cluster in tenant.clusters.values():
            if ident in (cluster.uuid, cluster.name):
                return tenant, cluster
    raise AdminError(404, f"no cluster {ident}")


def _apply_patch(target: Any, options: dict[str, Any], fields: set[str]) -> None:
    unknown = set(options) - fields
    if unknown:
        raise AdminError(400, f"unknown fields: {sorted(unknown)}")
    for name, value in options.items():
        if name in ("labels", "answer_labels"):
            if not isinstance(value, dict):
                raise AdminError(400, f"{name} must be an object")
            if name == "answer_labels":
                target.answer_labels.update(value)
                continue
            for key, label in value.items():
                if label is None:
                    target.labels.pop(key, None)
                else:
                    target.labels[key] = label
        else:
            setattr(target, name, value)


def _patch_cluster(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    """Change a cluster out of band: `status`, `status_reason`, `name`, `labels` (null
    deletes a label); `kube_tag` goes to the control plane, as in NKS. `answer_labels`
    only change how answers show labels: a value verbatim (any JSON type), null hides the
    label."""
    options = dict(_object(body))
    _, cluster = _find_cluster(sim, request.match_info["cluster"])
    label_changes = dict(options.get("labels") or {})
    if "kube_tag" in label_changes:
        cluster.master.labels["kube_tag"] = label_changes.pop("kube_tag")
        options["labels"] = label_changes
    _apply_patch(cluster, options, {"status", "status_reason", "name", "labels", "answer_labels"})
    cluster.updated_at = sim.now()
    return _cluster_state(sim, cluster, str(request.url.origin()))


def _patch_nodegroup(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    """Change a node group out of band: `status`, `status_reason`, `flavor_id`, `labels`,
    `answer_labels` (as for a cluster)."""
    _, cluster = _find_cluster(sim, request.match_info["cluster"])
    try:
        ng = cluster.find_nodegroup(request.match_info["nodegroup"])
    except Exception as exc:
        raise AdminError(404, str(exc)) from None
    fields = {"status", "status_reason", "flavor_id", "labels", "answer_labels"}
    _apply_patch(ng, _object(body), fields)
    ng.updated_at = sim.now()
    return _cluster_state(sim, cluster, str(request.url.origin()))


def _delete_cluster(sim: Simulator, request: web.Request, body: Any) -> dict[str, Any]:
    """Remove a cluster at once, as if someone deleted it in the console."""
    tenant, cluster = _find_cluster(sim, request.match_info["cluster"])
    del tenant.clusters[cluster.uuid]
    tenant.deleted.append({"uuid": cluster.uuid, "name": cluster.name, "deleted_at": sim.now()})
    return {"deleted": cluster.uuid}
