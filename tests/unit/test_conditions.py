"""Conditions keep their transition time unless their status really changed, and are always
valid metav1.Conditions (non-empty message, bounded length)."""

from __future__ import annotations

import datetime

import pytest
from pydantic import ValidationError

from nks_operator.api.status import MESSAGE_MAX_LENGTH, Condition
from nks_operator.reconcile import conditions
from nks_operator.reconcile.conditions import ConditionUpdate

T1, T2, T3, T4 = (f"2026-01-01T00:00:0{second}Z" for second in range(1, 5))


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def test_transition_time_moves_only_on_status_change() -> None:
    first = conditions.apply([], [ConditionUpdate("Ready", "False", "A")], generation=1, now=T1)
    same = conditions.apply(first, [ConditionUpdate("Ready", "False", "B")], generation=1, now=T2)
    assert same[0].last_transition_time == at(T1) and same[0].reason == "B"
    flipped = conditions.apply(same, [ConditionUpdate("Ready", "True", "C")], generation=2, now=T3)
    assert flipped[0].last_transition_time == at(T3) and flipped[0].observed_generation == 2


def test_round_trip_within_one_pass_keeps_the_stored_time() -> None:
    stored = conditions.apply([], [ConditionUpdate("Ready", "False", "X")], generation=1, now=T1)
    mid = conditions.apply(
        stored, [ConditionUpdate("Ready", "Unknown", "Y")], generation=1, now=T2, baseline=stored
    )
    back = conditions.apply(
        mid, [ConditionUpdate("Ready", "False", "Z")], generation=1, now=T3, baseline=stored
    )
    assert back[0].last_transition_time == at(T1)
    assert [
        c.type
        for c in conditions.apply(
            back, [ConditionUpdate("Synced", "True", "S")], generation=1, now=T4
        )
    ] == ["Ready", "Synced"]


def test_an_empty_message_becomes_the_reason() -> None:
    """`message` is required in the CRD and an empty string is left out of a status write,
    so a condition without detail says its reason."""
    (written,) = conditions.apply(
        [], [ConditionUpdate("Ready", "True", "ClusterReady")], generation=1, now=T1
    )
    assert written.message == "ClusterReady"
    dumped = written.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert dumped == {
        "type": "Ready",
        "status": "True",
        "reason": "ClusterReady",
        "message": "ClusterReady",
        "lastTransitionTime": T1,
        "observedGeneration": 1,
    }


def test_a_long_message_is_cut_to_what_the_apiserver_accepts() -> None:
    long = "x" * (MESSAGE_MAX_LENGTH + 10)
    (written,) = conditions.apply(
        [], [ConditionUpdate("Synced", "False", "NKSUnavailable", long)], generation=1, now=T1
    )
    assert len(written.message) == MESSAGE_MAX_LENGTH
    assert written.message.startswith("xxx") and written.message.endswith("\u2026")
    exact = "y" * MESSAGE_MAX_LENGTH
    (kept,) = conditions.apply(
        [], [ConditionUpdate("Synced", "False", "NKSUnavailable", exact)], generation=1, now=T1
    )
    assert kept.message == exact


def test_a_stored_condition_without_a_message_reads_as_its_reason() -> None:
    """Releases before `message` was required left an empty message out of the status."""
    stored = {
        "type": "Synced",
        "status": "True",
        "reason": "Synced",
        "lastTransitionTime": T1,
        "observedGeneration": 3,
    }
    condition = Condition.model_validate(stored)
    assert condition.message == "Synced"
    assert condition.model_dump(mode="json", by_alias=True)["lastTransitionTime"] == T1


@pytest.mark.parametrize(
    "reason",
    ["", "9Lives", "Has Space", "Trailing,", "Dash-ed", "x" * 1025],
)
def test_reasons_outside_the_kubernetes_pattern_are_refused(reason: str) -> None:
    with pytest.raises(ValidationError):
        conditions.apply([], [ConditionUpdate("Ready", "False", reason, "m")], generation=1, now=T1)


@pytest.mark.parametrize("reason", ["InvalidSpec", "NODEGROUP_UPGRADE", "a", "A:b,c_1"])
def test_reasons_in_the_kubernetes_pattern_are_accepted(reason: str) -> None:
    (written,) = conditions.apply(
        [], [ConditionUpdate("Ready", "False", reason, "m")], generation=1, now=T1
    )
    assert written.reason == reason


def test_transition_time_must_be_a_timestamp() -> None:
    with pytest.raises(ValidationError):
        conditions.apply([], [ConditionUpdate("Ready", "True", "R")], generation=1, now="t1")
