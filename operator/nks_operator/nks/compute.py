"""The compute (Nova-compatible) API, as far as NKS node instances need it.

The guide's `stop_node` / `start_node` want node *instance* UUIDs, which no NKS answer
lists: they are compute server ids. A node group answer has `node_addresses`; the
compute API lists the project's servers with their addresses and power state, so a
server joins a group by address (`match_servers`). The compute endpoint comes from the
identity token's service catalog (`type: compute`, region as the catalog writes it,
e.g. "KR1"), or from an override (private clouds, the simulator). Evidence and the
design: docs/nks-api-notes.md, "Node instances".

    async with NKSClient(credentials, "kr1", token_cache=cache) as nks:
        compute = ComputeClient.sharing(nks)
        group = await nks.get_nodegroup(cluster_id, "default-worker")
        servers = await compute.list_servers(name=f"^{cluster_name}-")
        nodes = match_servers(group.node_addresses or [], servers)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import httpx
from pydantic import Field, ValidationError

from nks_operator.nks.allowlist import EndpointPolicy
from nks_operator.nks.auth import Credentials, TokenCache
from nks_operator.nks.client import MAX_PAGES, NKSClient
from nks_operator.nks.endpoints import DEFAULT_IDENTITY_URL, normalize_base_url
from nks_operator.nks.errors import ConfigurationError, InvalidResponseError
from nks_operator.nks.listing import Listing, UnreadableEntry
from nks_operator.nks.metrics import MetricsHook
from nks_operator.nks.models.base import (
    NKSAnswer,
    NKSModel,
    OptLooseInt,
    OptTimestamp,
    describe_validation_error,
)
from nks_operator.nks.operations import SERVERS_DETAIL_PATH, Operation
from nks_operator.nks.retry import RetryPolicy
from nks_operator.nks.session import Session, client_policy
from nks_operator.nks.transport import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_MAX_ANSWER_BYTES,
    HTTP,
    check_endpoint,
    decode_json,
)

COMPUTE_SERVICE_TYPE = "compute"
# Servers per page asked for: NHN's documented default page size.
PAGE_SIZE = 100
ACTIVE = "ACTIVE"
SHUTOFF = "SHUTOFF"
POWER_ON, POWER_OFF = 1, 4  # `OS-EXT-STS:power_state` as NHN documents it


class ServerAddress(NKSModel):
    """One port address of a server (`addresses.<network name>[]`)."""

    addr: str
    version: OptLooseInt = None
    type: str | None = Field(default=None, alias="OS-EXT-IPS:type")  # fixed | floating
    mac_addr: str | None = Field(default=None, alias="OS-EXT-IPS-MAC:mac_addr")


class Server(NKSAnswer):
    """A server of `GET /v2/{tenant}/servers/detail`: for NKS, one node instance."""

    id: str
    name: str | None = None
    status: str | None = None  # ACTIVE, SHUTOFF, BUILD, ERROR, ...
    addresses: dict[str, list[ServerAddress]] | None = None
    metadata: dict[str, str] | None = None
    power_state: OptLooseInt = Field(default=None, alias="OS-EXT-STS:power_state")
    vm_state: str | None = Field(default=None, alias="OS-EXT-STS:vm_state")
    task_state: str | None = Field(default=None, alias="OS-EXT-STS:task_state")
    availability_zone: str | None = Field(default=None, alias="OS-EXT-AZ:availability_zone")
    flavor: Any = None  # {"id": ...}
    image: Any = None  # {"id": ...}, or "" for a server booted from a volume
    key_name: str | None = None
    tenant_id: str | None = None
    created: OptTimestamp = None
    updated: OptTimestamp = None

    @property
    def ip_addresses(self) -> list[str]:
        """Every address of the server, fixed ones first."""
        entries = [a for group in (self.addresses or {}).values() for a in group]
        entries.sort(key=lambda a: a.type != "fixed")
        return list(dict.fromkeys(a.addr for a in entries))

    @property
    def stopped(self) -> bool | None:
        """True: stopped (SHUTOFF); False: running (ACTIVE); None: anything else - in
        between (BUILD, REBOOT, a stop still running), failed, or a status NHN adds later.
        Without a status, the power state decides the same way."""
        if self.status is not None:
            return {ACTIVE: False, SHUTOFF: True}.get(self.status.upper())
        if self.power_state is None:
            return None
        return {POWER_ON: False, POWER_OFF: True}.get(self.power_state)

    @property
    def is_active(self) -> bool:
        return (self.status or "").upper() == ACTIVE

    @property
    def flavor_id(self) -> str | None:
        return _id_of(self.flavor)

    @property
    def image_id(self) -> str | None:
        return _id_of(self.image)


def _id_of(reference: Any) -> str | None:
    value = reference.get("id") if isinstance(reference, dict) else None
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class NodeServers:
    """Servers joined to a node group's `node_addresses`.

    `found`: address -> its server. `missing`: no server has the address (not created
    yet, or not visible). `ambiguous`: several servers have it (the same private address
    in two VPCs) - narrow the listing (e.g. by name) before matching.
    """

    found: Mapping[str, Server]
    missing: tuple[str, ...]
    ambiguous: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing and not self.ambiguous

    @property
    def problem(self) -> str | None:
        """Why the join is incomplete, in words (None when it is complete)."""
        parts = []
        if self.missing:
            parts.append(f"no server has address(es) {', '.join(self.missing)}")
        if self.ambiguous:
            parts.append(f"several servers have {', '.join(self.ambiguous)}")
        return "; ".join(parts) or None


@dataclass(frozen=True)
class GroupHints:
    """What tells one node group's servers from others' with the same private address (two
    clusters whose subnets share a CIDR): NKS's internal `node_list` label of the group (a
    hint: no guide lists it) first, then the group's flavor and image."""

    node_ids: frozenset[str] = frozenset()
    flavor_id: str | None = None
    image_id: str | None = None

    def pick(self, candidates: list[Server]) -> list[Server]:
        listed = [s for s in candidates if s.id in self.node_ids]
        if listed:
            return listed
        # A server that does not say (a volume-booted one has no image) is not excluded.
        return [
            s
            for s in candidates
            if (self.flavor_id is None or s.flavor_id in (None, self.flavor_id))
            and (self.image_id is None or s.image_id in (None, self.image_id))
        ]


