"""The add-on API of the current edition: types, the catalogue, and the add-ons installed
on a cluster (list, get, install, update, uninstall).

An install or update runs asynchronously like every NKS change: the add-on shows
`UPDATE_IN_PROGRESS`, then `UPDATE_COMPLETE` (the status of the CE examples) or, when it
fails (`/_sim/fail-next` with operation `install_addon` / `update_addon`),
`UPDATE_FAILED` with a `status_reason` - the failed version is not applied, and applying
again repairs it. An uninstall shows `DELETE_IN_PROGRESS`, then the add-on is gone (or
`DELETE_FAILED`). Mandatory types cannot be removed. Whether the cluster's own status moves
meanwhile is the `addon_change_status` knob; whether `options` are taken, `addon_options`
(docs/nks-api-notes.md, "Add-ons", "Simulator knobs").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nks_devtools.simulator import rules, supports
from nks_devtools.simulator.addon_rules import (
    COMPLETE,
    DELETING,
    IN_PROGRESS,
    catalogue_entry,
    check_options,
    new_addon,
)
from nks_devtools.simulator.catalogue import CATALOGUE
from nks_devtools.simulator.clusters import accepted, find_cluster, json_object
from nks_devtools.simulator.core import Reply, RequestContext, Simulator
from nks_devtools.simulator.errors import BadRequest, Conflict
from nks_devtools.simulator.state import Addon, Cluster
from nks_devtools.simulator.views import timestamp
from nks_operator.nks.operations import Operation

Params = Mapping[str, str]
RESOLVE_CONFLICTS = ("none", "overwrite", "preserve")


# --- documents -------------------------------------------------------------------------


def installed_document(cluster: Cluster, addon: Addon) -> dict[str, Any]:
    return {
        "uuid": addon.uuid,
        "project_id": cluster.project_id,
        "cluster_uuid": cluster.uuid,
        "cluster_name": cluster.name,
        "type": addon.type,
        "name": addon.name,
        "version": addon.version,
        "options": dict(addon.options),
        "status": addon.status,
        "status_reason": addon.status_reason,
        "scope": "cluster",
        "target_uuid": cluster.uuid,
        "created_at": timestamp(addon.created_at),
        "updated_at": timestamp(addon.updated_at),
    }


def _body(sim: Simulator, body: Any, required: tuple[str, ...], what: str) -> dict[str, Any]:
    body = json_object(body)
    allowed = {*required, "resolve_conflicts"}
    if sim.config.addon_options == "accepted":
        allowed.add("options")
    rules.check_known_fields(body, allowed, what)
    for name in (*required, "resolve_conflicts"):
        rules.require_str(body, name)
    if body["resolve_conflicts"] not in RESOLVE_CONFLICTS:
        raise BadRequest(f"resolve_conflicts must be one of {', '.join(RESOLVE_CONFLICTS)}.")
    return body


# --- reads -----------------------------------------------------------------------------


def list_addon_types(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    types = [{"uuid": t.uuid, "name": t.name, "mandatory": t.mandatory} for t in CATALOGUE.types]
    return Reply(200, {"addon_types": types})


def get_addon_type(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    kind = CATALOGUE.find_type(params["addon_type"])
    return Reply(200, {"uuid": kind.uuid, "name": kind.name, "mandatory": kind.mandatory})


def list_catalogue(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    return Reply(200, {"addons": [entry.document() for entry in CATALOGUE.entries]})


def get_catalogue_entry(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    return Reply(200, CATALOGUE.find_entry(params["addon"]).document())


def list_installed(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    return Reply(200, {"addons": [installed_document(cluster, a) for a in cluster.addons]})


def get_installed(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    return Reply(200, installed_document(cluster, cluster.find_addon(params["addon"])))


# --- changes ---------------------------------------------------------------------------


def _start(
    sim: Simulator,
    ctx: RequestContext,
    cluster: Cluster,
    addon: Addon,
    operation: Operation,
    *,
    phase: str,
    on_complete: Callable[[Addon], None] | None,
    removes_addon: bool = False,
) -> None:
    addon_uuid = addon.uuid

    def completed(c: Cluster, at: float) -> None:
        target = c.addon_by_uuid(addon_uuid)
        if target is None:
            return
        if removes_addon:
            c.addons.remove(target)
            return
        if on_complete is not None:
            on_complete(target)
        target.status, target.status_reason, target.updated_at = COMPLETE, None, at

    def failed(c: Cluster, at: float, status: str, reason: str) -> None:
        target = c.addon_by_uuid(addon_uuid)
        if target is not None:
            target.status, target.status_reason, target.updated_at = status, reason, at

    sim.lifecycle.start(
        ctx.tenant,
        cluster,
        now=ctx.now,
        operation=operation,
        phase="DELETE" if phase == "DELETE" else "UPDATE",
        event_type=supports.task_name(sim.config, operation),
        resource=None,
        sets_cluster_status=sim.config.addon_change_status == "update_in_progress",
        nodegroups=[],
        effect=completed,
        fail_reason=ctx.fail_reason,
        on_failure=failed,
    )


def install(sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any) -> Reply:
    cluster = find_cluster(ctx, params)
    body = _body(sim, body, ("name", "version"), "addon")
    entry = catalogue_entry(body["name"], body["version"], cluster.kube_tag)
    if any(a.name == entry.name for a in cluster.addons):
        raise Conflict(f"Addon {entry.name} is already installed on cluster {cluster.name}.")
    if any(a.type == entry.type for a in cluster.addons):
        raise Conflict(f"An addon of type {entry.type} is already installed.")
    options = check_options(entry, body.get("options", {}))
    rules.ensure_operable(cluster)
    rules.ensure_idle(cluster, *accepted(cluster))
    addon = new_addon(sim, entry, options, ctx.now)
    cluster.addons.append(addon)
    _start(sim, ctx, cluster, addon, Operation.INSTALL_ADDON, phase="UPDATE", on_complete=None)
    return Reply(*accepted(cluster))


def update(sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any) -> Reply:
    cluster = find_cluster(ctx, params)
    addon = cluster.find_addon(params["addon"])
    body = _body(sim, body, ("version",), "addon")
    entry = catalogue_entry(addon.name, body["version"], cluster.kube_tag)
    options = check_options(entry, body.get("options", {}), addon.options)
    rules.ensure_operable(cluster)
    rules.ensure_idle(cluster, *accepted(cluster))
    addon.status, addon.status_reason, addon.updated_at = IN_PROGRESS, None, ctx.now

    def updated(target: Addon) -> None:
        target.version, target.options = entry.version, options

    _start(sim, ctx, cluster, addon, Operation.UPDATE_ADDON, phase="UPDATE", on_complete=updated)
    return Reply(*accepted(cluster))


def uninstall(
    sim: Simulator, ctx: RequestContext, params: Params, query: Params, body: Any
) -> Reply:
    cluster = find_cluster(ctx, params)
    addon = cluster.find_addon(params["addon"])
    if CATALOGUE.is_mandatory(addon.type):
        raise BadRequest(f"Addon {addon.name} is of mandatory type {addon.type}; it stays.")
    rules.ensure_operable(cluster)
    rules.ensure_idle(cluster, *accepted(cluster))
    addon.status, addon.status_reason, addon.updated_at = DELETING, None, ctx.now
    _start(
        sim,
        ctx,
        cluster,
        addon,
        Operation.UNINSTALL_ADDON,
        phase="DELETE",
        on_complete=None,
        removes_addon=True,
    )
    return Reply(*accepted(cluster))
