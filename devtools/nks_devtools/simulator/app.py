"""The aiohttp application: one route per operation of `nks.operations`, and the dispatcher
every call goes through - faults, identity, microversion, lifecycle catch-up, the
handler, error shaping and the call log, in that order.

Operations sharing a method and path (the node group `PATCH` types) share one route that
picks the operation by the body's `type`; the add-on paths the current edition writes with
a trailing slash (lists, install) are served with and without it, as the `addon_paths`
knob allows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from nks_devtools.simulator import (
    addons,
    admin,
    cluster_actions,
    clusters,
    compute,
    identity,
    nodegroups,
    settings,
)
from nks_devtools.simulator.core import Reply, RequestContext, Simulator
from nks_devtools.simulator.errors import (
    ApiError,
    BadRequest,
    KeystoneError,
    NotFound,
    OperationInProgress,
    nks_error_body,
    status_title,
)
from nks_devtools.simulator.faults import FaultRule
from nks_devtools.simulator.identity import Token
from nks_operator.nks.operations import ROUTES, Operation

log = logging.getLogger("nks_devtools.simulator")

SIMULATOR: web.AppKey[Simulator] = web.AppKey("simulator", Simulator)

Handler = Callable[[Simulator, RequestContext, Mapping[str, str], Mapping[str, str], Any], Reply]

HANDLERS: dict[Operation, Handler] = {
    Operation.GET_SUPPORTS: clusters.get_supports,
    Operation.LIST_CLUSTERS: clusters.list_clusters,
    Operation.GET_CLUSTER: clusters.get_cluster,
    Operation.CREATE_CLUSTER: clusters.create_cluster,
    Operation.DELETE_CLUSTER: clusters.delete_cluster,
    Operation.RESIZE_CLUSTER: cluster_actions.resize_cluster,
    Operation.GET_KUBECONFIG: cluster_actions.get_kubeconfig,
    Operation.UPDATE_CNI: cluster_actions.update_cni,
    Operation.SET_IP_ACL: cluster_actions.set_ip_acl,
    Operation.GET_IP_ACL: cluster_actions.get_ip_acl,
    Operation.RENEW_CERTIFICATE: cluster_actions.renew_certificate,
    Operation.UPDATE_SERVICE_GATEWAY: cluster_actions.update_service_gateway,
    Operation.LIST_EVENTS: clusters.list_events,
    Operation.GET_EVENT: clusters.get_event,
    Operation.LIST_NODEGROUPS: nodegroups.list_nodegroups,
    Operation.GET_NODEGROUP: nodegroups.get_nodegroup,
    Operation.CREATE_NODEGROUP: nodegroups.create_nodegroup,
    Operation.DELETE_NODEGROUP: nodegroups.delete_nodegroup,
    Operation.STOP_NODES: nodegroups.stop_nodes,
    Operation.START_NODES: nodegroups.start_nodes,
    Operation.GET_AUTOSCALER: nodegroups.get_autoscaler,
    Operation.SET_AUTOSCALER: nodegroups.set_autoscaler,
    Operation.UPGRADE_NODEGROUP: nodegroups.upgrade_nodegroup,
    Operation.UPDATE_USER_SCRIPT: nodegroups.update_user_script,
    Operation.CHANGE_FLAVOR: nodegroups.change_flavor,
    Operation.SET_NODE_LABELS: settings.set_node_labels,
    Operation.SET_METRIC_AUTOSCALER: settings.set_metric_autoscaler,
    Operation.SET_FIP_AUTO_BIND: settings.set_fip_auto_bind,
    Operation.SET_CONTROL_PLANE_LOG: settings.set_control_plane_log,
    Operation.LIST_ADDON_TYPES: addons.list_addon_types,
    Operation.GET_ADDON_TYPE: addons.get_addon_type,
    Operation.LIST_ADDON_CATALOGUE: addons.list_catalogue,
    Operation.GET_ADDON_CATALOGUE_ENTRY: addons.get_catalogue_entry,
    Operation.LIST_CLUSTER_ADDONS: addons.list_installed,
    Operation.GET_CLUSTER_ADDON: addons.get_installed,
    Operation.INSTALL_ADDON: addons.install,
    Operation.UPDATE_ADDON: addons.update,
    Operation.UNINSTALL_ADDON: addons.uninstall,
    Operation.LIST_SERVERS: compute.list_servers,
}

MIN_MICROVERSION, MAX_MICROVERSION = (1, 1), (1, 10)
VERSION_HEADERS = {
    "OpenStack-API-Version": "container-infra 1.10",
    "OpenStack-API-Minimum-Version": "container-infra 1.1",
    "OpenStack-API-Maximum-Version": "container-infra 1.10",
}
INTERNAL_ERROR = (
    "The server has either erred or is incapable of performing the requested operation."
)
GATEWAY_PAGE = "<html><body><h1>{status} {title}</h1>The upstream server failed.</body></html>"


def create_app(sim: Simulator) -> web.Application:
    app = web.Application(middlewares=[_error_shape], client_max_size=4 * 1024 * 1024)
    app[SIMULATOR] = sim
    shared: dict[tuple[str, str], list[Operation]] = {}
    for operation, route in ROUTES.items():
        shared.setdefault((route.method, route.path), []).append(operation)
    for (method, path), operations in shared.items():
        if path.endswith("/"):  # served without the slash too (`addon_paths` knob)
            app.router.add_route(method, path, _endpoint(operations, slash=True))
            app.router.add_route(method, path.rstrip("/"), _endpoint(operations, slash=False))
        else:
            app.router.add_route(method, path, _endpoint(operations))
    admin.register(app, SIMULATOR)
    return app


@web.middleware
async def _error_shape(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Unknown paths and methods answer in NKS's error shape too."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = nks_error_body(exc.status, exc.reason, f"req-{uuid.uuid4()}")
        return web.json_response(body, status=exc.status)


def _check_microversion(request: web.Request) -> None:
    """Upstream answers 406 for a microversion it does not serve; NKS needs the header."""
    raw = request.headers.get("OpenStack-API-Version", "")
    parts = raw.lower().split()
    if len(parts) == 2 and parts[0] == "container-infra":
        if parts[1] == "latest":
            return
        try:
            major, minor = (int(p) for p in parts[1].split("."))
        except ValueError:
            pass
        else:
            if MIN_MICROVERSION <= (major, minor) <= MAX_MICROVERSION:
                return
    raise ApiError(
        406,
        f"Version {raw or '(none)'} was requested but is not supported by this service. Send "
        "'OpenStack-API-Version: container-infra latest' (supported: 1.1 to 1.10).",
    )


def _authenticate(sim: Simulator, request: web.Request, now: float) -> Token:
    token = sim.tokens.lookup(request.headers.get("X-Auth-Token"), now)
    if token is None:
        raise KeystoneError(
            401,
            "The request you have made requires authentication.",
            headers={"WWW-Authenticate": f"Keystone uri='{request.url.origin()}/v2.0'"},
        )
    return token


async def _read_json(request: web.Request, error: type[ApiError] | None = None) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        if error is KeystoneError:
            raise KeystoneError(400, "The request body is not valid JSON.") from None
        raise BadRequest("The request body is not valid JSON.") from None


# The `busy` fault's detail: `rules.ensure_idle`'s words without a cluster to name.
BUSY = "Operation in progress on the cluster; retry once it has finished."


def _fault_response(rule: FaultRule, request_id: str) -> web.Response:
    headers = {"X-Openstack-Request-Id": request_id}
    if rule.action == "throttle":
        headers["Retry-After"] = str(math.ceil(rule.retry_after))  # whole seconds, never less
        detail = "Too many requests; retry later."
    elif rule.action == "busy":
        detail = BUSY
    else:
        detail = INTERNAL_ERROR
    if rule.body == "empty":
        return web.Response(status=rule.status, headers=headers)
    if rule.body == "html":
        text = GATEWAY_PAGE.format(status=rule.status, title=status_title(rule.status))
        return web.Response(
            status=rule.status, text=text, content_type="text/html", headers=headers
        )
    return web.json_response(
        nks_error_body(rule.status, detail, request_id), status=rule.status, headers=headers
    )


async def _drop(request: web.Request, rule: FaultRule, request_id: str) -> web.StreamResponse:
    """Lose the answer of a call whose change was applied."""
    if rule.drop_mode == "error":
        body = nks_error_body(500, INTERNAL_ERROR, request_id)
        return web.json_response(body, status=500, headers={"X-Openstack-Request-Id": request_id})
    if rule.drop_mode == "timeout":
        await asyncio.sleep(rule.hang)
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError  # the connection is gone: nothing is written


def _to_response(reply: Reply, request_id: str, versioned: bool) -> web.Response:
    headers = {"X-Openstack-Request-Id": request_id, **reply.headers}
    if versioned:
        headers.update(VERSION_HEADERS)
    if reply.body is None:
        return web.Response(status=reply.status, headers=headers)
    return web.json_response(reply.body, status=reply.status, headers=headers)


_REFUSED_FORM = {True: "without_slash", False: "with_slash"}


def _endpoint(
    operations: list[Operation], slash: bool | None = None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """`slash`: this path is one form of a path the current edition writes with a trailing
    slash (True: that form; False: without it), served as `addon_paths` allows."""
    by_type = {op.route.body_type: op for op in operations if op.route.body_type is not None}

    async def handle(request: web.Request) -> web.StreamResponse:
        if slash is not None and request.app[SIMULATOR].config.addon_paths == _REFUSED_FORM[slash]:
            return await _dispatch(request, operations[0], _no_such_path)  # logged as a call
        if not by_type:
            return await _dispatch(request, operations[0])
        operation = by_type.get(await _body_type(request))
        if operation is None:
            return await _dispatch(request, operations[0], _refuse_type(sorted(by_type)))
        return await _dispatch(request, operation)

    handle.__name__ = f"nks_{operations[0].value}" + ("_no_slash" if slash is False else "")
    return handle


async def _body_type(request: web.Request) -> Any:
    """The body's `type`, or None (aiohttp keeps the body: the handler reads it again)."""
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        return None
    return body.get("type") if isinstance(body, dict) else None


