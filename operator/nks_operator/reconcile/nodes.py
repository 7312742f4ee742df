"""A worker group's nodes and their power states: NKS's `node_addresses` of the group
joined to the project's compute servers (docs/nks-api-notes.md, "Node instances").

What cannot be known is said, never guessed: a node whose server is in between (BUILD,
REBOOT, a stop still running), failed or in a state NHN adds later is neither running nor
stopped, and the operator then neither stops nor starts any node of the group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nks_operator.nks.compute import GroupHints, Server, match_servers
from nks_operator.nks.models import NodeGroup


@dataclass(frozen=True)
class NodeState:
    """One worker instance as the compute API reports it."""

    id: str
    name: str
    address: str | None
    stopped: bool


@dataclass(frozen=True)
class Nodes:
    """A group's nodes; `states` None: unknown, and `problem` says why."""

    states: tuple[NodeState, ...] | None
    problem: str | None = None

    @property
    def stopped(self) -> list[str]:
        return sorted(node.id for node in self.states or () if node.stopped)


def join_nodes(
    addresses: Sequence[str] | None,
    node_count: int | None,
    servers: Sequence[Server] | None,
    servers_problem: str | None = None,
    hints: GroupHints | None = None,
) -> Nodes:
    """The nodes at `addresses` (None: NKS's answer was unreadable) among `servers` (None:
    the compute API could not be read, `servers_problem` says why); `hints` tell the
    group's servers from others' with the same address."""
    if addresses is None:
        if node_count == 0:
            return Nodes(())
        return Nodes(None, "NKS's node_addresses of the group could not be read")
    if not addresses:
        return Nodes(())
    if servers is None:
        return Nodes(None, servers_problem or "the compute API could not be read")
    joined = match_servers(addresses, servers, hints)
    if joined.problem is not None:
        parts = [joined.problem]
        unreadable = getattr(servers, "unreadable", None)
        if unreadable:
            parts.append(f"the compute API answered {len(unreadable)} server(s) unreadably")
        return Nodes(None, "; ".join(parts))
    states: list[NodeState] = []
    unsure: list[str] = []
    for address, server in joined.found.items():
        stopped = server.stopped
        if stopped is None:
            unreadable_fields = sorted(getattr(server, "unreadable", {}) or {})
            why = (
                f"unreadable {', '.join(unreadable_fields)}"
                if unreadable_fields
                else (f"status {server.status or 'missing'}")
            )
            unsure.append(f"{server.name or server.id} ({why})")
        else:
            states.append(NodeState(server.id, server.name or server.id, address, stopped))
    if unsure:
        return Nodes(None, f"neither running nor stopped: {', '.join(unsure)}")
    return Nodes(tuple(states))


def group_hints(group: NodeGroup) -> GroupHints:
    """The hints a node group's answer gives (nks/compute.py `GroupHints`)."""
    return GroupHints(frozenset(group.node_ids or ()), group.flavor_id, group.image_id)
