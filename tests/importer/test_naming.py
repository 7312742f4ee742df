"""Kubernetes names derived from NKS names (importer/naming.py)."""

from __future__ import annotations

import re

import pytest

from nks_operator.importer.naming import MAX_LENGTH, kube_name, nodegroup_base, unique_names

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.mark.parametrize(
    ("nks", "expected"),
    [
        ("shop", "shop"),
        ("Shop_Prod.1", "shop-prod-1"),
        ("--a--b--", "a-b"),
        ("", "cluster"),
        ("___", "cluster"),
        ("x" * 80, "x" * MAX_LENGTH),
    ],
)
def test_kube_name(nks: str, expected: str) -> None:
    assert kube_name(nks, "cluster") == expected
    assert DNS_LABEL.match(kube_name(nks, "cluster"))


def test_unique_names_keep_what_is_unique() -> None:
    assert unique_names([("u1", "a"), ("u2", "b")]) == {"u1": "a", "u2": "b"}


def test_a_name_wanted_twice_gets_a_suffix_for_every_holder() -> None:
    names = unique_names([("2b778d83-aaaa", "shop"), ("aa11bb22-bbbb", "shop")])
    assert names == {"2b778d83-aaaa": "shop-2b778d83", "aa11bb22-bbbb": "shop-aa11bb22"}
    # Whatever the order.
    assert unique_names([("aa11bb22-bbbb", "shop"), ("2b778d83-aaaa", "shop")]) == names


def test_a_taken_name_gets_a_suffix_and_reused_names_stay() -> None:
    names = unique_names(
        [("2b778d83-aaaa", "shop"), ("u2", "web")], taken={"shop"}, reuse={"u2": "my-web"}
    )
    assert names == {"2b778d83-aaaa": "shop-2b778d83", "u2": "my-web"}


def test_suffixed_names_stay_valid_and_short() -> None:
    long = "x" * MAX_LENGTH
    names = unique_names([("2b778d83-aaaa", long), ("aa11bb22-bbbb", long)])
    for name in names.values():
        assert len(name) <= MAX_LENGTH and DNS_LABEL.match(name)
    assert len(set(names.values())) == 2


def test_uuid_prefixes_that_collide_take_a_longer_suffix() -> None:
    names = unique_names([("abcdefgh-1111", "a"), ("abcdefgh-2222", "a")])
    assert len(set(names.values())) == 2


def test_node_group_names_start_with_their_clusters() -> None:
    assert nodegroup_base("shop", "batch") == "shop-batch"
    assert len(nodegroup_base("c" * 60, "worker-pool-number-1")) <= MAX_LENGTH
