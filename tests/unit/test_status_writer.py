"""The status patch: what disappeared is removed on the apiserver too."""

from __future__ import annotations

from nks_operator.control.status_writer import merge_patch


def test_a_status_patch_nulls_what_disappeared_at_any_depth() -> None:
    old = {"phase": "Ready", "drift": ["a"], "lastOperation": {"generation": 2, "state": "x"}}
    new = {"phase": "Ready", "lastOperation": {"state": "Failed"}}
    assert merge_patch(old, new) == {
        "phase": "Ready",
        "drift": None,
        "lastOperation": {"generation": None, "state": "Failed"},
    }


def test_lists_and_new_objects_are_written_whole() -> None:
    old = {"nodeAddresses": ["a", "b"], "conditions": [{"type": "Ready"}]}
    new = {"nodeAddresses": ["a"], "conditions": [], "creation": {"name": "x"}}
    assert merge_patch(old, new) == new
