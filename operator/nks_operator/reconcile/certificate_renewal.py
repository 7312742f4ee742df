"""Whether NKS shows a certificate renewal the operator sent.

The copy of the guide lists no task for a renewal, so it is confirmed by what NKS shows
after the send (docs/nks-api-notes.md, "Service gateways, certificates, IP ACL"): the
cluster seen updating, a task of a renewal's name that ended well, or an expiry other than
the one shown when the call was sent. Until one of them shows, the renewal is still wanted:
NKS may accept a call and drop it, and then it is sent once more.
"""

from __future__ import annotations

from collections.abc import Sequence

from nks_operator.api.operations import OperationType
from nks_operator.api.status import LastOperation
from nks_operator.nks.models import TaskEvent
from nks_operator.reconcile.operation_state import matching_task


def expiry_mark(shown: str | None) -> str:
    """What status keeps of the expiry shown at the send ("": NKS showed none)."""
    return shown or ""


def unconfirmed(
    sent_at_expiry: str | None,
    shown: str | None,
    last: LastOperation | None,
    tasks: Sequence[TaskEvent],
) -> bool:
    """A renewal was sent (or is to be sent again, NKS having dropped it) and NKS shows
    nothing of it yet.

    `sent_at_expiry`: the expiry NKS showed when it was sent (`expiry_mark`); None: no
    renewal recorded (or one recorded by a release that kept no expiry: trusted). `shown`:
    the expiry NKS shows now. `last`: `status.lastOperation`.
    """
    if sent_at_expiry is None or last is None or last.type != OperationType.RENEW_CERTIFICATE:
        return False
    if last.state == "InProgress":  # NKS showed the cluster updating since the send
        return False
    # Ended: succeeded, or failed for this generation (refused, failed, dropped twice);
    # a renewal NKS dropped once is marked for sending again (no generation).
    ended = last.state == "Succeeded" or (last.state == "Failed" and last.generation is not None)
    if ended or expiry_mark(shown) != sent_at_expiry:
        return False
    task = matching_task(last, tasks)
    return task is None or not task.succeeded
