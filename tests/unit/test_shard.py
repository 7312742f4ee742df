"""Label-selector sharding: parsing and the kopf filter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nks_operator.handlers import shard


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    shard.configure({})


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


def test_filter_matches_every_pair() -> None:
    assert shard.in_shard(labels={"anything": "x"})  # no selector: everything
    shard.configure({"shard": "a", "team": "x"})
    assert shard.in_shard(labels={"shard": "a", "team": "x", "other": "y"})
    assert not shard.in_shard(labels={"shard": "a"})
    assert not shard.in_shard(labels={"shard": "b", "team": "x"})
    assert not shard.in_shard(labels=None)


def test_each_shard_has_a_finalizer_of_its_own() -> None:
    base = "nks.nhncloud.com/finalizer"
    assert shard.finalizer(base) == base  # no selector: the one finalizer
    shard.configure({"shard": "a"})
    a = shard.finalizer(base)
    shard.configure({"shard": "b"})
    b = shard.finalizer(base)
    assert a.startswith(base + "-") and b.startswith(base + "-") and a != b
    assert len(a.split("/")[1]) <= 63  # a qualified name's limit
