"""Label-selector sharding: parsing, the match and the finalizer per shard."""

from __future__ import annotations

import pytest

from nks_operator.handlers import shard


def test_parse_repeated_and_comma_separated() -> None:
    assert shard.parse_selector(["shard=a, team = x", "env="]) == {
        "shard": "a",
        "team": "x",
        "env": "",
    }
    assert shard.parse_selector([]) == {}


@pytest.mark.parametrize("bad", ["shard", "=a", "shard!=a", "shard==a"])
def test_parse_refuses_what_it_does_not_support(bad: str) -> None:
    with pytest.raises(shard.SelectorError, match="key=value"):
        shard.parse_selector([bad])


def test_a_selector_matches_every_pair() -> None:
    assert shard.matches({}, {"anything": "x"})  # no selector: everything
    assert shard.matches({}, None)
    selector = {"shard": "a", "team": "x"}
    assert shard.matches(selector, {"shard": "a", "team": "x", "other": "y"})
    assert not shard.matches(selector, {"shard": "a"})
    assert not shard.matches(selector, {"shard": "b", "team": "x"})
    assert not shard.matches(selector, None)


def test_each_shard_has_a_finalizer_of_its_own() -> None:
    base = "nks.nhncloud.com/finalizer"
    assert shard.finalizer(base, {}) == base  # no selector: the one finalizer
    a = shard.finalizer(base, {"shard": "a"})
    b = shard.finalizer(base, {"shard": "b"})
    assert a.startswith(base + "-") and b.startswith(base + "-") and a != b
    assert len(a.split("/")[1]) <= 63  # a qualified name's limit
