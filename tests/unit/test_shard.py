"""Label-selector sharding: parsing, the kopf filter and the finalizer per shard."""

from __future__ import annotations

import pytest

from nks_operator.handlers import shard
from nks_operator.settings import OperatorSettings


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


class Memo:
    def __init__(self, selector: dict[str, str]) -> None:
        self.settings = OperatorSettings(selector=selector)


def test_filter_matches_every_pair() -> None:
    assert shard.in_shard(labels={"anything": "x"}, memo=Memo({}))  # no selector: everything
    memo = Memo({"shard": "a", "team": "x"})
    assert shard.in_shard(labels={"shard": "a", "team": "x", "other": "y"}, memo=memo)
    assert not shard.in_shard(labels={"shard": "a"}, memo=memo)
    assert not shard.in_shard(labels={"shard": "b", "team": "x"}, memo=memo)
    assert not shard.in_shard(labels=None, memo=memo)


def test_each_shard_has_a_finalizer_of_its_own() -> None:
    base = "nks.nhncloud.com/finalizer"
    assert shard.finalizer(base, {}) == base  # no selector: the one finalizer
    a = shard.finalizer(base, {"shard": "a"})
    b = shard.finalizer(base, {"shard": "b"})
    assert a.startswith(base + "-") and b.startswith(base + "-") and a != b
    assert len(a.split("/")[1]) <= 63  # a qualified name's limit
