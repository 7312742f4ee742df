"""NKSClient: one typed async method per NKS API operation.

The client adds what every call needs - the identity token (cached, renewed, one
re-authentication on 401), the `OpenStack-API-Version` header, safe retries, error
mapping, metrics and masked logging - so each method is only its path and payloads.
Method names equal the `Operation` names used by the simulator and metrics.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import SecretStr, ValidationError

from nks_operator.nks.allowlist import EndpointPolicy
from nks_operator.nks.auth import CacheKey, Credentials, TokenCache
from nks_operator.nks.endpoints import Endpoints, resolve_endpoints
from nks_operator.nks.errors import InvalidResponseError, NotFoundError
from nks_operator.nks.listing import Listing, UnreadableEntry
from nks_operator.nks.metrics import MetricsHook
from nks_operator.nks.models import (
    IPACL,
    ActionResponse,
    AutoscalerConfig,
    AutoscalerUpdate,
    CertificateRenewal,
    Cluster,
    ClusterCreateRequest,
    CNIUpdateRequest,
    FlavorChangeRequest,
    IPACLAction,
    IPACLTarget,
    IPACLUpdate,
    NKSModel,
    NodeGroup,
    NodeGroupCreateRequest,
    NodeListRequest,
    ResizeRequest,
    ServiceGatewayUpdate,
    Supports,
    TaskEvent,
    UpgradeRequest,
    UserScriptUpdate,
)
from nks_operator.nks.models.base import describe_validation_error
from nks_operator.nks.operations import API_VERSION_HEADER, Operation
from nks_operator.nks.retry import RetryPolicy
from nks_operator.nks.session import Session, client_policy
from nks_operator.nks.transport import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_MAX_ANSWER_BYTES,
    Transport,
    decode_json,
)
from nks_operator.nks.userscript import encode_user_script

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=NKSModel)

# Statuses that mean success, per kind of call (NKS-only actions answer 200 or 202).
_READ_OK = (200,)
_WRITE_OK = (200, 201, 202)
_DELETE_OK = (200, 202, 204)

# A guard against a server whose `next` link never ends.
MAX_PAGES = 1000


class DeleteResult(enum.Enum):
    """What a delete call achieved: NKS accepted it, or the resource was already gone."""

    ACCEPTED = "accepted"
    ALREADY_GONE = "already_gone"


class NKSClient:
    """An NKS API client for one set of credentials and one region.

    Build one per (credentials, region) and share one `TokenCache` (and optionally one
    `httpx.AsyncClient`) across all clients of the process. Use as an async context
    manager, or call `aclose()`; a shared httpx client is left open.

    Requests go only where `policy` allows (EndpointNotAllowedError, nothing sent); with
    an explicit policy the NKS and identity URLs are checked here, at construction. None:
    NHN Cloud's public hosts plus the URLs passed here. An answer beyond
    `max_answer_bytes` is refused, and each attempt ends after `call_timeout` seconds.
    """

    def __init__(
        self,
        credentials: Credentials,
        region: str | None = None,
        *,
        nks_url: str | None = None,
        identity_url: str | None = None,
        token_cache: TokenCache | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        metrics: MetricsHook | None = None,
        policy: EndpointPolicy | None = None,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        self.endpoints: Endpoints = resolve_endpoints(
            region, nks_url=nks_url, identity_url=identity_url
        )
        self.region = region.strip().lower() if region else None
        self.session = Session(
            credentials,
            self.endpoints.identity,
            token_cache=token_cache,
            http=http,
            timeout=timeout,
            retry=retry,
            metrics=metrics,
            policy=client_policy(policy, self.endpoints.nks, self.endpoints.identity),
            max_answer_bytes=max_answer_bytes,
            call_timeout=call_timeout,
        )

    @property
    def retry(self) -> RetryPolicy:
        return self.session.retry

    @property
    def token_cache(self) -> TokenCache:
        return self.session.token_cache

    @property
    def _cache_key(self) -> CacheKey:
        return self.session.cache_key

    @property
    def _transport(self) -> Transport:
        return self.session.transport

    def __repr__(self) -> str:
        credentials = self.session.credentials
        return (
            f"NKSClient(nks={self.endpoints.nks!r}, tenant={credentials.tenant_id!r}, "
            f"user={credentials.username!r})"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.session.aclose()

    # -- authentication -----------------------------------------------------------------

    async def authenticate(self) -> None:
        """Obtain (or reuse) a token now: checks credentials without touching NKS.

        Raises AuthenticationError for wrong credentials.
        """
        await self.session.token()

    # -- plumbing -----------------------------------------------------------------------

    def _url(self, operation: Operation, path: Mapping[str, str]) -> str:
        quoted = {name: quote(str(value), safe="") for name, value in path.items()}
        return self.endpoints.nks + operation.route.path.format(**quoted)

    async def _call(
        self,
        operation: Operation,
        *,
        path: Mapping[str, str] | None = None,
        body: NKSModel | None = None,
        params: Mapping[str, str] | None = None,
        expected: Sequence[int] = _READ_OK,
    ) -> httpx.Response:
        return await self.session.send(
            operation,
            self._url(operation, path or {}),
            headers=API_VERSION_HEADER,
            body=body,
            params=params,
            expected=expected,
        )

    async def _call_json(self, operation: Operation, **kwargs: Any) -> Any:
        response = await self._call(operation, **kwargs)
        return decode_json(response, operation)

    async def _call_model(self, model: type[M], operation: Operation, **kwargs: Any) -> M:
        response = await self._call(operation, **kwargs)
        data = decode_json(response, operation)
        if data is None and kwargs.get("body") is not None:
            data = {}  # a write may be answered with an empty body
        if not isinstance(data, dict):
            # `null`, `[]` or a bare string would otherwise read as an object of defaults.
            raise InvalidResponseError(
                f"expected a JSON object, got {'nothing' if data is None else type(data).__name__}",
                operation=operation,
                status_code=response.status_code,
            )
        return _parse(model, data, operation)

    async def _list(
        self,
        model: type[M],
        operation: Operation,
        key: str,
        *,
        path: Mapping[str, str] | None = None,
        page_size: int | None = None,
    ) -> Listing[M]:
        """All items of a list call, following `next` links (limit/marker) transparently.

        An entry that cannot be parsed goes to the listing's `unreadable` (named by its
        uuid and name when they can be read) and never hides the others; an answer that
        is not a list at all raises InvalidResponseError.
        """
        params: dict[str, str] = {"limit": str(page_size)} if page_size else {}
        seen_pages: set[tuple[tuple[str, str], ...]] = set()
        items: dict[str, M] = {}
        unreadable: dict[str, UnreadableEntry] = {}
        for _ in range(MAX_PAGES):
            data = await self._call_json(operation, path=path, params=params or None)
            if not isinstance(data, dict) or not isinstance(data.get(key), list):
                raise InvalidResponseError(
                    f"expected a JSON object with a {key!r} list", operation=operation
                )
            page = data[key]
            for raw in page:
                try:
                    item = _parse(model, raw, operation)
                except InvalidResponseError as exc:
                    entry = UnreadableEntry.of(raw, exc.message)
                    unreadable[entry.uuid or f"#{len(unreadable)}"] = entry
                    logger.warning("NKS %s: unreadable entry %s", operation, entry.describe())
                    continue
                # Keyed by uuid: an item shifting across a page boundary is kept once.
                items[getattr(item, "uuid", None) or str(len(items))] = item
            params = _next_page_params(data.get("next"))
            fingerprint = tuple(sorted(params.items()))
            if not page or not params or fingerprint in seen_pages:
                break
            seen_pages.add(fingerprint)
        else:
            logger.warning("NKS %s: stopped after %d pages", operation, MAX_PAGES)
        for uuid in items:
            unreadable.pop(uuid, None)  # read on another page after all
        return Listing(items.values(), unreadable.values())

    async def _delete(self, operation: Operation, path: Mapping[str, str]) -> DeleteResult:
        try:
            await self._call(operation, path=path, expected=_DELETE_OK)
        except NotFoundError:
            return DeleteResult.ALREADY_GONE
        return DeleteResult.ACCEPTED

    async def _action(
        self, operation: Operation, path: Mapping[str, str], body: NKSModel
    ) -> ActionResponse:
        return await self._call_model(
            ActionResponse, operation, path=path, body=body, expected=_WRITE_OK
        )

    # -- clusters -----------------------------------------------------------------------

    async def list_clusters(self, *, page_size: int | None = None) -> Listing[Cluster]:
        """Every cluster of the project, all pages (`page_size` sets `limit` per page).

        Clusters NKS describes unreadably are in the result's `unreadable`."""
        return await self._list(Cluster, Operation.LIST_CLUSTERS, "clusters", page_size=page_size)

    async def find_clusters(self, name: str) -> Listing[Cluster]:
        """Clusters named `name` (names are not unique at NKS): recovery after a restart.

        Unreadable entries with that name - or whose name could not be read - are kept in
        `unreadable`: the cluster may exist."""
        listing = await self.list_clusters()
        return Listing(
            (cluster for cluster in listing if cluster.name == name),
            (entry for entry in listing.unreadable if entry.name in (name, None)),
        )

    async def get_cluster(self, cluster: str) -> Cluster:
        """One cluster by UUID (or name); NotFoundError once it is gone."""
        return await self._call_model(Cluster, Operation.GET_CLUSTER, path={"cluster": cluster})

    async def create_cluster(self, request: ClusterCreateRequest) -> str:
        """Start creating a cluster (~10 min); returns its UUID.

        Never retried on 5xx/timeout: the cluster may exist anyway - look it up by name.
        """
        operation = Operation.CREATE_CLUSTER
        response = await self._call_model(
            ActionResponse, operation, body=request, expected=_WRITE_OK
        )
        if not response.uuid:
            raise InvalidResponseError("create answer has no cluster uuid", operation=operation)
        return response.uuid

    async def delete_cluster(self, cluster: str) -> DeleteResult:
        """Start deleting a cluster; ALREADY_GONE when NKS answers 404."""
        return await self._delete(Operation.DELETE_CLUSTER, {"cluster": cluster})

    async def resize_cluster(
        self,
        cluster: str,
        *,
        nodegroup: str,
        node_count: int,
        nodes_to_remove: Sequence[str] | None = None,
    ) -> ActionResponse:
        """Set a worker group's node count; without `nodes_to_remove` a scale-in removes
        random nodes. Refused while the group's autoscaler is on."""
        body = ResizeRequest(
            nodegroup=nodegroup,
            node_count=node_count,
            nodes_to_remove=list(nodes_to_remove) if nodes_to_remove is not None else None,
        )
        return await self._action(Operation.RESIZE_CLUSTER, {"cluster": cluster}, body)

    async def get_kubeconfig(self, cluster: str) -> SecretStr:
        """The cluster's admin kubeconfig (YAML), as a SecretStr so it cannot be logged
        by accident. It changes after a certificate renewal."""
        operation = Operation.GET_KUBECONFIG
        data = await self._call_json(operation, path={"cluster": cluster})
        config = data.get("config") if isinstance(data, dict) else None
        if not isinstance(config, str) or not config:
            raise InvalidResponseError("answer has no 'config' text", operation=operation)
        return SecretStr(config)

    async def update_cni(
        self,
        cluster: str,
        *,
        pod_cidr: str,
        cni: str = "calico",
        pod_subnet: int | None = None,
        num_buffer_nodes: int | None = None,
        num_max_unavailable_nodes: int | None = None,
    ) -> ActionResponse:
        """Change the CNI (Flannel -> Calico); rolls the nodes."""
        body = CNIUpdateRequest(
            cni=cni,
            pod_cidr=pod_cidr,
            pod_subnet=pod_subnet,
            num_buffer_nodes=num_buffer_nodes,
            num_max_unavailable_nodes=num_max_unavailable_nodes,
        )
        return await self._action(Operation.UPDATE_CNI, {"cluster": cluster}, body)

    async def set_ip_acl(
        self,
        cluster: str,
        *,
        enable: bool,
        action: IPACLAction | None = None,
        targets: Sequence[IPACLTarget | str] | None = None,
    ) -> ActionResponse:
        """Enforce (ALLOW/DENY `targets`) or disable IP access control on the API endpoint.

        A target is an IPACLTarget or a bare CIDR/address string.
        """
        body = IPACLUpdate(
            enable=enable,
            action=action,
            ipacl_targets=(
                [
                    t
                    if isinstance(t, IPACLTarget)
                    else IPACLTarget(cidr_address=t, description=None)
                    for t in targets
                ]
                if targets is not None
                else None
            ),
        )
        return await self._action(Operation.SET_IP_ACL, {"cluster": cluster}, body)

    async def get_ip_acl(self, cluster: str) -> IPACL:
        return await self._call_model(IPACL, Operation.GET_IP_ACL, path={"cluster": cluster})

    async def renew_certificate(self, cluster: str, *, term_of_validity: int) -> ActionResponse:
        """Renew the cluster certificates for 1..5 years; fetch the kubeconfig again after."""
        body = CertificateRenewal(term_of_validity=term_of_validity)
        return await self._action(Operation.RENEW_CERTIFICATE, {"cluster": cluster}, body)

    async def update_service_gateway(
        self, cluster: str, *, ncr_sgw: str, obs_sgw: str
    ) -> ActionResponse:
        """Set the NCR and OBS service gateways. The guide requires both: pass the current
        value of the one not changed (the cluster's `ncr_sgw` / `obs_sgw` label).

        No task is recorded for it: confirm by reading the labels back."""
        body = ServiceGatewayUpdate(ncr_sgw=ncr_sgw, obs_sgw=obs_sgw)
        return await self._action(Operation.UPDATE_SERVICE_GATEWAY, {"cluster": cluster}, body)

    async def list_events(self, cluster: str) -> Listing[TaskEvent]:
        """The cluster's task history: proof that an operation started, and its outcome."""
        return await self._list(
            TaskEvent, Operation.LIST_EVENTS, "events", path={"cluster": cluster}
        )

    async def get_event(self, cluster: str, event: str) -> TaskEvent:
        return await self._call_model(
            TaskEvent, Operation.GET_EVENT, path={"cluster": cluster, "event": event}
        )

    # -- node groups --------------------------------------------------------------------

    async def list_nodegroups(self, cluster: str) -> Listing[NodeGroup]:
        """Every node group, `default-master` (the control plane) included."""
        return await self._list(
            NodeGroup, Operation.LIST_NODEGROUPS, "nodegroups", path={"cluster": cluster}
        )

    async def get_nodegroup(self, cluster: str, nodegroup: str) -> NodeGroup:
        """One node group by UUID or name (`default-master` answers 403)."""
        return await self._call_model(
            NodeGroup,
            Operation.GET_NODEGROUP,
            path={"cluster": cluster, "nodegroup": nodegroup},
        )

    async def create_nodegroup(self, cluster: str, request: NodeGroupCreateRequest) -> NodeGroup:
        """Start creating a node group (~5 min); returns it as NKS first describes it.

        Never retried on 5xx/timeout: look the group up by name before trying again.
        """
        operation = Operation.CREATE_NODEGROUP
        group = await self._call_model(
            NodeGroup, operation, path={"cluster": cluster}, body=request, expected=_WRITE_OK
        )
        return group

    async def delete_nodegroup(self, cluster: str, nodegroup: str) -> DeleteResult:
        """Start deleting a node group; ALREADY_GONE on 404 (`default-worker` is refused)."""
        return await self._delete(
            Operation.DELETE_NODEGROUP, {"cluster": cluster, "nodegroup": nodegroup}
        )

    async def stop_nodes(
        self, cluster: str, nodegroup: str, node_ids: Sequence[str]
    ) -> ActionResponse:
        """Stop the given node instances (not all nodes of a group)."""
        body = NodeListRequest(node_list=list(node_ids))
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.STOP_NODES, path, body)

    async def start_nodes(
        self, cluster: str, nodegroup: str, node_ids: Sequence[str]
    ) -> ActionResponse:
        body = NodeListRequest(node_list=list(node_ids))
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.START_NODES, path, body)

    async def get_autoscaler(self, cluster: str, nodegroup: str) -> AutoscalerConfig:
        return await self._call_model(
            AutoscalerConfig,
            Operation.GET_AUTOSCALER,
            path={"cluster": cluster, "nodegroup": nodegroup},
        )

    async def set_autoscaler(
        self, cluster: str, nodegroup: str, config: AutoscalerUpdate
    ) -> ActionResponse:
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.SET_AUTOSCALER, path, config)

    async def upgrade_nodegroup(
        self,
        cluster: str,
        nodegroup: str,
        *,
        version: str,
        num_buffer_nodes: int | None = None,
        num_max_unavailable_nodes: int | None = None,
    ) -> ActionResponse:
        """Upgrade one group by one minor version; `default-master` (the control plane)
        goes first."""
        body = UpgradeRequest(
            version=version,
            num_buffer_nodes=num_buffer_nodes,
            num_max_unavailable_nodes=num_max_unavailable_nodes,
        )
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.UPGRADE_NODEGROUP, path, body)

    async def update_user_script(self, cluster: str, nodegroup: str, script: str) -> ActionResponse:
        """Replace the group's user script; `script` is the plain text, sent encoded as
        `user_script_v2` is (see `nks.userscript`)."""
        body = UserScriptUpdate(contents=encode_user_script(script))
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.UPDATE_USER_SCRIPT, path, body)

    async def change_flavor(
        self,
        cluster: str,
        nodegroup: str,
        *,
        flavor_id: str,
        num_buffer_nodes: int | None = None,
        num_max_unavailable_nodes: int | None = None,
    ) -> ActionResponse:
        """Change the group's instance flavor; rolls the nodes."""
        body = FlavorChangeRequest(
            flavor_id=flavor_id,
            num_buffer_nodes=num_buffer_nodes,
            num_max_unavailable_nodes=num_max_unavailable_nodes,
        )
        path = {"cluster": cluster, "nodegroup": nodegroup}
        return await self._action(Operation.CHANGE_FLAVOR, path, body)

    # -- other --------------------------------------------------------------------------

    async def get_supports(self) -> Supports:
        """Supported Kubernetes versions (`true` = usable for new clusters) and task types."""
        supports = await self._call_model(Supports, Operation.GET_SUPPORTS)
        if not supports.supported_k8s:
            # Never a real answer: taken at face value it would refuse every version.
            raise InvalidResponseError(
                "the answer lists no Kubernetes versions", operation=Operation.GET_SUPPORTS
            )
        return supports


def _parse(model: type[M], data: Any, operation: Operation) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidResponseError(
            f"unexpected {model.__name__} answer: {describe_validation_error(exc)}",
            operation=operation,
        ) from None


def _next_page_params(next_link: Any) -> dict[str, str]:
    """Query parameters of a `next` link, reused against our own base URL (the link's
    host may be an internal name, or differ from an overridden endpoint)."""
    if not isinstance(next_link, str) or not next_link.strip():
        return {}
    try:
        url = httpx.URL(next_link.strip())
    except httpx.InvalidURL:
        return {}
    return dict(url.params)
