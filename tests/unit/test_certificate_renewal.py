"""When a sent certificate renewal counts as shown by NKS (reconcile/certificate_renewal)."""

from __future__ import annotations

from typing import Any

import pytest

from nks_operator.api.status import LastOperation
from nks_operator.nks.models import TaskEvent
from nks_operator.reconcile.certificate_renewal import expiry_mark, unconfirmed

BEFORE = "2031-09-28T01:40:19+00:00"
LATER = "2031-12-06T10:00:00+00:00"


def renewal(state: str = "Requested", **fields: Any) -> LastOperation:
    return LastOperation.model_validate(
        {"type": "RENEW_CERTIFICATE", "state": state, "sinceTaskID": 10, **fields}
    )


def task(id_: int, state: str, type_: str = "CLUSTER_ROTATE_CERTIFICATE") -> TaskEvent:
    return TaskEvent.model_validate({"uuid": f"t{id_}", "id": id_, "type": type_, "state": state})


def test_a_renewal_nks_shows_nothing_of_is_unconfirmed() -> None:
    assert unconfirmed(BEFORE, BEFORE, renewal(), [])
    # Dropped once: marked for sending again (no generation), still unconfirmed.
    assert unconfirmed(BEFORE, BEFORE, renewal("Failed", generation=None), [])
    # NKS showed no expiry then and shows none now.
    assert unconfirmed(expiry_mark(None), None, renewal(), [])


@pytest.mark.parametrize(
    ("shown", "last", "tasks"),
    [
        (LATER, renewal(), []),  # another expiry
        (BEFORE, renewal("InProgress"), []),  # the cluster was seen updating
        (BEFORE, renewal(), [task(11, "SUCCESS")]),  # a task of a renewal's name ended well
        (BEFORE, renewal("Succeeded"), []),
        (BEFORE, renewal("Failed", generation=3), []),  # ended: not sent again
    ],
)
def test_what_shows_a_renewal_or_ends_it(
    shown: str, last: LastOperation, tasks: list[TaskEvent]
) -> None:
    assert not unconfirmed(BEFORE, shown, last, tasks)


def test_an_older_task_one_still_running_or_another_kind_shows_nothing() -> None:
    assert unconfirmed(BEFORE, BEFORE, renewal(), [task(9, "SUCCESS")])  # before the send
    assert unconfirmed(BEFORE, BEFORE, renewal(), [task(11, "RUNNING")])
    assert unconfirmed(BEFORE, BEFORE, renewal(), [task(11, "SUCCESS", "CLUSTER_RESIZE")])


def test_nothing_is_unconfirmed_without_a_record_of_the_send() -> None:
    # No renewal recorded, or one recorded by a release that kept no expiry: trusted.
    assert not unconfirmed(None, BEFORE, renewal(), [])
    assert not unconfirmed(BEFORE, BEFORE, None, [])
    other = LastOperation.model_validate({"type": "SET_IP_ACL", "state": "Requested"})
    assert not unconfirmed(BEFORE, BEFORE, other, [])
