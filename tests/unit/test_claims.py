"""A sibling's claim on a cluster lasts until a read late enough to show its operation."""

from __future__ import annotations

from nks_operator.control.claims import HOLD_LIMIT, Claims


def test_a_claim_ends_with_a_read_made_after_its_time_not_with_the_clock() -> None:
    now = [100.0]
    claims = Claims(clock=lambda: now[0])
    claims.claim("c", "sender", 30)
    assert not claims.held_by_other("c", "sender", read_at=0.0)  # never against its holder
    now[0] = 140.0
    # Reads failed since shortly after the send: the view is too old to show the operation.
    assert claims.held_by_other("c", "sibling", read_at=110.0)
    assert not claims.held_by_other("c", "sibling", read_at=131.0)
    assert not claims.held_by_other("c", "sibling")  # no view given: the clock decides
    now[0] = 100.0 + HOLD_LIMIT * 30 + 1
    assert not claims.held_by_other("c", "sibling", read_at=110.0)  # bounded, whatever fails


def test_release_by_its_holder_only() -> None:
    claims = Claims()
    claims.claim("c", "sender", 30)
    claims.release("c", "sibling")
    assert claims.held_by_other("c", "sibling")
    claims.release("c", "sender")
    assert not claims.held_by_other("c", "sibling")
    claims.claim("c", "sender", 30)
    claims.claim("d", "sender", 30)
    claims.release_all("sender")  # it was deleted
    assert not claims.held_by_other("c", "sibling") and not claims.held_by_other("d", "x")
