"""Control-plane log shipping: whether NKS has what spec.controlPlaneLog asks, and the
change that gets it there (docs/nks-api-notes.md, "Control-plane log shipping").

The setting goes with the create (the `control_plane_log` label) and later with `PATCH
/v1/clusters/{id}` type `control_plane_log`, confirmed by its task
`CLUSTER_UPDATE_CONTROL_PLANE_LOG`. How NKS shows the setting is unknown, so two sources
count:

- an answer that carries the `control_plane_log` label is compared field by field: a
  change made elsewhere is corrected;
- the operator's record, `status.controlPlaneLog.settingsHash`: a keyed hash of the
  settings NKS last confirmed, the Log & Crash Search app key included. A key changed in
  its Secret is therefore sent again, and the key is never stored. Without the label, a
  change made elsewhere cannot be seen.

An unreadable value is unknown and never a difference.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nks_operator.api.cluster import ControlPlaneLog
from nks_operator.api.operations import OperationType
from nks_operator.nks import NKSClient
from nks_operator.nks.models import ControlPlaneLog as ControlPlaneLogSettings
from nks_operator.nks.models import ControlPlaneLogState
from nks_operator.reconcile.day2 import Action, Plan

OPERATION = OperationType.CLUSTER_UPDATE_CONTROL_PLANE_LOG
DESTINATIONS = {"lncs": "Log & Crash Search", "obs": "Object Storage"}


def hash_parts(uid: str, settings: Mapping[str, Any]) -> tuple[str, ...]:
    """What the keyed hash of a setting covers: the resource and the wire settings (app
    key included), canonically."""
    return ("control-plane-log", uid, json.dumps(settings, sort_keys=True, separators=(",", ":")))


def shown_differs(desired: ControlPlaneLog, shown: ControlPlaneLogState) -> bool:
    """Whether NKS's label shows other settings than the spec's (the app key aside)."""
    if shown.enable is None:
        return False
    if not desired.enabled or not shown.enable:
        return shown.enable != desired.enabled
    pairs: list[tuple[Any, Any]] = [
        (shown.type, desired.destination),
        (shown.sgw, desired.service_gateway_id),
    ]
    if desired.upload_interval_minutes is not None:
        pairs.append((shown.upload_interval, desired.upload_interval_minutes))
    if desired.destination == "obs" and desired.obs is not None:
        pairs.append((shown.obs_api_url, desired.obs.api_url))
        if desired.obs.store_as is not None:
            pairs.append((shown.obs_store_as, desired.obs.store_as))
    return any(actual is not None and actual != wanted for actual, wanted in pairs)


def _key_shown(desired: ControlPlaneLog, shown: ControlPlaneLogState, app_key: str | None) -> bool:
    if not desired.enabled or desired.destination != "lncs":
        return True
    key = shown.lncs_appkey
    return key is not None and app_key is not None and key.get_secret_value() == app_key


def in_sync(
    desired: ControlPlaneLog,
    shown: ControlPlaneLogState | None,
    *,
    recorded: str | None,
    wanted: str,
    app_key: str | None,
) -> bool:
    """Whether NKS has the spec's setting. `recorded`: the hash of the settings NKS last
    confirmed; `wanted`: the hash of the spec's (with the key its Secret holds now)."""
    if recorded == wanted:
        return shown is None or not shown_differs(desired, shown)
    # Not what was last confirmed (the spec or the key changed, or nothing is recorded):
    # only an answer showing every setting, the key included, says NKS has it anyway.
    return (
        shown is not None
        and shown.enable is not None
        and not shown_differs(desired, shown)
        and _key_shown(desired, shown, app_key)
    )


async def _send(client: NKSClient, cluster_id: str, *, settings: ControlPlaneLogSettings) -> None:
    await client.set_control_plane_log(cluster_id, settings)


def summary(desired: ControlPlaneLog) -> str:
    if not desired.enabled:
        return "stop shipping control-plane logs"
    where = DESTINATIONS.get(desired.destination or "", desired.destination or "?")
    return f"ship control-plane logs to {where}"


def plan_control_plane_log(
    desired: ControlPlaneLog | None,
    shown: ControlPlaneLogState | None,
    *,
    recorded: str | None,
    wanted: str | None,
    settings: Mapping[str, Any] | None,
    app_key: str | None,
) -> Plan:
    """The change of the control-plane log setting, if NKS does not have the spec's.
    `settings`: the wire object (`payloads.control_plane_log_settings`), `wanted` its
    hash; both None when the spec does not manage the setting."""
    plan = Plan()
    if desired is None or settings is None or wanted is None:
        return plan
    if in_sync(desired, shown, recorded=recorded, wanted=wanted, app_key=app_key):
        return plan
    plan.action = Action(
        OPERATION,
        _send,
        # The app key stays a SecretStr from here to the wire.
        {"settings": ControlPlaneLogSettings.model_validate(dict(settings))},
        summary(desired),
    )
    return plan