def _no_such_path(
    sim: Simulator, ctx: RequestContext, params: Mapping[str, str], query: Any, body: Any
) -> Reply:
    raise NotFound("The resource could not be found.")


def _refuse_type(known: list[str]) -> Handler:
    def refuse(
        sim: Simulator, ctx: RequestContext, params: Mapping[str, str], query: Any, body: Any
    ) -> Reply:
        given = body.get("type") if isinstance(body, dict) else None
        raise BadRequest(f"type must be one of {', '.join(known)}, not {given!r}.")

    return refuse


async def _dispatch(
    request: web.Request, operation: Operation, handler: Handler | None = None
) -> web.StreamResponse:
    sim = request.app[SIMULATOR]
    request_id = f"req-{uuid.uuid4()}"
    decision = sim.faults.decide(operation)
    if decision.latency:
        await asyncio.sleep(decision.latency)
    rule = decision.rule
    if rule is not None and rule.action in ("error", "throttle", "busy"):
        response = _fault_response(rule, request_id)
        _record(sim, request, operation, response.status, None, rule.action)
        return response

    tenant_id: str | None = None
    try:
        reply, tenant_id = await _handle(sim, request, operation, rule, request_id, handler)
    except OperationInProgress as exc:
        if sim.config.busy_behaviour == "accept_and_drop":
            reply = Reply(exc.accepted_status, exc.accepted_body)
        else:
            reply = Reply(exc.status, exc.body(request_id), exc.headers)
    except ApiError as exc:
        reply = Reply(exc.status, exc.body(request_id), exc.headers)
    if tenant_id is None:  # refused after authentication: still log whose call it was
        token = sim.tokens.lookup(request.headers.get("X-Auth-Token"), sim.now())
        tenant_id = token.tenant_id if token else None

    dropped = rule is not None and rule.action == "drop_response"
    fault = rule.action if rule is not None else None
    if dropped and rule is not None:
        fault = f"drop_response:{rule.drop_mode}"
    _record(sim, request, operation, reply.status, tenant_id, fault, dropped)
    if dropped and rule is not None:
        return await _drop(request, rule, request_id)
    versioned = operation is not Operation.ISSUE_TOKEN and not operation.is_compute
    return _to_response(reply, request_id, versioned=versioned)


