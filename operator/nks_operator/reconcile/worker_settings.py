"""The current edition's node group settings - Kubernetes node labels, the metric-based
autoscaler, floating IP auto-bind - and the record of what the operator sent for each.

Each is sent at create (labels) or by its own call, confirmed by its task, and compared
with what NKS's answers show (reconcile/observed.py). How answers show node labels and
floating IP auto-bind is unknown (docs/nks-api-notes.md, "The current edition"), so a
setting NKS does not show could be sent again on every pass. `status.sentSettings`
prevents that: per setting, a digest of the value last sent and how far it got.

- Sent: on its way. Unconfirmed: NKS completed it (or the create carrying it) and does
  not show the setting. Confirmed: NKS showed the value after it was sent.
- NKS shows the spec's value: in sync.
- NKS shows another value: sent - unless this very value was completed and never shown
  (NKS took the call and kept its own value: reported, not sent again until the spec
  changes; a Confirmed value that changed later is drift, corrected).
- NKS does not show it: sent once per spec value, then trusted (Unconfirmed); turning the
  metric autoscaler off is never sent on a guess.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

from nks_operator.api.operations import OperationType
from nks_operator.api.status import ResourceStatus, SentSetting
from nks_operator.api.worker import WorkerSpec
from nks_operator.nks.models import NodeGroup
from nks_operator.reconcile import observed as observing
from nks_operator.reconcile import payloads

NODE_LABELS = "nodeLabels"
METRIC_AUTOSCALER = "metricAutoscaler"
FLOATING_IP = "floatingIPAutoBind"
# lastOperation.type of each setting's call: the NKS task that confirms it.
OPERATIONS = {
    NODE_LABELS: OperationType.NODEGROUP_UPDATE_K8S_NODE_LABELS,
    METRIC_AUTOSCALER: OperationType.NODEGROUP_SET_METRIC_BASE_AUTOSCALER,
    FLOATING_IP: OperationType.NODEGROUP_UPDATE_FIP_AUTO_BIND,
}
SETTING_OF: dict[str, str] = {operation: key for key, operation in OPERATIONS.items()}

Verdict = Literal["in_sync", "send", "not_applied"]


def wanted_values(worker: WorkerSpec) -> dict[str, Any]:
    """What the spec asks of each setting, as sent: node labels and floating IP auto-bind
    only when set (absent: left alone), the metric autoscaler always (absent: off)."""
    values: dict[str, Any] = {
        METRIC_AUTOSCALER: payloads.metric_autoscaler_policies(worker.metric_autoscaler)
    }
    if worker.node_labels is not None:
        values[NODE_LABELS] = dict(worker.node_labels)
    if worker.floating_ip_auto_bind is not None:
        values[FLOATING_IP] = payloads.floating_ip_settings(worker.floating_ip_auto_bind)
    return values


def shown(key: str, wanted: Any, group: NodeGroup) -> bool | None:
    """Whether NKS shows `wanted`; None: its answer does not show the setting."""
    if key == NODE_LABELS:
        return observing.node_labels_shown(wanted, group)
    if key == FLOATING_IP:
        return observing.floating_ip_shown(wanted, group)
    return observing.metric_autoscaler_shown(wanted, group)


def digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def verdict(
    key: str, wanted: Any, group: NodeGroup, sent: Mapping[str, SentSetting] | None
) -> Verdict:
    match = shown(key, wanted, group)
    if match is True:
        return "in_sync"
    record = (sent or {}).get(key)
    same = record is not None and record.digest == digest(wanted)
    if match is False:
        return "not_applied" if same and record and record.state == "Unconfirmed" else "send"
    if key == METRIC_AUTOSCALER and not any(p["enable"] for p in wanted.values()):
        return "in_sync"  # off, and NKS shows nothing on: never switched off on a guess
    return "in_sync" if same and record and record.state != "Sent" else "send"


def at_create(worker: WorkerSpec) -> dict[str, SentSetting]:
    """The records of what a create sends (payloads.setting_labels)."""
    values = wanted_values(worker)
    if worker.metric_autoscaler is None:
        del values[METRIC_AUTOSCALER]  # not sent: NKS's default (off)
    return {key: SentSetting(digest=digest(v), state="Unconfirmed") for key, v in values.items()}


def record_sent(status: ResourceStatus, operation: str, worker: WorkerSpec) -> None:
    """Right after a setting's call was sent (the plan made it from this spec)."""
    key = SETTING_OF.get(operation)
    if key is None:
        return
    value = wanted_values(worker).get(key)
    records = dict(status.sent_settings or {})
    records[key] = SentSetting(digest=digest(value), state="Sent")
    status.sent_settings = records


def record_done(status: ResourceStatus, operation: str) -> None:
    """NKS completed a setting's call: Unconfirmed until its answers show the value."""
    key = SETTING_OF.get(operation)
    record = (status.sent_settings or {}).get(key or "")
    if key is None or record is None or record.state != "Sent":
        return
    status.sent_settings = {
        **(status.sent_settings or {}),
        key: SentSetting(digest=record.digest, state="Unconfirmed"),
    }


def record_shown(status: ResourceStatus, worker: WorkerSpec, group: NodeGroup) -> None:
    """Mark as Confirmed each recorded setting whose spec value NKS shows."""
    records = dict(status.sent_settings or {})
    for key, value in wanted_values(worker).items():
        if key in records and shown(key, value, group) is True:
            records[key] = SentSetting(digest=digest(value), state="Confirmed")
    if records != (status.sent_settings or {}):
        status.sent_settings = records