def match_servers(
    addresses: Iterable[str], servers: Iterable[Server], hints: GroupHints | None = None
) -> NodeServers:
    """Join node addresses to servers by any address of theirs (a pure function); an
    address several servers have is narrowed by `hints`, and stays ambiguous unless exactly
    one is left."""
    owners: dict[str, list[Server]] = {}
    for server in servers:
        for address in server.ip_addresses:
            owners.setdefault(address, []).append(server)
    found: dict[str, Server] = {}
    missing: list[str] = []
    ambiguous: list[str] = []
    for address in dict.fromkeys(addresses):
        candidates = {s.id: s for s in owners.get(address, [])}
        if len(candidates) > 1 and hints is not None:
            candidates = {s.id: s for s in hints.pick(list(candidates.values()))} or candidates
        if not candidates:
            missing.append(address)
        elif len(candidates) > 1:
            ambiguous.append(address)
        else:
            found[address] = next(iter(candidates.values()))
    return NodeServers(found, tuple(missing), tuple(ambiguous))


class ComputeClient:
    """Reads compute servers with the same credentials (and token) as an NKSClient.

    `region` selects the catalog endpoint (compared in any case: the catalog writes
    "KR1"); `compute_url` overrides it - a host (`/v2/{tenant}` is appended), or a full
    `.../v2/{tenant}` URL as the catalog gives it.

    Requests go only where the session's policy allows (see NKSClient): a catalog URL
    must match it; an explicit `compute_url` must too when the session is shared or the
    policy explicit (checked here), and is allowed along with `identity_url` when this
    client builds its own session with `policy` None.
    """

    def __init__(
        self,
        credentials: Credentials,
        region: str | None = None,
        *,
        compute_url: str | None = None,
        identity_url: str | None = None,
        token_cache: TokenCache | None = None,
        http: HTTP | None = None,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        metrics: MetricsHook | None = None,
        session: Session | None = None,
        policy: EndpointPolicy | None = None,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        self.region = region.strip() if region else None
        self._override = _compute_base(compute_url, credentials.tenant_id) if compute_url else None
        if self._override is None and not self.region:
            raise ConfigurationError("a compute client needs a region or a compute URL")
        if session is None:
            identity = normalize_base_url(
                identity_url or DEFAULT_IDENTITY_URL, strip_suffixes=("/v2.0/tokens", "/v2.0")
            )
            session = Session(
                credentials,
                identity,
                token_cache=token_cache,
                http=http,
                timeout=timeout,
                retry=retry,
                metrics=metrics,
                policy=client_policy(policy, identity, self._override),
                max_answer_bytes=max_answer_bytes,
                call_timeout=call_timeout,
            )
            self._owns_session = True
        else:
            if policy is not None:
                raise ValueError("a shared session brings its own endpoint policy")
            if self._override is not None:
                check_endpoint(session.policy, self._override)
            self._owns_session = False
        self.session = session

    @classmethod
    def sharing(cls, nks: NKSClient, *, compute_url: str | None = None) -> Self:
        """A compute client on `nks`'s session: same credentials, token and connections."""
        return cls(
            nks.session.credentials, nks.region, compute_url=compute_url, session=nks.session
        )

    def __repr__(self) -> str:
        return f"ComputeClient(region={self.region!r}, url={self._override!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session if this client built it (a shared one stays open)."""
        if self._owns_session:
            await self.session.aclose()

    async def endpoint(self) -> str:
        """The compute base URL (`.../v2/{tenant}`): the override, else the catalog's."""
        if self._override is not None:
            return self._override
        assert self.region is not None
        token = await self.session.token()
        url = token.endpoint(COMPUTE_SERVICE_TYPE, self.region)
        if url is None:
            listed = sorted({e.region for e in token.catalog if e.type == COMPUTE_SERVICE_TYPE})
            raise ConfigurationError(
                f"the identity service lists no compute endpoint for region {self.region!r} "
                f"(listed: {', '.join(listed) or 'none'}); set a compute URL"
            )
        return normalize_base_url(url)

    async def list_servers(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        image: str | None = None,
        flavor: str | None = None,
        changes_since: str | None = None,
        page_size: int | None = None,
    ) -> Listing[Server]:
        """The project's servers with details, all pages (`limit`/`marker`).

        Filters as NHN documents them: `name` (a regular expression), `status`, `image`,
        `flavor`, `changes_since` (ISO 8601). Unreadable entries go to `unreadable`.
        """
        operation = Operation.LIST_SERVERS
        url = await self.endpoint() + SERVERS_DETAIL_PATH
        size = page_size or PAGE_SIZE
        filters = {
            "name": name,
            "status": status,
            "image": image,
            "flavor": flavor,
            "changes-since": changes_since,
            "limit": str(size),
        }
        params = {k: v for k, v in filters.items() if v is not None}
        servers: dict[str, Server] = {}
        unreadable: list[UnreadableEntry] = []
        markers: set[str] = set()
        linked = False
        for _ in range(MAX_PAGES):
            response = await self.session.send(operation, url, params=params or None)
            data = decode_json(response, operation)
            page = data.get("servers") if isinstance(data, dict) else None
            if not isinstance(page, list):
                raise InvalidResponseError(
                    "expected a JSON object with a 'servers' list", operation=operation
                )
            for raw in page:
                try:
                    server = Server.model_validate(raw)
                except ValidationError as exc:
                    problem = describe_validation_error(exc)
                    unreadable.append(UnreadableEntry.of(raw, problem, id_key="id"))
                    continue
                servers[server.id] = server
            # NHN documents `limit` and `marker` but not Nova's `servers_links`: an endpoint
            # that never sent a link goes on from the last server of a full page.
            marker = _next_marker(data.get("servers_links"))
            linked = linked or marker is not None
            if marker is None and not linked and len(page) >= size:
                marker = _last_id(page)
            if not page or marker is None or marker in markers:
                break
            markers.add(marker)
            params = {**params, "marker": marker}
        return Listing(servers.values(), unreadable)


def _last_id(page: Sequence[Any]) -> str | None:
    last = page[-1]
    value = last.get("id") if isinstance(last, dict) else None
    return value if isinstance(value, str) and value else None


def _next_marker(links: Any) -> str | None:
    """The `marker` of a Nova `servers_links` `rel: next` link, if any."""
    for link in links if isinstance(links, Sequence) and not isinstance(links, str) else ():
        if isinstance(link, dict) and link.get("rel") == "next":
            try:
                marker = httpx.URL(str(link.get("href", ""))).params.get("marker")
            except httpx.InvalidURL:
                return None
            return marker or None
    return None


def _compute_base(url: str, tenant_id: str) -> str:
    """A compute override as a `.../v2/{tenant}` base URL."""
    base = normalize_base_url(url)
    path = httpx.URL(base).path.rstrip("/")
    if not path:
        return f"{base}/v2/{tenant_id}"
    if path.endswith("/v2"):
        return f"{base}/{tenant_id}"
    return base
