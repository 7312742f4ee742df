"""Conditions keep their transition time unless their status really changed."""

from __future__ import annotations

from nks_operator.reconcile import conditions
from nks_operator.reconcile.conditions import ConditionUpdate


def test_transition_time_moves_only_on_status_change() -> None:
    first = conditions.apply([], [ConditionUpdate("Ready", "False", "A")], generation=1, now="t1")
    same = conditions.apply(first, [ConditionUpdate("Ready", "False", "B")], generation=1, now="t2")
    assert same[0].last_transition_time == "t1" and same[0].reason == "B"
    flipped = conditions.apply(
        same, [ConditionUpdate("Ready", "True", "C")], generation=2, now="t3"
    )
    assert flipped[0].last_transition_time == "t3" and flipped[0].observed_generation == 2


def test_round_trip_within_one_pass_keeps_the_stored_time() -> None:
    stored = conditions.apply([], [ConditionUpdate("Ready", "False", "X")], generation=1, now="t1")
    mid = conditions.apply(
        stored, [ConditionUpdate("Ready", "Unknown", "Y")], generation=1, now="t2", baseline=stored
    )
    back = conditions.apply(
        mid, [ConditionUpdate("Ready", "False", "Z")], generation=1, now="t3", baseline=stored
    )
    assert back[0].last_transition_time == "t1"
    assert [
        c.type
        for c in conditions.apply(
            back, [ConditionUpdate("Synced", "True", "S")], generation=1, now="t4"
        )
    ] == ["Ready", "Synced"]
