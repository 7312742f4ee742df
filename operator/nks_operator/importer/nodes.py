"""Node power states: the project's compute servers joined to a node group's
`node_addresses`, as the operator joins them (control/nodegroup.py,
`NodeGroupAdapter.prepare`; docs/nks-api-notes.md, "Node instances"). What cannot be
known is said, never guessed."""

from __future__ import annotations

from dataclasses import dataclass

from nks_operator.nks import NKSClient, errors
from nks_operator.nks.compute import ComputeClient, Server, match_servers
from nks_operator.nks.listing import Listing
from nks_operator.nks.models import NodeGroup
from nks_operator.reconcile.day2 import NodeState


@dataclass(frozen=True)
class Servers:
    """`GET servers/detail` of the project, or why it could not be read."""

    listing: Listing[Server] | None
    problem: str | None = None


@dataclass(frozen=True)
class Nodes:
    """A group's nodes with their power states; `states` None: unknown, `problem` says why."""

    states: tuple[NodeState, ...] | None
    problem: str | None = None

    @property
    def stopped(self) -> list[str]:
        return sorted(node.id for node in self.states or () if node.stopped)


async def read_servers(nks: NKSClient) -> Servers:
    """The servers, on `nks`'s session (the catalog names the compute endpoint); a failure
    is a problem to report, not the end of the import."""
    try:
        return Servers(await ComputeClient.sharing(nks).list_servers())
    except errors.ConfigurationError as error:
        return Servers(None, str(error))
    except errors.NKSError as error:
        return Servers(None, f"compute API call failed: {error}")


def node_states(group: NodeGroup, servers: Servers) -> Nodes:
    """The nodes of `group` with their power states (SHUTOFF: stopped)."""
    addresses = group.node_addresses
    if addresses is None:
        if group.node_count == 0:
            return Nodes(())
        return Nodes(None, "NKS's node_addresses of the group could not be read")
    if not addresses:
        return Nodes(())
    if servers.listing is None:
        return Nodes(None, servers.problem)
    joined = match_servers(addresses, servers.listing)
    if joined.problem is not None:
        parts = [joined.problem]
        if servers.listing.unreadable:
            parts.append(
                f"the compute API answered {len(servers.listing.unreadable)} server(s) unreadably"
            )
        return Nodes(None, "; ".join(parts))
    return Nodes(
        tuple(
            NodeState(server.id, server.name or server.id, address, server.is_shutoff)
            for address, server in joined.found.items()
        )
    )