async def _handle(
    sim: Simulator,
    request: web.Request,
    operation: Operation,
    rule: FaultRule | None,
    request_id: str,
    handler: Handler | None = None,
) -> tuple[Reply, str | None]:
    now = sim.advance()
    base_url = str(request.url.origin())
    if operation is Operation.ISSUE_TOKEN:
        body = await _read_json(request, KeystoneError)
        tenant_id, username = identity.check_credentials(sim.config, body)
        token = sim.tokens.issue(tenant_id, username, now, sim.config.token_ttl)
        return Reply(200, identity.token_document(token, base_url, sim.config.region)), tenant_id

    token = _authenticate(sim, request, now)
    if not operation.is_compute:
        _check_microversion(request)
    body = await _read_json(request) if request.method in ("POST", "PATCH") else None
    ctx = RequestContext(
        tenant=sim.store.tenant(token.tenant_id),
        token=token,
        now=now,
        base_url=base_url,
        request_id=request_id,
        fail_reason=rule.reason if rule is not None and rule.action == "fail_async" else None,
    )
    silent = rule is not None and rule.action == "silent_drop"
    snapshot = sim.snapshot_tenant(token.tenant_id) if silent else None
    reply = (handler or HANDLERS[operation])(sim, ctx, request.match_info, request.query, body)
    if snapshot is not None and reply.status < 300:
        sim.restore_tenant(snapshot)  # answered as accepted, but nothing happened
    return reply, token.tenant_id


def _record(
    sim: Simulator,
    request: web.Request,
    operation: Operation,
    status: int,
    tenant_id: str | None,
    fault: str | None,
    dropped: bool = False,
) -> None:
    path = request.path_qs
    sim.calls.record(
        timestamp=sim.now(),
        method=request.method,
        path=path,
        operation=operation.value,
        status=status,
        tenant=tenant_id,
        fault=fault,
        dropped=dropped,
    )
    log.info(
        "%s %s -> %s [%s]%s",
        request.method,
        path,
        status,
        operation.value,
        f" fault={fault}" if fault else "",
    )
