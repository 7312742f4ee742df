"""Node power states: NKS's node addresses joined to compute servers, never guessed."""

from __future__ import annotations

from typing import Any

from nks_operator.nks.compute import GroupHints, Server
from nks_operator.nks.listing import Listing, UnreadableEntry
from nks_operator.nks.models import NodeGroup
from nks_operator.reconcile.nodes import group_hints, join_nodes


def server(id_: str, address: str, **fields: Any) -> Server:
    return Server.model_validate(
        {"id": id_, "name": f"node-{id_}", "addresses": {"net": [{"addr": address}]}, **fields}
    )


def test_running_and_stopped_nodes() -> None:
    servers = [server("a", "10.0.0.1", status="ACTIVE"), server("b", "10.0.0.2", status="SHUTOFF")]
    nodes = join_nodes(["10.0.0.1", "10.0.0.2"], 2, servers)
    assert nodes.problem is None
    assert [(n.id, n.stopped) for n in nodes.states or ()] == [("a", False), ("b", True)]
    assert nodes.stopped == ["b"]


def test_a_node_in_between_makes_the_group_unknown() -> None:
    servers = [
        server("a", "10.0.0.1", status="ACTIVE"),
        server("b", "10.0.0.2", status="SUSPENDING_SOON", **{"OS-EXT-STS:power_state": 4}),
    ]
    nodes = join_nodes(["10.0.0.1", "10.0.0.2"], 2, servers)
    assert nodes.states is None
    assert nodes.problem == "neither running nor stopped: node-b (status SUSPENDING_SOON)"


def test_an_unreadable_status_is_named() -> None:
    odd = server("b", "10.0.0.2", status=["ACTIVE"])
    nodes = join_nodes(["10.0.0.2"], 1, [odd])
    assert nodes.states is None and "unreadable status" in (nodes.problem or "")


def test_unreadable_or_missing_answers() -> None:
    assert join_nodes(None, 2, []).problem == "NKS's node_addresses of the group could not be read"
    assert join_nodes(None, 0, []).states == ()  # no nodes: nothing to know
    assert join_nodes([], 0, None).states == ()
    assert join_nodes(["10.0.0.1"], 1, None, "compute API call failed: 503").problem == (
        "compute API call failed: 503"
    )
    listing = Listing(
        [server("a", "10.0.0.1", status="ACTIVE")], [UnreadableEntry(None, None, "no id")]
    )
    nodes = join_nodes(["10.0.0.1", "10.0.0.9"], 2, listing)
    assert nodes.states is None
    assert nodes.problem == (
        "no server has address(es) 10.0.0.9; the compute API answered 1 server(s) unreadably"
    )


def test_two_clusters_on_one_cidr_are_told_apart_by_the_groups_hints() -> None:
    """Project-wide, 10.0.0.5 is a node of this group and of another cluster's group."""
    ours = server(
        "ours", "10.0.0.5", status="SHUTOFF", flavor={"id": "f-small"}, image={"id": "i1"}
    )
    theirs = server(
        "theirs", "10.0.0.5", status="ACTIVE", flavor={"id": "f-big"}, image={"id": "i1"}
    )
    servers = [ours, theirs]
    unsure = join_nodes(["10.0.0.5"], 1, servers)
    assert unsure.states is None and "several servers have 10.0.0.5" in (unsure.problem or "")
    by_flavor = join_nodes(["10.0.0.5"], 1, servers, hints=GroupHints(flavor_id="f-small"))
    assert by_flavor.stopped == ["ours"]
    # NKS's node_list label, when it is there, decides first (a flavor change may be rolling).
    by_list = join_nodes(
        ["10.0.0.5"], 1, servers, hints=GroupHints(frozenset({"theirs"}), flavor_id="f-small")
    )
    assert [n.id for n in by_list.states or ()] == ["theirs"]
    # Hints that leave two (or none) of them say nothing: still unknown, never guessed.
    alike = join_nodes(["10.0.0.5"], 1, servers, hints=GroupHints(image_id="i1"))
    assert alike.states is None


def test_the_hints_come_from_the_node_group_answer() -> None:
    group = NodeGroup.model_validate(
        {
            "uuid": "g1",
            "name": "pool",
            "flavor_id": "f-small",
            "image_id": "i1",
            "labels": {"node_list": "s1:s2"},
        }
    )
    assert group_hints(group) == GroupHints(frozenset({"s1", "s2"}), "f-small", "i1")
