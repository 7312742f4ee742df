"""Node power states for the importer: the project's compute servers read once, joined
to each node group as the operator joins them (reconcile/nodes.py)."""

from __future__ import annotations

from dataclasses import dataclass

from nks_operator.nks import NKSClient, errors
from nks_operator.nks.compute import ComputeClient, Server
from nks_operator.nks.listing import Listing
from nks_operator.nks.models import NodeGroup
from nks_operator.reconcile.nodes import Nodes, group_hints, join_nodes

# Nodes is re-exported: the importer takes a group's nodes from here.
__all__ = ["Nodes", "Servers", "node_states", "read_servers"]


@dataclass(frozen=True)
class Servers:
    """`GET servers/detail` of the project, or why it could not be read."""

    listing: Listing[Server] | None
    problem: str | None = None


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
    """The nodes of `group` with their power states."""
    return join_nodes(
        group.node_addresses,
        group.node_count,
        servers.listing,
        servers.problem,
        group_hints(group),
    )
